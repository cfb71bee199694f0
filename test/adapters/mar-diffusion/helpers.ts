// Shared by the mar-diffusion tests: a codec fitted on a few scenes, task batches of 8, a source
// with exactly one question per scene (so answers can be checked), a fixed-draw loss.
import { codecs } from '../../../lib/adapters';
import { adapterLoss } from '../../../lib/adapters/loss';
import type { Adapter } from '../../../lib/adapters/types';
import type { MarDiffusionConfig } from '../../../lib/adapters/mar-diffusion';
import * as data from '../../../lib/data';
import { torch } from '../../../lib/torch';

/**
 * The tiny models run one op at a time on small tensors: on the shared 2-core CI machine one
 * intra-op thread is several times faster than two (measured: 150 ms against 3–9 s per mixed
 * step with other jobs running), so these tests pin it.
 */
export function singleThread(): void {
  torch.setNumThreads(1);
}

export async function fitCodec(c: Pick<MarDiffusionConfig, 'imageSize' | 'patchSize' | 'latentDim'>, count = 16,
  tasks?: readonly ('reconstruction' | 'depth' | 'segmentation')[]): Promise<codecs.ImageCodec> {
  return codecs.fitCodecOnScenes({ kind: 'continuous', count, imageSize: c.imageSize, patchSize: c.patchSize, latentDim: c.latentDim, tasks });
}

/** Scenes with their first question only: the i-th record asks qa[0] of scene i. */
export function oneQuestionSource(count: number, size: number): data.RecordSource & { qa: { question: string; answer: string }[] } {
  const items = [...data.scenes.generate({ split: 'train', count, size, perCategory: 1 })];
  const qa = items.map((it) => ({ question: it.qa[0].question, answer: it.qa[0].answer }));
  return {
    length: count,
    qa,
    get(i: number) {
      const it = items[i];
      return { id: it.id, image: it.image, conversation: [{ user: `<image>\n${qa[i].question}`, assistant: qa[i].answer }] };
    },
  };
}

/** A batch of 8 rows of one task (or mixed) built by the data layer with the adapter's format. */
export async function taskBatch(ad: Adapter, task: data.TaskKind | 'mixed', o: { source?: data.RecordSource; index?: number; batchSize?: number } = {}): Promise<data.TaskBatch> {
  const size = ad.batchFormat.generationSize;
  const source = o.source ?? data.sceneSource({ count: 8, size, perCategory: 1 });
  const batcher = new data.TaskBatcher(source, ad.tokenizer, {
    batchSize: o.batchSize ?? 8, ...ad.batchFormat, seed: 1, shuffle: false, maxTurns: 1,
    mode: task === 'mixed' ? 'mixed' : 'interleave', ratios: task === 'mixed' ? undefined : { [task]: 1 },
  });
  return data.toTensors(await batcher.hostBatch(o.index ?? 0));
}

/** The loss of a batch under a fixed seed (the same mask, timesteps and noise every call), without grad. */
export function fixedLoss(ad: Adapter, batch: data.TaskBatch, seed = 1234): { loss: number; taskLoss: number[] } {
  const state = torch.getRngState();
  torch.manualSeed(seed);
  try {
    return torch.noGrad(() => torch.tidy(() => {
      const r = adapterLoss(ad.forward(batch));
      return { loss: Number(r.loss.item()), taskLoss: Array.from(r.taskLoss.toArray() as Float32Array) };
    }));
  } finally {
    torch.setRngState(state);
    state.dispose();
  }
}
