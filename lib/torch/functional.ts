// Functional ops (torch.*, torch.nn.functional.*) over the dispatcher.
import { native } from '../native/binding';
import type { DType } from './dtype';
import { handleOf as H, handleOrScalar as S, optionalHandle as Opt } from './args';
import { TorchError } from './errors';
import { op } from './op';
import { Tensor, type TensorOrScalar } from './tensor';

const call = native.call;
const O = {
  cat: op('cat'), stack: op('stack'), whereT: op('where', 'self'), whereST: op('where', 'ScalarSelf'),
  whereTS: op('where', 'ScalarOther'), whereSS: op('where', 'Scalar'),
  layerNorm: op('layer_norm'), groupNorm: op('group_norm'), dropout: op('dropout'), embedding: op('embedding'),
  // aten::linear's contract; float32 CPU GEMMs through oneDNN where the process has it (native/kernels/gemm/linear.cc).
  linear: op('unimrg::linear'),
  conv2d: op('conv2d'), constantPad: op('constant_pad_nd'), reflectionPad2d: op('reflection_pad2d'),
  replicationPad2d: op('replication_pad2d'), reflectionPad1d: op('reflection_pad1d'), replicationPad1d: op('replication_pad1d'),
  nearest2d: op('upsample_nearest2d', 'vec'), bilinear2d: op('upsample_bilinear2d', 'vec'),
  bicubic2d: op('upsample_bicubic2d', 'vec'), adaptiveAvgPool2d: op('adaptive_avg_pool2d'),
  sdpa: op('scaled_dot_product_attention'), maximum: op('maximum'), minimum: op('minimum'),
};

function handles(ts: Tensor[], name: string): number[] {
  if (!Array.isArray(ts)) H(ts, name, 'tensors'); // names what was passed instead of an array
  return ts.map((t, i) => H(t, name, `tensors[${i}]`));
}

export function cat(tensors: Tensor[], dim = 0): Tensor { return new Tensor(call(O.cat.id, handles(tensors, 'cat'), dim)); }
export function stack(tensors: Tensor[], dim = 0): Tensor { return new Tensor(call(O.stack.id, handles(tensors, 'stack'), dim)); }

/** Elements of x where condition holds, else of y (either may be a number). */
export function where(condition: Tensor, x: TensorOrScalar, y: TensorOrScalar): Tensor {
  const c = H(condition, 'where', 'condition');
  if (typeof x === 'object' && typeof y === 'object') return new Tensor(call(O.whereT.id, c, S(x, 'where', 'x'), S(y, 'where', 'y')));
  if (typeof x === 'object') return new Tensor(call(O.whereTS.id, c, S(x, 'where', 'x'), y));
  if (typeof y === 'object') return new Tensor(call(O.whereST.id, c, x, S(y, 'where', 'y')));
  return new Tensor(call(O.whereSS.id, c, x, y));
}

export const maximum = (a: Tensor, b: Tensor) => new Tensor(call(O.maximum.id, H(a, 'maximum', 'a'), H(b, 'maximum', 'b')));
export const minimum = (a: Tensor, b: Tensor) => new Tensor(call(O.minimum.id, H(a, 'minimum', 'a'), H(b, 'minimum', 'b')));
export const softmax = (x: Tensor, dim: number, opts: { dtype?: DType } = {}) => x.softmax(dim, opts);
export const logSoftmax = (x: Tensor, dim: number, opts: { dtype?: DType } = {}) => x.logSoftmax(dim, opts);

/** Normalises x [N, C, ...] over each of numGroups channel groups, then weight · x + bias per channel. */
export function groupNorm(x: Tensor, numGroups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return new Tensor(call(O.groupNorm.id, H(x, 'groupNorm', 'x'), numGroups, Opt(weight, 'groupNorm', 'weight'),
    Opt(bias, 'groupNorm', 'bias'), eps, true));
}

export function layerNorm(x: Tensor, normalizedShape: number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return new Tensor(call(O.layerNorm.id, H(x, 'layerNorm', 'x'), normalizedShape, Opt(weight, 'layerNorm', 'weight'),
    Opt(bias, 'layerNorm', 'bias'), eps, true));
}
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (p < 0 || p > 1) throw new TorchError(`dropout probability must be in [0, 1], got ${p}`, 'dropout');
  return new Tensor(call(O.dropout.id, H(x, 'dropout', 'x'), p, training));
}
/** Rows of weight picked by indices (int64). */
export function embedding(indices: Tensor, weight: Tensor, paddingIdx = -1): Tensor {
  return new Tensor(call(O.embedding.id, H(weight, 'embedding', 'weight'), H(indices, 'embedding', 'indices'), paddingIdx, false, false));
}
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return new Tensor(call(O.linear.id, H(x, 'linear', 'x'), H(weight, 'linear', 'weight'), Opt(bias, 'linear', 'bias')));
}
export interface Conv2dOptions { stride?: number | number[]; padding?: number | number[]; dilation?: number | number[]; groups?: number }
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, o: Conv2dOptions = {}): Tensor {
  return new Tensor(call(O.conv2d.id, H(x, 'conv2d', 'x'), H(weight, 'conv2d', 'weight'), Opt(bias, 'conv2d', 'bias'), o.stride ?? 1, o.padding ?? 0, o.dilation ?? 1, o.groups ?? 1));
}

export interface InterpolateOptions {
  size?: number | [number, number];
  scaleFactor?: number | [number, number];
  mode?: 'nearest' | 'bilinear' | 'bicubic' | 'area';
  alignCorners?: boolean;
}
/** Resizes a [N, C, H, W] tensor. */
export function interpolate(x: Tensor, o: InterpolateOptions): Tensor {
  H(x, 'interpolate', 'x');
  if (x.dim() !== 4) throw new TorchError(`interpolate expects a 4-D [N, C, H, W] tensor, got ${x.dim()}-D`, 'interpolate');
  if ((o.size === undefined) === (o.scaleFactor === undefined)) {
    throw new TorchError('interpolate needs exactly one of size and scaleFactor', 'interpolate');
  }
  const size = o.size === undefined ? null : typeof o.size === 'number' ? [o.size, o.size] : o.size;
  const scale = o.scaleFactor === undefined ? null : typeof o.scaleFactor === 'number' ? [o.scaleFactor, o.scaleFactor] : o.scaleFactor;
  const mode = o.mode ?? 'nearest';
  if (mode !== 'bilinear' && mode !== 'bicubic' && o.alignCorners !== undefined) {
    throw new TorchError(`alignCorners only applies to bilinear and bicubic, not ${mode}`, 'interpolate');
  }
  switch (mode) {
    case 'nearest': return new Tensor(call(O.nearest2d.id, x._h, size, scale));
    case 'bilinear': return new Tensor(call(O.bilinear2d.id, x._h, size, o.alignCorners ?? false, scale));
    case 'bicubic': return new Tensor(call(O.bicubic2d.id, x._h, size, o.alignCorners ?? false, scale));
    case 'area': {
      const [h, w] = x.shape.slice(2);
      const out = size ?? [Math.floor(h * scale![0]), Math.floor(w * scale![1])];
      return new Tensor(call(O.adaptiveAvgPool2d.id, x._h, out));
    }
    default: throw new TorchError(`unknown interpolation mode '${mode}'`, 'interpolate');
  }
}

/** Pads the last dimensions: pad = [left, right, top, bottom, ...] as in PyTorch. */
export function pad(x: Tensor, padding: number[], mode: 'constant' | 'reflect' | 'replicate' = 'constant', value = 0): Tensor {
  H(x, 'pad', 'x');
  if (padding.length % 2 !== 0) throw new TorchError('padding must have an even number of entries', 'pad');
  if (mode === 'constant') return new Tensor(call(O.constantPad.id, x._h, padding, value));
  const pairs = padding.length / 2;
  const o = pairs === 1 ? (mode === 'reflect' ? O.reflectionPad1d : O.replicationPad1d)
    : pairs === 2 ? (mode === 'reflect' ? O.reflectionPad2d : O.replicationPad2d) : undefined;
  if (o === undefined) throw new TorchError(`${mode} padding supports 1 or 2 padded dimensions, got ${pairs}`, 'pad');
  return new Tensor(call(o.id, x._h, padding));
}

export interface AttentionOptions { attnMask?: Tensor | null; dropoutP?: number; isCausal?: boolean; scale?: number }
/**
 * softmax(q kᵀ · scale + mask) v over the last two dims. Uses libtorch's fused kernel where it
 * exists (≥ 2.0); otherwise the same math in ATen ops. A boolean mask marks allowed positions.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions = {}): Tensor {
  const dropoutP = o.dropoutP ?? 0;
  const scaleGiven = o.scale !== undefined;
  if (O.sdpa.exists && (!scaleGiven || O.sdpa.schema.args.some((a) => a.name === 'scale'))) {
    const n = 'scaledDotProductAttention';
    const args: unknown[] = [H(q, n, 'q'), H(k, n, 'k'), H(v, n, 'v'), Opt(o.attnMask, n, 'attnMask'), dropoutP, o.isCausal ?? false];
    if (scaleGiven) args.push(o.scale);
    return new Tensor(call(O.sdpa.id, ...args));
  }
  return attentionMath(q, k, v, o);
}

function attentionMath(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Tensor {
  const shape = q.shape;
  const L = shape[shape.length - 2];
  const S = k.shape[k.shape.length - 2];
  const scale = o.scale ?? 1 / Math.sqrt(shape[shape.length - 1]);
  const kt = k.transpose(-2, -1);
  const qs = q.mul(scale);
  let scores = qs.matmul(kt);
  qs.dispose();
  kt.dispose();
  const apply = (mask: Tensor) => {
    let next: Tensor;
    if (mask.dtype === 'bool') {
      const blocked = mask.logicalNot();
      next = scores.maskedFill(blocked, -Infinity);
      blocked.dispose();
    } else {
      next = scores.add(mask);
    }
    scores.dispose();
    scores = next;
  };
  if (o.isCausal) {
    const ones = new Tensor(native.call(op('ones').id, [L, S], 'bool', null, q.device, null));
    const causal = ones.tril();
    ones.dispose();
    apply(causal);
    causal.dispose();
  }
  if (o.attnMask) apply(o.attnMask);
  let attn = scores.softmax(-1);
  scores.dispose();
  if (o.dropoutP) {
    const d = dropout(attn, o.dropoutP, true);
    attn.dispose();
    attn = d;
  }
  const out = attn.matmul(v);
  attn.dispose();
  return out;
}
