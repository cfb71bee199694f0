// Generation targets as UniMRG publishes them:
//  - depth: min-max normalised per image to [-1, 1], near bright (+1), repeated to 3 channels.
//    Monocular depth teachers (Depth Anything and kin) output relative inverse depth, so a
//    metric depth map (as the embedded scenes give) is first turned into inverse depth by
//    default; `space: 'linear'` normalises the distance itself instead.
//  - segmentation: a white-on-black boundary map, the union (max) of the edges of every
//    instance mask. The edge of a mask is its inner boundary: mask pixels with an 8-neighbour
//    outside the mask (a 3x3 erosion, as cv2.erode's default kernel); pixels beyond the image
//    border count as inside, so the frame itself draws no edge.
import { chw, type ImageF32, type ImageU8, int32Of, ndarray, type NDArray } from './ndarray';

export interface DepthTargetOptions {
  /**
   * What the map holds: 'depth' (distance, near small; the scenes' depth) or 'disparity'
   * (inverse depth, near large; a teacher's raw output). Default 'depth'.
   */
  kind?: 'depth' | 'disparity';
  /** For kind 'depth': normalise 1/depth ('inverse', default, as a teacher would) or depth ('linear'). */
  space?: 'inverse' | 'linear';
}

/**
 * [H, W] or [1, H, W] map → [3, H, W] float32 in [-1, 1], near = +1. An infinite depth is
 * disparity 0 (as the sky for a teacher); NaN, and depths <= 0 in inverse space, are invalid:
 * left out of the min-max and set to -1.
 */
export function depthTarget(map: NDArray<'float32'> | NDArray<'uint8'> | NDArray<'uint16'>, opts: DepthTargetOptions = {}): ImageF32 {
  const kind = opts.kind ?? 'depth';
  const space = opts.space ?? 'inverse';
  if (kind !== 'depth' && kind !== 'disparity') throw new RangeError(`depthTarget: kind must be 'depth' or 'disparity', got '${kind}'`);
  if (space !== 'inverse' && space !== 'linear') throw new RangeError(`depthTarget: space must be 'inverse' or 'linear', got '${space}'`);
  const s = map.shape;
  let h: number, w: number;
  if (s.length === 2) [h, w] = s;
  else if (s.length === 3 && s[0] === 1) [, h, w] = s;
  else throw new RangeError(`depthTarget: expected a [H, W] or [1, H, W] map, got shape [${s}]`);
  const n = h * w;
  // "nearness": larger is nearer.
  const near = new Float64Array(n);
  let lo = Infinity, hi = -Infinity;
  const src = map.data;
  for (let i = 0; i < n; i++) {
    const v = src[i];
    let x: number;
    if (kind === 'disparity') x = v;
    else if (space === 'inverse') x = v > 0 ? 1 / v : NaN;
    else x = -v;
    near[i] = x;
    if (Number.isFinite(x)) { if (x < lo) lo = x; if (x > hi) hi = x; }
  }
  const out = new Float32Array(3 * n);
  const span = hi - lo;
  for (let i = 0; i < n; i++) {
    const x = near[i];
    const t = !Number.isFinite(x) ? -1 : span > 0 ? (2 * (x - lo)) / span - 1 : 0;
    out[i] = t; out[n + i] = t; out[2 * n + i] = t;
  }
  return ndarray('float32', [3, h, w], out);
}

/** A [-1, 1] target (any channels) as uint8 0..255 (round((t + 1) * 127.5)), e.g. to save it. */
export function targetToImage(t: ImageF32): ImageU8 {
  const out = new Uint8Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round((Math.min(1, Math.max(-1, t.data[i])) + 1) * 127.5);
  return ndarray('uint8', t.shape, out);
}

function hw(shape: number[], what: string): [number, number] {
  if (shape.length === 2) return [shape[0], shape[1]];
  if (shape.length === 3 && shape[0] === 1) return [shape[1], shape[2]];
  throw new RangeError(`${what}: expected [H, W] or [1, H, W], got shape [${shape}]`);
}

/**
 * The boundary map of an instance-id map ([H, W]; 0 = background, k > 0 = instance k, ids do
 * not overlap): 255 where a pixel of instance k has an 8-neighbour (inside the image) that is
 * not instance k, 0 elsewhere. Background pixels are never marked: only instance masks have edges.
 */
export function boundaries(instances: NDArray<'int64'> | NDArray<'int32'>): NDArray<'uint8'> {
  const [h, w] = hw(instances.shape, 'boundaries');
  const ids = instances.dtype === 'int64' ? int32Of(instances as NDArray<'int64'>) : (instances.data as Int32Array);
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const k = ids[p];
      if (k <= 0) continue;
      if (anyNeighbour(h, w, x, y, (q) => ids[q] !== k)) out[p] = 255;
    }
  }
  return ndarray('uint8', [h, w], out);
}

/**
 * The union of the edges of possibly overlapping binary masks (as an automatic segmenter such
 * as SAM returns them): each mask [H, W] (nonzero = inside) contributes its inner boundary.
 */
export function boundariesFromMasks(masks: readonly NDArray<'uint8'>[], height: number, width: number): NDArray<'uint8'> {
  const out = new Uint8Array(height * width);
  for (const m of masks) {
    const [h, w] = hw(m.shape, 'boundariesFromMasks');
    if (h !== height || w !== width) throw new RangeError(`boundariesFromMasks: mask is ${h}x${w}, expected ${height}x${width}`);
    const d = m.data;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = y * w + x;
        if (d[p] === 0 || out[p] !== 0) continue;
        if (anyNeighbour(h, w, x, y, (q) => d[q] === 0)) out[p] = 255;
      }
    }
  }
  return ndarray('uint8', [height, width], out);
}

/** Whether a pixel of the 8-neighbourhood of (x, y) inside the image satisfies `hit` (the image
 * border itself draws no edge). Shared by both boundary rules. */
function anyNeighbour(h: number, w: number, x: number, y: number, hit: (q: number) => boolean): boolean {
  for (let dy = -1; dy <= 1; dy++) {
    const yy = y + dy;
    if (yy < 0 || yy >= h) continue;
    for (let dx = -1; dx <= 1; dx++) {
      const xx = x + dx;
      if (xx >= 0 && xx < w && hit(yy * w + xx)) return true;
    }
  }
  return false;
}

/** A grey [H, W] (or [1, H, W]) map repeated to a [3, H, W] image, as generation targets are. */
export function toRgb(map: NDArray<'uint8'>): ImageU8 {
  const [h, w] = hw(map.shape, 'toRgb');
  const n = h * w;
  const out = new Uint8Array(3 * n);
  out.set(map.data.subarray(0, n), 0); out.set(map.data.subarray(0, n), n); out.set(map.data.subarray(0, n), 2 * n);
  return ndarray('uint8', [3, h, w], out);
}

/** [C, H, W] → [3, H, W]: grey repeated, RGB kept, a 4th channel (alpha) dropped. */
export function asRgb(img: ImageU8): ImageU8 {
  const [c, h, w] = chw(img);
  if (c === 3) return img;
  const n = h * w;
  if (c === 1 || c === 2) return toRgb(ndarray('uint8', [h, w], img.data.subarray(0, n))); // grey (+ alpha)
  if (c >= 3) return ndarray('uint8', [3, h, w], img.data.slice(0, 3 * n));
  throw new RangeError(`asRgb: cannot make RGB from ${c} channels`);
}
