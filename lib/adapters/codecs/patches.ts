// What both patch codecs share: the patch layout, argument checks and the ImageCodec fields.
//
// Layout (MAR's `patchify`): an image [B, 3, S, S] becomes [B, g², 3p²] with g = S / p, tokens
// row-major over the g × g grid, and each patch vector ordered (channel, row, column) inside
// the patch: x.reshape(B, 3, g, p, g, p).permute(0, 2, 4, 1, 3, 5).reshape(B, g², 3p²).
import { isFloating } from '../../torch/dtype';
import { TorchError } from '../../torch/errors';
import { Module } from '../../nn/module';
import { Tensor } from '../../torch/tensor';
import type { CodecKind, ImageCodec } from './types';

export const CHANNELS = 3;

/** What fitting did: written into saved codecs' metadata. */
export interface FitReport {
  /** Images (targets) seen and patches used. */
  images: number;
  patches: number;
  /** Patches seen in all (vq keeps a seeded subsample of at most maxPatches). */
  patchesSeen: number;
  seed: number;
  /** vq: k-means objective (mean squared patch-to-code distance) after 0, 1, … iterations. */
  objective?: number[];
  /** vq: dead codes re-seeded per iteration. */
  reseeded?: number[];
  /** continuous: fraction of the patch variance the kept components explain. */
  explainedVariance?: number;
  /** Free-form description of the fitting data (e.g. scenes/train 0..999: reconstruction, depth, segmentation). */
  data?: string;
}

/** [B, 3, S, S] → [B, g², 3p²] (a new contiguous tensor). */
export function patchify(x: Tensor, p: number): Tensor {
  const [b, c, h, w] = x.shape;
  const gh = h / p, gw = w / p;
  return x.reshape([b, c, gh, p, gw, p]).permute([0, 2, 4, 1, 3, 5]).reshape([b, gh * gw, c * p * p]);
}

/** [B, g², 3p²] → [B, 3, gp, gp], the inverse of patchify. */
export function unpatchify(t: Tensor, p: number, g: number): Tensor {
  const b = t.shape[0];
  return t.reshape([b, g, g, CHANNELS, p, p]).permute([0, 3, 1, 4, 2, 5]).reshape([b, CHANNELS, g * p, g * p]);
}

export interface PatchGeometry {
  /** Side of the square images (pixels). */
  imageSize: number;
  /** Side of a square patch (pixels); must divide imageSize. */
  patchSize: number;
}

const positiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Throws a RangeError naming the codec when the geometry is not usable. */
export function checkGeometry(what: string, g: PatchGeometry): void {
  if (!positiveInt(g.imageSize)) throw new RangeError(`${what}: imageSize must be a positive integer, got ${g.imageSize}`);
  if (!positiveInt(g.patchSize)) throw new RangeError(`${what}: patchSize must be a positive integer, got ${g.patchSize}`);
  if (g.imageSize % g.patchSize !== 0) {
    throw new RangeError(`${what}: patchSize ${g.patchSize} must divide imageSize ${g.imageSize} (a grid of whole patches)`);
  }
}

export function checkPositiveInt(what: string, name: string, v: unknown): void {
  if (!positiveInt(v)) throw new RangeError(`${what}: ${name} must be a positive integer, got ${String(v)}`);
}

/** The ImageCodec fields and input checks; subclasses hold the frozen tensors and the maths. */
export abstract class PatchCodec extends Module implements ImageCodec {
  abstract readonly kind: CodecKind;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly gridSize: number;
  readonly numTokens: number;
  /** 3 · patchSize²: values per patch. */
  readonly patchDim: number;
  /** How it was fitted (set by fitCodec, kept by saveCodec / loadCodec); undefined for an unfitted codec. */
  fitReport?: FitReport;

  constructor(geometry: PatchGeometry) {
    super();
    checkGeometry(new.target.name, geometry);
    this.imageSize = geometry.imageSize;
    this.patchSize = geometry.patchSize;
    this.gridSize = geometry.imageSize / geometry.patchSize;
    this.numTokens = this.gridSize * this.gridSize;
    this.patchDim = CHANNELS * geometry.patchSize * geometry.patchSize;
    this.eval();
  }

  abstract encode(images: Tensor): Tensor;
  abstract decode(tokens: Tensor): Tensor;

  /** Reconstruction: decode(encode(images)). */
  forward(images: Tensor): Tensor {
    const tokens = this.encode(images);
    try { return this.decode(tokens); } finally { tokens.dispose(); }
  }

  /** Registers a frozen parameter: in stateDict() and parameters(), never requiring grad. */
  protected frozen(name: string, t: Tensor): Tensor {
    const p = this.registerParameter(name, t);
    p.requiresGrad = false;
    return p;
  }

  /** Throws a TorchError unless images is a floating tensor [B, 3, imageSize, imageSize]. */
  checkImages(images: unknown, op: string): asserts images is Tensor {
    const where = `${this.constructor.name}.${op}`;
    if (!(images instanceof Tensor)) throw new TorchError(`${where}: expected a Tensor of images [B, 3, ${this.imageSize}, ${this.imageSize}], got ${describe(images)}`, where);
    if (images.isDisposed) throw new TorchError(`${where}: the images tensor has been disposed`, where);
    const s = images.shape;
    const want = `[B, ${CHANNELS}, ${this.imageSize}, ${this.imageSize}]`;
    if (s.length !== 4) throw new TorchError(`${where}: expected images ${want}, got shape [${s.join(', ')}]`, where);
    if (s[1] !== CHANNELS) throw new TorchError(`${where}: expected ${CHANNELS} channels (images ${want}), got ${s[1]} in shape [${s.join(', ')}]`, where);
    if (s[2] !== this.imageSize || s[3] !== this.imageSize) {
      throw new TorchError(`${where}: this codec encodes ${this.imageSize}×${this.imageSize} images, got ${s[2]}×${s[3]} (shape [${s.join(', ')}]); resize them first (data.generationImage)`, where);
    }
    if (!isFloating(images.dtype)) throw new TorchError(`${where}: images must be floating point in [-1, 1], got dtype ${images.dtype}`, where);
  }

  /** Throws a TorchError when t is not on the device of the codec's tensor `own`. */
  protected checkDevice(t: Tensor, own: Tensor, op: string): void {
    const where = `${this.constructor.name}.${op}`;
    if (t.device !== own.device) throw new TorchError(`${where}: the input is on ${t.device} but the codec is on ${own.device}; move one of them (codec.to('${t.device}'))`, where);
  }

  /** The dtype the maths runs in: float64 when the codec is float64, float32 otherwise (bf16/fp16 codecs too). */
  protected workDtype(t: Tensor): 'float32' | 'float64' {
    return t.dtype === 'float64' ? 'float64' : 'float32';
  }
}

export function describe(v: unknown): string {
  if (v instanceof Tensor) return v.isDisposed ? 'a disposed Tensor' : `a ${v.dtype} Tensor [${v.shape.join(', ')}]`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}
