// Shared by the query-diffusion tests: a tiny codec fitted on a few scenes and task batches.
import { fitCodecOnScenes } from '../../../lib/adapters/codecs';
import type { ImageCodec } from '../../../lib/adapters/codecs/types';
import { definition } from '../../../lib/adapters/query-diffusion';
import type { QueryDiffusionAdapter } from '../../../lib/adapters/query-diffusion';
import type { QueryDiffusionConfig } from '../../../lib/adapters/query-diffusion';
import { sceneSource, sceneTokenizer, TaskBatcher, toTensors, type TaskBatch, type TaskKind } from '../../../lib/data';
import type { Split } from '../../../lib/data/scenes';
import { torch } from '../../../lib/torch';

// One intra-op thread: on the shared 2-core machine two OpenMP threads contending with other
// jobs make small ops far slower than one.
torch.setNumThreads(1);

export type Overrides = { [K in keyof QueryDiffusionConfig]?: Partial<QueryDiffusionConfig[K]> | QueryDiffusionConfig[K] };

export function fitTinyCodec(count = 16, tasks?: ('reconstruction' | 'depth' | 'segmentation')[]): Promise<ImageCodec> {
  return fitCodecOnScenes({ kind: 'continuous', count, imageSize: 64, patchSize: 8, latentDim: 16, tasks });
}

export function tinyAdapter(codec: ImageCodec, overrides: Overrides = {}, seed = 0): QueryDiffusionAdapter {
  return definition.create(definition.resolveConfig('tiny', overrides as Partial<QueryDiffusionConfig>), { codec, seed }) as QueryDiffusionAdapter;
}

/** Batch `index` of scenes: one task (interleave) or all four (mixed), rows in record order. */
export async function sceneBatch(a: QueryDiffusionAdapter, o: { task?: TaskKind; count?: number; split?: Split; index?: number; batchSize?: number; maxTurns?: number }): Promise<TaskBatch> {
  const b = new TaskBatcher(sceneSource({ split: o.split ?? 'train', count: o.count ?? 8, size: 64 }), sceneTokenizer(), {
    batchSize: o.batchSize ?? 8, mode: o.task ? 'interleave' : 'mixed', ratios: o.task ? { [o.task]: 1 } : undefined, shuffle: false, maxTurns: o.maxTurns, ...a.batchFormat,
  });
  return toTensors(await b.hostBatch(o.index ?? 0));
}
