// The embedded scenes' generation targets as codec training data: the image, its depth map and
// its boundary map, exactly as the task batcher builds them; `fitCodecOnScenes` (what `unimrg
// tokenizer` calls) fits a codec on them.
import { ndarray } from '../../data/ndarray';
import { generationImage } from '../../data/preprocess';
import { MAX_SIZE, MIN_SIZE, generate } from '../../data/scenes/generate';
import type { Split } from '../../data/scenes/splits';
import { depthTarget } from '../../data/targets';
import * as creation from '../../torch/creation';
import { Tensor } from '../../torch/tensor';
import { checkPositiveInt } from './patches';
import type { CodecKind } from './types';
import { fitCodec, type FitOptions, type PatchCodecs } from './fit';

export const GENERATION_TASKS = ['reconstruction', 'depth', 'segmentation'] as const;
export type GenerationTask = (typeof GENERATION_TASKS)[number];

export interface SceneTargetOptions {
  /** Number of scenes. */
  count: number;
  imageSize: number;
  /** Default 'train'. */
  split?: Split;
  /** First scene's offset in the split. Default 0. */
  offset?: number;
  /** Which generation targets to draw (default all three: the image, its depth map, its boundary map). */
  tasks?: readonly GenerationTask[];
}

function checkTasks(tasks: readonly GenerationTask[]): void {
  if (!Array.isArray(tasks) || tasks.length === 0) throw new RangeError(`tasks must name at least one of ${GENERATION_TASKS.join(', ')}`);
  for (const t of tasks) if (!GENERATION_TASKS.includes(t)) throw new RangeError(`unknown generation task '${String(t)}' (expected ${GENERATION_TASKS.join(', ')})`);
}

/**
 * The generation targets of `count` embedded scenes as float32 [3, S, S] arrays in [-1, 1],
 * scene by scene, in the order of `tasks`: the image, the depth target (inverse depth, near
 * bright), the boundary map — exactly as the task batcher builds them (data.generationImage).
 */
export function* sceneTargets(o: SceneTargetOptions): Generator<{ task: GenerationTask; seed: number; data: Float32Array }> {
  const tasks = o.tasks ?? GENERATION_TASKS;
  checkTasks(tasks);
  checkPositiveInt('sceneTargets', 'imageSize', o.imageSize);
  const size = Math.min(MAX_SIZE, Math.max(MIN_SIZE, o.imageSize));
  const g = { size: o.imageSize };
  for (const item of generate({ count: o.count, split: o.split ?? 'train', seed: o.offset ?? 0, size, perCategory: 1, categories: [] })) {
    for (const task of tasks) {
      const img = task === 'reconstruction' ? generationImage(item.image, g)
        : task === 'depth' ? generationImage(depthTarget(item.depth), g)
          : generationImage(ndarray('uint8', [1, size, size], item.boundaries.data), g);
      yield { task, seed: item.seed, data: img.data };
    }
  }
}

/** sceneTargets in tensors [≤ batchSize, 3, S, S] (tasks mixed). */
export function* sceneTargetBatches(o: SceneTargetOptions & { batchSize?: number }): Generator<Tensor> {
  const b = o.batchSize ?? 32;
  checkPositiveInt('sceneTargetBatches', 'batchSize', b);
  const per = 3 * o.imageSize * o.imageSize;
  let buf: Float32Array[] = [];
  const flush = () => {
    const data = new Float32Array(buf.length * per);
    buf.forEach((a, i) => data.set(a, i * per));
    const t = creation.tensor(data, { shape: [buf.length, 3, o.imageSize, o.imageSize] });
    buf = [];
    return t;
  };
  for (const t of sceneTargets(o)) {
    buf.push(t.data);
    if (buf.length === b) yield flush();
  }
  if (buf.length > 0) yield flush();
}

export interface SceneFitOptions extends Omit<FitOptions, 'dataDescription'>, SceneTargetOptions {
  kind: CodecKind;
  /** Targets per batch while streaming (default 32). */
  batchSize?: number;
}

/**
 * Fits a codec on the embedded scenes' generation targets (images, depth maps and boundary maps
 * by default: the codec must represent all three). `unimrg tokenizer` calls this.
 */
export async function fitCodecOnScenes(o: SceneFitOptions): Promise<PatchCodecs> {
  const tasks = o.tasks ?? GENERATION_TASKS;
  checkTasks(tasks);
  checkPositiveInt('fitCodecOnScenes', 'count', o.count);
  const split = o.split ?? 'train';
  const offset = o.offset ?? 0;
  async function* stream(): AsyncGenerator<Tensor> {
    for (const t of sceneTargetBatches({ ...o, tasks })) {
      try { yield t; } finally { t.dispose(); }
      await new Promise((r) => setImmediate(r)); // let progress output and signals through
    }
  }
  return fitCodec(o.kind, stream(), {
    ...o,
    dataDescription: `scenes/${split} ${offset}..${offset + o.count - 1} at ${o.imageSize} px: ${tasks.join(', ')}`,
  });
}
