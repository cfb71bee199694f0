// Rotary position embedding as Llama / Hugging Face apply it (rotate_half layout: the first and
// second halves of each head are the two coordinates of each rotated pair).
import * as creation from '../torch/creation';
import type { Device, DType } from '../torch/dtype';
import * as F from '../torch/functional';
import { tidy } from '../torch/scope';
import type { Tensor } from '../torch/tensor';
import { Module } from './module';

export interface RotaryTables { cos: Tensor; sin: Tensor }

export class RotaryEmbedding extends Module {
  readonly invFreq: Tensor;
  constructor(readonly headDim: number, readonly base = 10000, opts: { dtype?: DType; device?: Device } = {}) {
    super();
    if (headDim % 2 !== 0) throw new Error(`RotaryEmbedding: headDim must be even, got ${headDim}`);
    // inv_freq[i] = base^(-2i/d), as a non-persistent buffer (Hugging Face does not save it).
    // Computed in float64, stored in the module's dtype (float32 by default, as Hugging Face).
    const inv = Float64Array.from({ length: headDim / 2 }, (_, i) => 1 / base ** ((2 * i) / headDim));
    this.invFreq = this.registerBuffer('inv_freq', creation.tensor(inv, { dtype: opts.dtype ?? 'float32', device: opts.device }), false);
  }
  /** cos and sin tables [..., T, headDim] for integer positions [T] or [B, T]. */
  forward(positions: Tensor): RotaryTables {
    return tidy(() => {
      const freqs = positions.to(this.invFreq.dtype).unsqueeze(-1).mul(this.invFreq.to(positions.device));
      const emb = F.cat([freqs, freqs], -1);
      return { cos: emb.cos(), sin: emb.sin() };
    });
  }
}

/** [-x2, x1] for x = [x1, x2] split in halves along the last dimension. */
export function rotateHalf(x: Tensor): Tensor {
  return tidy(() => {
    const [x1, x2] = x.chunk(2, -1);
    return F.cat([x2.neg(), x1], -1);
  });
}

/**
 * x · cos + rotate_half(x) · sin for x [B, H, T, d]; tables [T, d] broadcast, [B, T, d] are
 * given a head axis.
 */
export function applyRotary(x: Tensor, { cos, sin }: RotaryTables): Tensor {
  return tidy(() => {
    const c = cos.dim() === 3 ? cos.unsqueeze(1) : cos;
    const s = sin.dim() === 3 ? sin.unsqueeze(1) : sin;
    return x.mul(c).add(rotateHalf(x).mul(s));
  });
}
