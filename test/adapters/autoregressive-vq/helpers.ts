// Shared by the autoregressive-vq tests: tiny adapters, batches of one task or all four, and a
// few AdamW steps.
import { data, torch, type Tensor } from '../../../lib';
import { adapterLoss } from '../../../lib/adapters/loss';
import { definition, resolveConfig, type AutoregressiveVQAdapter, type AutoregressiveVQConfig } from '../../../lib/adapters/autoregressive-vq';
import type { ImageCodec } from '../../../lib/adapters/codecs/types';
import { AdamW } from '../../../lib/optim/adamw';

// The 2-core machine is shared by several jobs; at this model size a second intra-op thread
// only adds contention (measured: ~0.1 s/step with 1 thread, seconds with 2 under load).
torch.setNumThreads(1);

export type Task = data.TaskKind | 'mixed';

export function tinyAdapter(overrides: Partial<AutoregressiveVQConfig> = {}, o: { seed?: number; codec?: ImageCodec } = {}): AutoregressiveVQAdapter {
  return definition.create(resolveConfig('tiny', overrides), { seed: o.seed ?? 0, codec: o.codec }) as AutoregressiveVQAdapter;
}

/** Scene records with only their first question (so every row's answer is known). */
export function oneQuestionSource(count: number, split: 'train' | 'val' = 'train', size = 64): data.RecordSource & { qa: { question: string; answer: string }[] } {
  const first = split === 'train' ? 0 : 1_000_000_000;
  const qa = Array.from({ length: count }, (_, i) => data.scenes.scene(first + i, { size }).qa[0]);
  return {
    length: count,
    qa: qa.map((q) => ({ question: q.question, answer: q.answer })),
    get(i: number, task?: data.TaskKind) {
      const r = data.recordFromScene(data.scenes.scene(first + i, { size }), {}, task);
      return { ...r, conversation: r.conversation!.slice(0, 1) };
    },
  };
}

/** Batch `index` of a task (or of all four tasks mixed), rows in record order. */
export async function batchOf(a: AutoregressiveVQAdapter, task: Task, o: { source?: data.RecordSource; batchSize?: number; index?: number } = {}): Promise<data.TaskBatch> {
  const source = o.source ?? oneQuestionSource(8);
  const ratios = task === 'mixed' ? undefined : { [task]: 1 };
  const batcher = new data.TaskBatcher(source, a.tokenizer, {
    batchSize: o.batchSize ?? 8, mode: task === 'mixed' ? 'mixed' : 'interleave', ratios, shuffle: false, ...a.batchFormat,
  });
  return data.toTensors(await batcher.hostBatch(o.index ?? 0));
}

/**
 * Trains on one batch for `steps` AdamW steps; returns the loss before every step and, last, the
 * loss of the trained model (so a spike caused by the final update is seen, not hidden).
 */
export function overfit(a: AutoregressiveVQAdapter, batch: data.TaskBatch, steps: number, lr = 1e-2): number[] {
  const opt = new AdamW(a.trainableParameters().map(([, p]) => p), { lr, betas: [0.9, 0.95], weightDecay: 0 });
  const losses: number[] = [];
  a.train();
  for (let i = 0; i < steps; i++) {
    losses.push(torch.tidy(() => {
      const r = adapterLoss(a.forward(batch));
      r.loss.backward();
      return Number(r.loss.item());
    }));
    opt.step();
    opt.zeroGrad();
  }
  losses.push(torch.tidy(() => Number(adapterLoss(a.forward(batch)).loss.item())));
  return losses;
}

/** One forward + backward: the loss and copies of the named parameters' gradients (then zeroed). */
export function lossAndGrads(a: AutoregressiveVQAdapter, batch: data.TaskBatch, names: Record<string, string>): { loss: number; grads: Record<string, Tensor> } {
  const out = torch.tidy(() => {
    const r = adapterLoss(a.forward(batch));
    r.loss.backward();
    const params = new Map(a.model.namedParameters());
    const grads: Record<string, Tensor> = {};
    for (const [k, n] of Object.entries(names)) grads[k] = params.get(n)!.grad!.clone();
    return { loss: Number(r.loss.item()), grads };
  });
  a.model.zeroGrad();
  return out;
}
