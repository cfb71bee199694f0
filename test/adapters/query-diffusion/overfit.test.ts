// Each of the four tasks: one batch of 8 scenes is overfitted with AdamW until its task loss
// falls by ≥ 90%, through the same adapterLoss the trainer uses. For the generation tasks the
// flow-matching noise draws and times are part of the batch (the global generator is reseeded
// before every step), so the regression target is fixed, as a batch's tokens are; the depth test
// (depth-spearman.test.ts) trains with fresh noise. After the understanding batch is learnt,
// answer() reproduces the trained answers.
import type { ImageCodec } from '../../../lib/adapters/codecs/types';
import { adapterLoss } from '../../../lib/adapters/loss';
import type { QueryDiffusionAdapter } from '../../../lib/adapters/query-diffusion';
import { disposeBatch, TASK_ID, type TaskBatch, type TaskKind } from '../../../lib/data';
import { AdamW } from '../../../lib/optim';
import { torch } from '../../../lib/torch';
import { fitTinyCodec, sceneBatch, tinyAdapter } from './helpers';

let codec: ImageCodec;
beforeAll(async () => { codec = await fitTinyCodec(); });

/** Task loss of the batch under a fixed seed (noise, times), without recording autograd. */
function taskLoss(a: QueryDiffusionAdapter, batch: TaskBatch, task: TaskKind): number {
  torch.manualSeed(1234);
  return torch.noGrad(() => torch.tidy(() => (adapterLoss(a.forward(batch)).taskLoss.toArray() as Float32Array)[TASK_ID[task]]));
}

async function overfit(task: TaskKind, steps: number, maxTurns?: number): Promise<{ a: QueryDiffusionAdapter; batch: TaskBatch; first: number; last: number }> {
  const a = tinyAdapter(codec, { flow: { conditionDropout: 0 } });
  const batch = await sceneBatch(a, { task, maxTurns });
  expect(batch.inputIds.shape[0]).toBe(8);
  const opt = new AdamW(a.trainableParameters().map(([, p]) => p), { lr: 3e-3, weightDecay: 0 });
  const first = taskLoss(a, batch, task);
  for (let i = 0; i < steps; i++) {
    torch.manualSeed(1234);
    torch.tidy(() => adapterLoss(a.forward(batch)).loss.backward());
    opt.step();
    opt.zeroGrad();
  }
  return { a, batch, first, last: taskLoss(a, batch, task) };
}

describe.each([['reconstruction', 80], ['depth', 80], ['segmentation', 80]] as const)('%s', (task, steps) => {
  test(`a batch of 8 is overfitted: the ${task} loss falls by ≥ 90%`, async () => {
    const { a, batch, first, last } = await overfit(task, steps);
    expect(batch.targetImages!.shape[0]).toBe(8);
    expect(first).toBeGreaterThan(0.5);
    expect(last / first).toBeLessThan(0.1);
    // eslint-disable-next-line no-console
    console.log(`query-diffusion overfit ${task}: ${first.toFixed(4)} → ${last.toFixed(4)} (ratio ${(last / first).toFixed(4)}) in ${steps} steps`);
    disposeBatch(batch);
    a.dispose();
  });
});

test('understanding: a batch of 8 is overfitted and answer() reproduces the trained answers', async () => {
  // One question per row (a seeded choice among the scene's), so each row's trained answer is
  // exactly what answer() is asked for; the question and answer are read back from the batch.
  const steps = 60;
  const { a, batch, first, last } = await overfit('understanding', steps, 1);
  expect(last / first).toBeLessThan(0.1);
  // eslint-disable-next-line no-console
  console.log(`query-diffusion overfit understanding: ${first.toFixed(4)} → ${last.toFixed(4)} (ratio ${(last / first).toFixed(4)}) in ${steps} steps`);
  const tok = a.tokenizer;
  const ids = batch.inputIds.toNested() as bigint[][];
  const labels = batch.labels.toNested() as bigint[][];
  const cond = batch.conditionMask.toNested() as boolean[][];
  const end = tok.tokenToId('<|im_end|>')!;
  const questions: string[] = [], trained: string[] = [];
  ids.forEach((row, b) => {
    const r = row.map(Number);
    const afterImage = cond[b].lastIndexOf(true) + 1;
    questions.push(tok.decode(r.slice(afterImage, r.indexOf(end, afterImage)), { skipSpecial: true }).trim());
    trained.push(tok.decode(labels[b].map(Number).filter((l) => l !== -100), { skipSpecial: true }).trim());
  });
  expect(questions.every((q) => q.endsWith('?'))).toBe(true);
  a.eval();
  expect(a.answer(batch.conditionImages, questions)).toEqual(trained);
  disposeBatch(batch);
  a.dispose();
});
