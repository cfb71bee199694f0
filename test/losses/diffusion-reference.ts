// The multitask diffusion loss written with plain ATen ops in float64, with the repeated rows
// materialised (task ids and mask repeated per row, one-hot task matrix), independent of the
// fused kernel: values and, through autograd, gradients.
import { torch, Tensor } from '../../lib';
import { prng } from '../helpers/gradcheck';

export interface RefInputs {
  pred: Tensor;
  target: Tensor;
  ids: Tensor;
  weights: Tensor;
  mask: Tensor | null;
  denominators: Tensor | null;
  repeat: number;
}

/** loss, taskLoss, taskWeight in float64 (differentiable in pred, target and weights). */
export function referenceLoss(x: RefInputs): { loss: Tensor; taskLoss: Tensor; taskWeight: Tensor } {
  const n = x.ids.shape[0];
  const tasks = x.weights.shape[0];
  const c = x.pred.shape[1];
  const k = x.repeat;
  const p = x.pred.to('float64');
  const q = x.target.to('float64');
  const err = p.sub(q).square().sum(1).div(c); // [rows]
  const idsRows = x.ids.to('int64').repeat(k); // draw-major: row d * n + i is token i
  const maskTok = x.mask === null ? torch.ones([n], { dtype: 'float64' }) : x.mask.to('float64');
  const maskRows = maskTok.repeat(k);
  const onehot = idsRows.unsqueeze(1).eq(torch.arange(tasks).unsqueeze(0)).to('float64'); // [rows, T]
  const num = onehot.mul(err.mul(maskRows).unsqueeze(1)).sum(0);
  const denom = x.denominators !== null ? x.denominators.to('float64') : onehot.mul(maskRows.unsqueeze(1)).sum(0);
  const zero = denom.eq(0);
  const safe = torch.where(zero, 1, denom);
  const taskLoss = torch.where(zero, 0, num.div(safe));
  const loss = x.weights.to('float64').mul(taskLoss).sum();
  return { loss, taskLoss, taskWeight: denom };
}

/** Uniform numbers in [lo, hi) from a seeded PRNG. */
export function numbers(n: number, seed: number, lo = -1, hi = 1): number[] {
  const r = prng(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** Integers in [0, hi) from a seeded PRNG. */
export function ints(n: number, seed: number, hi: number): number[] {
  const r = prng(seed);
  return Array.from({ length: n }, () => Math.min(hi - 1, Math.floor(r() * hi)));
}

/** As float64 numbers, whatever the dtype (float16/bfloat16 included). */
export function values(t: Tensor): number[] {
  return Array.from(t.detach().cpu().to('float64').contiguous().toArray() as Float64Array);
}

/** Largest absolute value (for tolerances of gradients that are small everywhere). */
export function maxAbs(xs: number[]): number {
  return xs.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}
