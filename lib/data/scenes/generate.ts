// data.scenes.generate(): embedded spatial scenes, deterministic by seed, no download. Each item
// holds the image, its exact depth and instance masks, the boundary map and questions.
import { type ImageU8, int64FromInt32, ndarray, type NDArray } from '../ndarray';
import { boundaries } from '../targets';
import { layout } from './layout';
import { objectFacts, type QA, type QACategory, questions } from './qa';
import { render } from './render';
import { type Split, SPLITS, splitOf } from './splits';
import type { Color, Shape, Size } from './vocabulary';

export const MIN_SIZE = 64;
export const MAX_SIZE = 512;

export interface SceneObjectInfo {
  /** Instance id in `instances`. */
  id: number;
  color: Color;
  shape: Shape;
  size: Size;
  /** World position of the footprint centre on the ground (x right, z forward; y = 0). */
  position: [number, number, number];
  /** Distance from the camera to the object's centre. */
  distance: number;
  /** Visible fraction in the reference render (1 = not occluded). */
  visibleFraction: number;
}

export interface SceneItem {
  /** e.g. "scenes/train/42" */
  id: string;
  seed: number;
  split: Split;
  /** uint8 [3, H, W] */
  image: ImageU8;
  /** float32 [H, W]: Euclidean distance from the camera centre to the visible surface. */
  depth: NDArray<'float32'>;
  /** int64 [H, W]: 0 = ground, k = object k. */
  instances: NDArray<'int64'>;
  /** uint8 [H, W]: 255 on the edges of every instance mask. */
  boundaries: NDArray<'uint8'>;
  qa: QA[];
  objects: SceneObjectInfo[];
  /**
   * The pinhole camera: at (0, height, 0), looking along +z, tilted down by `pitch` radians,
   * square field of view `fov` radians; the ray of pixel (col, row) passes through its centre.
   */
  camera: { height: number; pitch: number; fov: number };
}

export interface SceneOptions {
  /** Output size in pixels (square), 64–512. Default 256. */
  size?: number;
  /** Questions per category, default 2. */
  perCategory?: number;
  categories?: readonly QACategory[];
}

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE) {
    throw new RangeError(`scene size must be an integer from ${MIN_SIZE} to ${MAX_SIZE} pixels, got ${size}`);
  }
}

/** The scene of one seed (its split follows from the seed). */
export function scene(seed: number, opts: SceneOptions = {}): SceneItem {
  const size = opts.size ?? 256;
  checkSize(size);
  const l = layout(seed);
  const facts = objectFacts(l);
  const r = size === l.reference.size ? l.reference : render(l.spec, size);
  const instances = int64FromInt32(r.ids, [size, size]);
  return {
    id: `scenes/${l.spec.split}/${seed - SPLITS[l.spec.split][0]}`,
    seed,
    split: l.spec.split,
    image: ndarray('uint8', [3, size, size], r.image),
    depth: ndarray('float32', [size, size], r.depth),
    instances,
    boundaries: boundaries(ndarray('int32', [size, size], r.ids)),
    qa: questions(l, facts, { perCategory: opts.perCategory, categories: opts.categories }),
    objects: facts.map((f) => ({
      id: f.object.id, color: f.object.color, shape: f.object.shape, size: f.object.size,
      position: [f.object.x, 0, f.object.z], distance: f.distance, visibleFraction: f.visibleFraction,
    })),
    camera: { height: l.spec.camera.height, pitch: l.spec.camera.pitch, fov: 2 * Math.atan(l.spec.camera.tanHalfFov) },
  };
}

export interface GenerateOptions extends SceneOptions {
  /** Number of scenes. */
  count: number;
  /**
   * Without `split`: the absolute seed of the first scene (scene i has seed + i), which fixes
   * its split. With `split`: an offset inside that split's seed range. Default 0.
   */
  seed?: number;
  split?: Split;
}

/** The absolute seeds generate() uses. */
export function sceneSeeds(o: { seed?: number; split?: Split; count: number }): { first: number; split: Split } {
  if (!Number.isInteger(o.count) || o.count < 0) throw new RangeError(`count must be a non-negative integer, got ${o.count}`);
  const offset = o.seed ?? 0;
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`seed must be a non-negative integer, got ${offset}`);
  let first: number;
  let split: Split;
  if (o.split !== undefined) {
    const range = SPLITS[o.split];
    if (range === undefined) throw new RangeError(`unknown split '${o.split}' (expected train, val, test or compositional)`);
    first = range[0] + offset;
    split = o.split;
  } else {
    first = offset;
    split = splitOf(first);
  }
  const [, end] = SPLITS[split];
  if (first + o.count > end) {
    throw new RangeError(`${o.count} scenes from seed ${first} run past the end of the ${split} split (seeds [${SPLITS[split]}))`);
  }
  return { first, split };
}

/** Yields `count` scenes lazily, scene i from seed (first + i). */
export function* generate(o: GenerateOptions): Generator<SceneItem> {
  const { first } = sceneSeeds(o);
  checkSize(o.size ?? 256);
  for (let i = 0; i < o.count; i++) yield scene(first + i, o);
}
