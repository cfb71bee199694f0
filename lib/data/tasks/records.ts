// A record is one training image with what the four tasks need: a conversation about it
// (understanding), and its depth and segmentation targets (generation). Sources give records
// by index; the embedded scenes and LLaVA-style folders are two sources.
import { ndarray, type ImageF32, type ImageU8, type NDArray } from '../ndarray';
import { type SceneItem, scene } from '../scenes/generate';
import { SPLITS, type Split } from '../scenes/splits';
import { type DepthTargetOptions, depthTarget } from '../targets';
import { IMAGE_TAG } from '../tokenizer/chat';
import type { TaskKind } from './kinds';

export interface Turn {
  user: string;
  assistant: string;
}

export interface DataRecord {
  id: string;
  /** uint8 [3, H, W] */
  image: ImageU8;
  /** Question → answer turns; the first user turn may hold IMAGE_TAG. */
  conversation?: Turn[];
  /** Depth target: uint8 [1|3, H, W] (0..255, near bright) or float32 in [-1, 1]. */
  depth?: NDArray<'uint8'> | ImageF32;
  /** Boundary map: uint8 [1|3, H, W] white on black, or float32 in [-1, 1]. */
  segmentation?: NDArray<'uint8'> | ImageF32;
}

/**
 * Records by index. get() gives null for a record that cannot be read (reported by the source).
 * `task` says what the record is wanted for: a source may leave out the targets that task does
 * not use (no depth decoding for an understanding sample); undefined asks for everything.
 */
export interface RecordSource {
  readonly length: number;
  get(i: number, task?: TaskKind): DataRecord | null | Promise<DataRecord | null>;
  /**
   * Takes the batcher's report of a record it passes over (a sample longer than
   * maxSequenceLength). A source without it makes that batch fail instead (see length.ts).
   */
  reportUnusable?(i: number, kind: 'too-long', message: string): void;
}

/** Whether a record wanted for `task` needs its depth / segmentation target. */
export const needsDepth = (task?: TaskKind) => task === undefined || task === 'depth';
export const needsSegmentation = (task?: TaskKind) => task === undefined || task === 'segmentation';

export interface SceneRecordOptions {
  /** How the metric depth becomes the target (default inverse depth, as a teacher gives). */
  depth?: DepthTargetOptions;
}

export function recordFromScene(item: SceneItem, o: SceneRecordOptions = {}, task?: TaskKind): DataRecord {
  const [, h, w] = item.image.shape;
  return {
    id: item.id,
    image: item.image,
    conversation: item.qa.map((q, i) => ({ user: i === 0 ? `${IMAGE_TAG}\n${q.question}` : q.question, assistant: q.answer })),
    depth: needsDepth(task) ? depthTarget(item.depth, o.depth) : undefined,
    segmentation: needsSegmentation(task) ? ndarray('uint8', [1, h, w], item.boundaries.data) : undefined,
  };
}

export interface SceneSourceOptions extends SceneRecordOptions {
  split?: Split;
  /** Offset of the first scene inside the split (default 0). */
  seed?: number;
  count: number;
  size?: number;
  perCategory?: number;
}

/** `count` embedded scenes of a split as a record source (rendered on demand). */
export function sceneSource(o: SceneSourceOptions): RecordSource {
  const split = o.split ?? 'train';
  const range = SPLITS[split];
  if (range === undefined) throw new RangeError(`unknown split '${split}'`);
  const first = range[0] + (o.seed ?? 0);
  if (!Number.isInteger(o.count) || o.count < 1) throw new RangeError(`count must be a positive integer, got ${o.count}`);
  if (first + o.count > range[1]) throw new RangeError(`${o.count} scenes from offset ${o.seed ?? 0} run past the end of the ${split} split`);
  return {
    length: o.count,
    get(i: number, task?: TaskKind): DataRecord {
      if (!Number.isInteger(i) || i < 0 || i >= o.count) throw new RangeError(`scene index ${i} outside [0, ${o.count})`);
      return recordFromScene(scene(first + i, { size: o.size, perCategory: o.perCategory }), o, task);
    },
  };
}
