// Image preprocessing as UniMRG publishes it:
//  - understanding images are padded to a square with grey (127, LLaVA's expand2square with a
//    0.5 mean), resized, then normalised with the adapter's vision-encoder statistics;
//  - generation images (the reconstruction target, depth and boundary maps) are stretched to a
//    square and mapped to [-1, 1].
import { chw, type ImageF32, type ImageU8, ndarray, type NDArray } from './ndarray';
import { type Filter, resize } from './resize';

export interface Normalization {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** Per-adapter statistics: (x / 255 - mean) / std per channel. */
export const NORMALIZATIONS = {
  /** SigLIP, MAR / Harmon, VQ tokenizers: [-1, 1]. */
  siglip: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
  /** OpenAI CLIP. */
  clip: { mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] },
  /** torchvision ImageNet. */
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  /** [0, 1], no centring. */
  unit: { mean: [0, 0, 0], std: [1, 1, 1] },
} as const satisfies Record<string, Normalization>;
export type NormalizationName = keyof typeof NORMALIZATIONS;

export function normalization(n: NormalizationName | Normalization): Normalization {
  if (typeof n === 'string') {
    const found = (NORMALIZATIONS as Record<string, Normalization>)[n];
    if (found === undefined) throw new RangeError(`unknown normalization '${n}' (expected ${Object.keys(NORMALIZATIONS).join(', ')} or { mean, std })`);
    return found;
  }
  if (n.mean?.length !== 3 || n.std?.length !== 3 || n.std.some((s) => !(s > 0))) {
    throw new RangeError('a normalization needs mean and std of 3 numbers each, std > 0');
  }
  return n;
}

/** Grey used to pad understanding images: round(0.5 * 255) rounded down, as LLaVA's int(x * 255). */
export const PAD_GREY = 127;

/** Pads [C, H, W] to [C, S, S], S = max(H, W), the image centred (offsets rounded down). */
export function padToSquare(img: ImageU8, fill = PAD_GREY): ImageU8 {
  const [c, h, w] = chw(img);
  if (h === w) return img;
  const s = Math.max(h, w);
  const top = (s - h) >> 1, left = (s - w) >> 1;
  const out = new Uint8Array(c * s * s).fill(fill);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      const from = (ch * h + y) * w;
      out.set(img.data.subarray(from, from + w), (ch * s + top + y) * s + left);
    }
  }
  return ndarray('uint8', [c, s, s], out);
}

export interface UnderstandingOptions {
  size: number;
  /** How a non-square image becomes square: 'pad' (grey, default) or 'stretch'. */
  square?: 'pad' | 'stretch';
  normalization?: NormalizationName | Normalization;
  /** Default 'bicubic' (CLIP / SigLIP image processors). */
  filter?: Filter;
  padFill?: number;
}

/** uint8 [3, H, W] → float32 [3, size, size]: pad to square with grey (or stretch), resize, normalise. */
export function understandingImage(img: ImageU8, o: UnderstandingOptions): ImageF32 {
  const [c] = chw(img);
  if (c !== 3) throw new RangeError(`understandingImage expects an RGB [3, H, W] image, got [${img.shape}]`);
  const norm = normalization(o.normalization ?? 'siglip');
  const sq = o.square ?? 'pad';
  if (sq !== 'pad' && sq !== 'stretch') throw new RangeError(`square must be 'pad' or 'stretch', got '${sq}'`);
  const src = sq === 'pad' ? padToSquare(img, o.padFill ?? PAD_GREY) : img;
  const r = resize(src, o.size, o.size, { filter: o.filter ?? 'bicubic' });
  const n = o.size * o.size;
  const d = r.data;
  for (let ch = 0; ch < 3; ch++) {
    const m = norm.mean[ch], inv = 1 / (255 * norm.std[ch]), off = m / norm.std[ch];
    for (let i = ch * n; i < (ch + 1) * n; i++) {
      const x = d[i] < 0 ? 0 : d[i] > 255 ? 255 : d[i];
      d[i] = x * inv - off;
    }
  }
  return r;
}

export interface GenerationOptions {
  size: number;
  /** Default 'bilinear'. */
  filter?: Filter;
}

/**
 * A generation image or target → float32 [3, size, size] in [-1, 1], stretched to the square.
 * uint8 images map 0..255 to [-1, 1]; float32 maps are taken to be in [-1, 1] already (as
 * depthTarget gives). Grey [1, H, W] inputs are repeated to 3 channels.
 */
export function generationImage(img: NDArray<'uint8'> | ImageF32, o: GenerationOptions): ImageF32 {
  const [c] = chw(img);
  if (c !== 1 && c !== 3) throw new RangeError(`generationImage expects [1, H, W] or [3, H, W], got [${img.shape}]`);
  const r = resize(img, o.size, o.size, { filter: o.filter ?? 'bilinear' });
  const n = o.size * o.size;
  const out = c === 3 ? r.data : new Float32Array(3 * n);
  const isU8 = img.dtype === 'uint8';
  for (let i = 0; i < c * n; i++) {
    let x = r.data[i];
    if (isU8) x = x / 127.5 - 1;
    out[i] = x < -1 ? -1 : x > 1 ? 1 : x;
  }
  if (c === 1) { out.copyWithin(n, 0, n); out.copyWithin(2 * n, 0, n); }
  return ndarray('float32', [3, o.size, o.size], out);
}
