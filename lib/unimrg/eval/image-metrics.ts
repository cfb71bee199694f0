// Generation quality per representation, one image at a time (average the per-image values with
// `meanMetrics`). Images are planar [C, H, W] (or [H, W]) typed arrays in one of two scales:
//   float32: the model's scale, [-1, 1] (values outside are clamped for PSNR);
//   uint8:   0..255, as files and `data.targetToImage` hold them.
// See docs/evaluation.md for the exact definitions.
import type { NDArray } from '../../data/ndarray';

export type EvalImage = NDArray<'float32'> | NDArray<'uint8'>;

/** PSNR of identical images: the MSE is floored at 1e-10, so a perfect match scores 100 dB. */
export const MAX_PSNR = 100;

/** [C, H, W] of an [H, W] or [C, H, W] array. */
function planes(a: NDArray, what: string): [number, number, number] {
  const s = a.shape;
  if (s.length === 2) return [1, s[0], s[1]];
  if (s.length === 3) return [s[0], s[1], s[2]];
  throw new RangeError(`${what}: expected an [H, W] or [C, H, W] image, got shape [${s}]`);
}

function checkScale(a: NDArray, what: string): asserts a is EvalImage {
  if (a.dtype !== 'float32' && a.dtype !== 'uint8') throw new TypeError(`${what}: expected float32 in [-1, 1] or uint8, got ${a.dtype}`);
}

/** Value in [0, 1]: float32 (x + 1) / 2 clamped, uint8 x / 255. */
function unit(a: EvalImage, i: number): number {
  if (a.dtype === 'uint8') return a.data[i] / 255;
  const x = (a.data[i] + 1) / 2;
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/**
 * Peak signal-to-noise ratio in dB of one image against its reference, both taken to [0, 1]
 * (peak 1): 10 log10(1 / MSE) over every pixel and channel. The two may differ in scale
 * (a float32 generation against the uint8 input image) but not in shape.
 */
export function psnr(pred: EvalImage, truth: EvalImage): number {
  checkScale(pred, 'psnr'); checkScale(truth, 'psnr');
  const [c, h, w] = planes(pred, 'psnr');
  const [c2, h2, w2] = planes(truth, 'psnr');
  if (c !== c2 || h !== h2 || w !== w2) throw new RangeError(`psnr: shapes differ, [${pred.shape}] against [${truth.shape}]`);
  const n = c * h * w;
  if (n === 0) throw new RangeError('psnr: empty image');
  let se = 0;
  for (let i = 0; i < n; i++) {
    const d = unit(pred, i) - unit(truth, i);
    se += d * d;
  }
  return 10 * Math.log10(1 / Math.max(se / n, 1e-10));
}

/** Channel mean of a [C, H, W] / [H, W] map as one float64 plane (raw values, any scale). */
function plane(a: NDArray, what: string): { h: number; w: number; v: Float64Array } {
  const [c, h, w] = planes(a, what);
  const n = h * w;
  const v = new Float64Array(n);
  const d = a.data as ArrayLike<number>;
  for (let k = 0; k < c; k++) for (let i = 0; i < n; i++) v[i] += d[k * n + i];
  if (c > 1) for (let i = 0; i < n; i++) v[i] /= c;
  return { h, w, v };
}

/** 1-based ranks, ties given the mean of the ranks they span. */
export function averageRanks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const r = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && x[order[j]] === x[order[i]]) j++;
    const rank = (i + 1 + j) / 2; // mean of ranks i+1 .. j
    for (let k = i; k < j; k++) r[order[k]] = rank;
    i = j;
  }
  return r;
}

/** Pearson correlation of x and y in float64; 0 when either is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (y.length !== n) throw new RangeError(`pearson: lengths differ (${n} and ${y.length})`);
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
  mx /= n; my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i] - mx, b = y[i] - my;
    sxy += a * b; sxx += a * a; syy += b * b;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

/** Spearman's rank correlation: Pearson's of the average ranks (so ties are handled exactly). */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return pearson(averageRanks(x), averageRanks(y));
}

export interface DepthMetrics {
  /** mean |d̂ − d| / d over valid pixels. */
  absRel: number;
  /** fraction of valid pixels with max(d̂ / d, d / d̂) < 1.25. */
  delta1: number;
  /** Spearman ρ between predicted and true nearness: +1 for a perfect map, −1 for a flipped one. */
  spearman: number;
}

export interface DepthMetricOptions {
  /**
   * The space in which the target was min-max normalised (as `data.depthTarget`): 'inverse'
   * (default: 1/depth, as the training targets) or 'linear' (−depth).
   */
  space?: 'inverse' | 'linear';
}

/**
 * Depth quality of one predicted map against the true depth.
 * - `pred`: a generated depth map, near = bright (UniMRG's target convention): float32 in
 *   [-1, 1] or uint8, [C, H, W] (channels averaged) or [H, W].
 * - `depth`: the true distance map [H, W] or [1, H, W] (far = large), same H and W; pixels that
 *   are not finite and positive are left out.
 * Both are min-max normalised per image: the truth as `data.depthTarget` does (1/depth, or −depth
 * for space 'linear'), the prediction to the same [0, 1] range of its own min and max. The
 * normalised prediction is then mapped back to depth with the truth's own min and max (the
 * inverse of the target's normalisation), d̂ = 1 / (lo + p·(hi − lo)) with lo, hi the extremes of
 * 1/depth. So `pred = data.depthTarget(depth)` scores AbsRel 0, δ 1, ρ 1, and a map with near and
 * far swapped scores ρ −1. A constant prediction is normalised to 0.5 everywhere.
 */
export function depthMetrics(pred: EvalImage, depth: NDArray<'float32'>, opts: DepthMetricOptions = {}): DepthMetrics {
  checkScale(pred, 'depthMetrics');
  if (depth.dtype !== 'float32') throw new TypeError(`depthMetrics: the true depth must be float32 distances, got ${depth.dtype}`);
  const space = opts.space ?? 'inverse';
  if (space !== 'inverse' && space !== 'linear') throw new RangeError(`depthMetrics: space must be 'inverse' or 'linear', got '${space}'`);
  const p = plane(pred, 'depthMetrics (prediction)');
  const [dc, dh, dw] = planes(depth, 'depthMetrics (depth)');
  if (dc !== 1) throw new RangeError(`depthMetrics: the true depth must have one channel, got shape [${depth.shape}]`);
  if (dh !== p.h || dw !== p.w) throw new RangeError(`depthMetrics: prediction is ${p.h}x${p.w}, depth is ${dh}x${dw}`);
  const valid: number[] = [];
  let pLo = Infinity, pHi = -Infinity, tLo = Infinity, tHi = -Infinity;
  for (let i = 0; i < dh * dw; i++) {
    const d = depth.data[i];
    if (!(Number.isFinite(d) && d > 0)) continue;
    valid.push(i);
    const t = space === 'inverse' ? 1 / d : -d; // true nearness
    if (t < tLo) tLo = t; if (t > tHi) tHi = t;
    if (p.v[i] < pLo) pLo = p.v[i]; if (p.v[i] > pHi) pHi = p.v[i];
  }
  const n = valid.length;
  if (n === 0) throw new RangeError('depthMetrics: no pixel of the true depth is finite and positive');
  const pSpan = pHi - pLo;
  let absRel = 0, good = 0;
  const predNear = new Float64Array(n), trueNear = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const i = valid[k];
    const d = depth.data[i];
    const u = pSpan > 0 ? (p.v[i] - pLo) / pSpan : 0.5; // normalised predicted nearness in [0, 1]
    const near = tLo + u * (tHi - tLo);
    const dHat = space === 'inverse' ? 1 / near : -near;
    absRel += Math.abs(dHat - d) / d;
    if (Math.max(dHat / d, d / dHat) < 1.25) good++;
    predNear[k] = p.v[i];
    trueNear[k] = -d;
  }
  return { absRel: absRel / n, delta1: good / n, spearman: spearman(predNear, trueNear) };
}

/** A boundary map as a 0/1 mask: channel mean > 0 for float32 in [-1, 1], >= 128 for uint8. */
export function boundaryMask(map: EvalImage): { h: number; w: number; mask: Uint8Array } {
  checkScale(map, 'boundaryMask');
  const { h, w, v } = plane(map, 'boundaryMask');
  const mask = new Uint8Array(h * w);
  const floatMap = map.dtype === 'float32';
  for (let i = 0; i < v.length; i++) mask[i] = (floatMap ? v[i] > 0 : v[i] >= 128) ? 1 : 0;
  return { h, w, mask };
}

/** The mask dilated by a disk: pixels within Euclidean distance `radius` of a set pixel. */
function dilate(mask: Uint8Array, h: number, w: number, radius: number): Uint8Array {
  const r = Math.floor(radius);
  const offsets: [number, number][] = [];
  for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (dx * dx + dy * dy <= radius * radius) offsets.push([dx, dy]);
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!mask[y * w + x]) continue;
      for (const [dx, dy] of offsets) {
        const xx = x + dx, yy = y + dy;
        if (xx >= 0 && xx < w && yy >= 0 && yy < h) out[yy * w + xx] = 1;
      }
    }
  }
  return out;
}

export interface BoundaryScore {
  precision: number;
  recall: number;
  f: number;
  /** Boundary pixels in the prediction and in the truth, and how many of each were matched. */
  predicted: number;
  actual: number;
  matchedPredicted: number;
  matchedActual: number;
}

/**
 * Boundary F-score with a distance tolerance (default 2 px, Euclidean): precision is the share of
 * predicted boundary pixels with a true boundary pixel within the tolerance, recall the share of
 * true boundary pixels with a predicted one within it, F = 2PR / (P + R). With no predicted
 * (true) boundary pixels, precision (recall) is 1; F is 0 when P + R = 0. Maps are thresholded
 * with `boundaryMask`.
 */
export function boundaryF(pred: EvalImage, truth: EvalImage, opts: { tolerance?: number } = {}): BoundaryScore {
  const tol = opts.tolerance ?? 2;
  if (!(tol >= 0 && Number.isFinite(tol))) throw new RangeError(`boundaryF: tolerance must be a finite number >= 0, got ${tol}`);
  const p = boundaryMask(pred), t = boundaryMask(truth);
  if (p.h !== t.h || p.w !== t.w) throw new RangeError(`boundaryF: prediction is ${p.h}x${p.w}, truth is ${t.h}x${t.w}`);
  const nearTrue = dilate(t.mask, t.h, t.w, tol);
  const nearPred = dilate(p.mask, p.h, p.w, tol);
  let predicted = 0, actual = 0, matchedPredicted = 0, matchedActual = 0;
  for (let i = 0; i < p.mask.length; i++) {
    if (p.mask[i]) { predicted++; if (nearTrue[i]) matchedPredicted++; }
    if (t.mask[i]) { actual++; if (nearPred[i]) matchedActual++; }
  }
  const precision = predicted > 0 ? matchedPredicted / predicted : 1;
  const recall = actual > 0 ? matchedActual / actual : 1;
  const f = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f, predicted, actual, matchedPredicted, matchedActual };
}

/** The mean of every numeric field over per-image results (e.g. `depthMetrics` of each sample). */
export function meanMetrics<T extends object>(results: readonly T[]): { [K in keyof T]: number } {
  if (results.length === 0) throw new RangeError('meanMetrics: no results to average');
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(results[0])) {
    if (typeof v !== 'number') continue;
    out[k] = results.reduce((s, r) => s + ((r as Record<string, number>)[k]), 0) / results.length;
  }
  return out as { [K in keyof T]: number };
}

/** The images of a batch [N, C, H, W] as N views [C, H, W] (no copy). */
export function unbatch<D extends 'float32' | 'uint8'>(batch: NDArray<D>): NDArray<D>[] {
  if (batch.shape.length !== 4) throw new RangeError(`unbatch: expected [N, C, H, W], got shape [${batch.shape}]`);
  const [n, c, h, w] = batch.shape;
  const size = c * h * w;
  return Array.from({ length: n }, (_, i) => ({
    dtype: batch.dtype, shape: [c, h, w], data: batch.data.subarray(i * size, (i + 1) * size) as NDArray<D>['data'],
  }));
}
