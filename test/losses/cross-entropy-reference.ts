// The unfused reference for the multitask cross-entropy tests: the contract of docs/kernels.md
// written with plain ATen ops (logsumexp, gather, masks) in float64. It never calls our kernel.
import { torch, Tensor } from '../../lib';
import { prng } from '../helpers/gradcheck';

export interface RefOptions {
  weights: number[];
  ignoreIndex?: number;
  labelSmoothing?: number;
  zLoss?: number;
  denominators?: number[] | null;
  reduction?: 'mean' | 'sum' | 'none';
}

export interface RefResult {
  loss: Tensor;
  taskLoss: number[];
  taskTokens: number[];
}

/** x: [N, V] float64 (may require grad); targets, taskIds: JS arrays of length N. */
export function referenceCE(x: Tensor, targets: number[], taskIds: number[], o: RefOptions): RefResult {
  const N = targets.length;
  const V = x.shape[1];
  const T = o.weights.length;
  const ii = o.ignoreIndex ?? -100;
  const eps = o.labelSmoothing ?? 0;
  const z = o.zLoss ?? 0;
  const valid = targets.map((y) => y !== ii);
  const ySafe = torch.tensor(targets.map((y, i) => (valid[i] ? y : 0)), { dtype: 'int64' }).reshape(N, 1);
  const lse = x.logsumexp(1);
  const xy = x.gather(1, ySafe).reshape(N);
  let l = lse.sub(xy).mul(1 - eps);
  if (eps !== 0) l = l.add(lse.sub(x.mean(1)).mul(eps));
  if (z !== 0) l = l.add(lse.mul(lse).mul(z));
  const mask = torch.tensor(valid.map((v) => (v ? 1 : 0)), { dtype: 'float64' });
  const lv = l.mul(mask);
  const counts = new Array<number>(T).fill(0);
  targets.forEach((_, i) => { if (valid[i]) counts[taskIds[i]]++; });
  const D = o.denominators ?? counts;
  const taskLoss: number[] = [];
  const sums: Tensor[] = [];
  for (let t = 0; t < T; t++) {
    const mt = torch.tensor(taskIds.map((k, i) => (k === t && valid[i] ? 1 : 0)), { dtype: 'float64' });
    const S = lv.mul(mt).sum();
    sums.push(S);
    taskLoss.push(D[t] !== 0 ? (S.item() as number) / D[t] : 0);
  }
  const reduction = o.reduction ?? 'mean';
  let loss: Tensor;
  if (reduction === 'none') {
    const f = torch.tensor(taskIds.map((t, i) => (valid[i] && D[t] !== 0 ? o.weights[t] / D[t] : 0)), { dtype: 'float64' });
    loss = lv.mul(f);
  } else {
    loss = torch.zeros([], { dtype: 'float64' });
    for (let t = 0; t < T; t++) {
      const c = reduction === 'sum' ? o.weights[t] : D[t] !== 0 ? o.weights[t] / D[t] : 0;
      loss = loss.add(sums[t].mul(c));
    }
  }
  return { loss, taskLoss, taskTokens: counts };
}

export interface Case {
  N: number;
  V: number;
  T: number;
  x: number[];
  targets: number[];
  taskIds: number[];
}

/** Random logits (scale 3), targets (some ignored with probability pIgnore), task ids. */
export function makeCase(N: number, V: number, T: number, seed: number, pIgnore = 0.15, ignoreIndex = -100): Case {
  const r = prng(seed);
  const x = Array.from({ length: N * V }, () => (r() * 2 - 1) * 3);
  const targets = Array.from({ length: N }, () => (r() < pIgnore ? ignoreIndex : Math.floor(r() * V)));
  const taskIds = Array.from({ length: N }, () => Math.floor(r() * T));
  return { N, V, T, x, targets, taskIds };
}

export const i64 = (a: number[]) => torch.tensor(a, { dtype: 'int64' });
export const f64 = (a: number[], shape: number[]) => torch.tensor(Float64Array.from(a), { shape, dtype: 'float64' });
export const nums = (t: Tensor) => Array.from(t.to('float64').contiguous().toArray() as Float64Array);

/** max |a_i| without spreading a (large arrays overflow the call stack as arguments). */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
