// mar-diffusion: a batch of 8 of each task is overfitted with AdamW (loss falls by >= 90%), and
// after overfitting understanding, answer() reproduces the trained answers.
//
// The diffusion objective draws a mask per image, a timestep and noise per token draw. An
// overfitting check needs a fixed objective, so every step re-seeds the generator: the batch
// and all its draws are the same each step, and the loss is measured on those draws before and
// after. The generation tasks use the tiny preset on a 4 × 4 latent grid (patchSize 16,
// latentDim 8) so that ~100 steps fit the CI budget; measured with fresh draws every step, the
// 8 × 8 × 16 tiny preset goes from 1.00 to 0.14 in 300 steps on reconstruction (lr 2e-3): the
// ε-loss at small timesteps only falls as the head memorises the targets very precisely.
import { definition, type MarDiffusionConfig } from '../../../lib/adapters/mar-diffusion';
import { adapterLoss } from '../../../lib/adapters/loss';
import type { Adapter } from '../../../lib/adapters/types';
import * as data from '../../../lib/data';
import { AdamW } from '../../../lib/optim/adamw';
import { weightDecayGroups } from '../../../lib/optim/groups';
import { WarmupCosine } from '../../../lib/optim/schedules';
import { torch } from '../../../lib/torch';
import { fitCodec, fixedLoss, oneQuestionSource, singleThread, taskBatch } from './helpers';

singleThread();

function overfit(ad: Adapter, batch: data.TaskBatch, steps: number, lr: number, seed = 1234): { before: number; after: number } {
  const before = fixedLoss(ad, batch, seed).loss;
  const opt = new AdamW(weightDecayGroups(ad.trainableParameters(), 0, (n) => ad.noDecay(n)), { lr, betas: [0.9, 0.95] });
  const sched = new WarmupCosine(opt, { warmupSteps: 0, totalSteps: steps });
  for (let i = 0; i < steps; i++) {
    torch.manualSeed(seed);
    torch.tidy(() => adapterLoss(ad.forward(batch)).loss.backward());
    opt.step();
    opt.zeroGrad();
    sched.step();
  }
  const after = fixedLoss(ad, batch, seed).loss;
  return { before, after };
}

const GRID4: Partial<MarDiffusionConfig> = { patchSize: 16, latentDim: 8 };

describe('mar-diffusion overfits a batch of 8 per task', () => {
  let codec: Awaited<ReturnType<typeof fitCodec>>;
  beforeAll(async () => { codec = await fitCodec({ imageSize: 64, ...GRID4 } as MarDiffusionConfig); });

  for (const [task, steps] of [['reconstruction', 100], ['depth', 100], ['segmentation', 130]] as const) {
    test(`${task}: the diffusion loss falls by >= 90%`, async () => {
      const ad = definition.create(definition.resolveConfig('tiny', GRID4), { codec });
      const batch = await taskBatch(ad, task);
      try {
        expect(Array.from(batch.rowTasks.toArray() as BigInt64Array, Number)).toEqual(new Array(8).fill(data.TASK_ID[task]));
        const { before, after } = overfit(ad, batch, steps, 5e-3);
        console.log(`mar-diffusion overfit ${task}: ${before.toFixed(4)} -> ${after.toFixed(4)} (ratio ${(after / before).toFixed(3)}, ${steps} steps)`);
        expect(before).toBeGreaterThan(0.5);
        expect(after).toBeLessThan(0.1 * before);
      } finally {
        data.disposeBatch(batch);
        ad.dispose(); // the codec was passed in: it stays alive for the next task
      }
    });
  }

  test('understanding: the answer loss falls by >= 90% and answer() reproduces the answers', async () => {
    const ad = definition.create(definition.resolveConfig('tiny'), { codec: await fitCodec(definition.presets.tiny, 8) });
    const source = oneQuestionSource(8, 64);
    const batch = await taskBatch(ad, 'understanding', { source });
    try {
      const { before, after } = overfit(ad, batch, 60, 5e-3);
      console.log(`mar-diffusion overfit understanding: ${before.toFixed(4)} -> ${after.toFixed(4)} (ratio ${(after / before).toFixed(4)})`);
      expect(after).toBeLessThan(0.1 * before);
      const answers = ad.answer(batch.conditionImages, source.qa.map((q) => q.question));
      expect(answers).toEqual(source.qa.map((q) => q.answer));
    } finally {
      data.disposeBatch(batch);
      ad.dispose();
      ad.codec.dispose();
    }
  });

  afterAll(() => codec.dispose());
});
