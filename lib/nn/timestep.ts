// Sinusoidal timestep features (DDPM / DiT / MAR / SANA): [cos(t·f_i), sin(t·f_i)] with
// f_i = maxPeriod^(-i/half), i < half; an odd width gets a zero column.
import * as creation from '../torch/creation';
import * as F from '../torch/functional';
import { tidy } from '../torch/scope';
import type { Tensor } from '../torch/tensor';

/** t [N] (any float or integer dtype) → [N, dim] float32. */
export function timestepEmbedding(t: Tensor, dim: number, maxPeriod = 10000): Tensor {
  return tidy(() => {
    const half = Math.floor(dim / 2);
    const freqs = creation.arange(0, half, 1, { dtype: 'float32', device: t.device }).mul(-Math.log(maxPeriod) / half).exp();
    const args = t.float().unsqueeze(1).mul(freqs.unsqueeze(0));
    const emb = F.cat([args.cos(), args.sin()], -1);
    return dim % 2 ? F.cat([emb, creation.zeros([t.shape[0], 1], { device: t.device })], -1) : emb;
  });
}
