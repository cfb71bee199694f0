// Separable image resampling on planar float arrays, with the filters and antialiasing of
// Pillow (which Hugging Face image processors use): when shrinking, the filter widens by the
// scale so every input pixel contributes (no aliasing); when enlarging, 'bilinear' equals
// PyTorch's interpolate(mode='bilinear', align_corners=False).
import { chw, type ImageF32, ndarray, type NDArray } from './ndarray';

export type Filter = 'nearest' | 'bilinear' | 'bicubic';

const SUPPORT: Record<Filter, number> = { nearest: 0.5, bilinear: 1, bicubic: 2 };

function kernel(filter: Filter, x: number): number {
  x = Math.abs(x);
  switch (filter) {
    case 'nearest': return x < 0.5 ? 1 : 0;
    case 'bilinear': return x < 1 ? 1 - x : 0;
    case 'bicubic': { // Keys' cubic with a = -0.5 (Pillow's choice; PyTorch uses -0.75)
      const a = -0.5;
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    }
    default: throw new RangeError(`unknown filter '${filter}' (expected nearest, bilinear or bicubic)`);
  }
}

interface Taps {
  start: Int32Array; // first input index per output index
  count: Int32Array;
  weights: Float32Array; // count[i] weights per output i, at offset i * maxTaps
  maxTaps: number;
}

/** Pillow's precompute_coeffs: output i samples around centre (i + 0.5) * scale. */
function taps(inSize: number, outSize: number, filter: Filter, antialias: boolean): Taps {
  const scale = inSize / outSize;
  const fscale = antialias ? Math.max(scale, 1) : 1;
  const support = SUPPORT[filter] * fscale;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * maxTaps);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    if (filter === 'nearest') { // Pillow's nearest never antialiases: the pixel whose cell holds the centre
      start[i] = Math.min(inSize - 1, Math.floor(center));
      count[i] = 1;
      weights[i * maxTaps] = 1;
      continue;
    }
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const hi = Math.min(inSize, Math.trunc(center + support + 0.5));
    let total = 0;
    const w = new Float64Array(Math.max(0, hi - lo));
    for (let j = lo; j < hi; j++) {
      const v = kernel(filter, (j - center + 0.5) / fscale);
      w[j - lo] = v;
      total += v;
    }
    start[i] = lo;
    count[i] = hi - lo;
    for (let j = 0; j < hi - lo; j++) weights[i * maxTaps + j] = total !== 0 ? w[j] / total : 0;
  }
  return { start, count, weights, maxTaps };
}

export interface ResizeOptions {
  filter?: Filter;
  /** Widen the filter when shrinking (default true, as Pillow). */
  antialias?: boolean;
}

/**
 * Resizes a planar [C, H, W] image (uint8 or float32) to [C, height, width], float32 in the same
 * value scale. Bicubic can overshoot; clamp afterwards where the range matters.
 */
export function resize(img: NDArray<'uint8'> | NDArray<'float32'>, height: number, width: number, opts: ResizeOptions = {}): ImageF32 {
  const [c, h, w] = chw(img);
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new RangeError(`resize: target size must be positive integers, got ${height}x${width}`);
  }
  if (h < 1 || w < 1) throw new RangeError(`resize: empty image [${img.shape}]`);
  const filter = opts.filter ?? 'bilinear';
  if (!(filter in SUPPORT)) throw new RangeError(`unknown filter '${filter}' (expected nearest, bilinear or bicubic)`);
  const antialias = opts.antialias ?? true;
  if (h === height && w === width) return ndarray('float32', [c, h, w], Float32Array.from(img.data));
  // One element type in the hot loops (uint8 and float32 sources would make them polymorphic).
  const src = img.data instanceof Float32Array ? img.data : Float32Array.from(img.data);
  const tx = taps(w, width, filter, antialias);
  const ty = taps(h, height, filter, antialias);
  // Horizontal pass: [C, h, w] -> [C, h, width]
  const mid = new Float32Array(c * h * width);
  const xs = tx.start, xk = tx.count, xw = tx.weights, xm = tx.maxTaps;
  for (let r = 0; r < c * h; r++) {
    const row = r * w;
    const orow = r * width;
    for (let x = 0; x < width; x++) {
      const base = row + xs[x], k = xk[x], o = x * xm;
      let acc = 0;
      for (let j = 0; j < k; j++) acc += src[base + j] * xw[o + j];
      mid[orow + x] = acc;
    }
  }
  // Vertical pass: [C, h, width] -> [C, height, width], rows accumulated contiguously
  const out = new Float32Array(c * height * width);
  const ys = ty.start, yk = ty.count, yw = ty.weights, ym = ty.maxTaps;
  for (let ch = 0; ch < c; ch++) {
    const plane = ch * h * width;
    const oplane = ch * height * width;
    for (let y = 0; y < height; y++) {
      const s = ys[y], k = yk[y], o = y * ym;
      const orow = oplane + y * width;
      for (let j = 0; j < k; j++) {
        const wt = yw[o + j];
        const irow = plane + (s + j) * width;
        for (let x = 0; x < width; x++) out[orow + x] += mid[irow + x] * wt;
      }
    }
  }
  return ndarray('float32', [c, height, width], out);
}
