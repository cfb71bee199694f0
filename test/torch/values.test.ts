// Op values against float64 formulas written out in plain JS, and (where PyTorch for Python
// is installed) against torch for Python on the same inputs.
import { torchPython } from '../../bench/lib/python';
import { execFileSync } from 'node:child_process';
import { torch, Tensor } from '../../lib';
import { uniformArray } from '../helpers/gradcheck';
import * as ref from '../helpers/reference';
import { expectClose } from '../helpers/reference';

const f64 = (data: ArrayLike<number>, shape: number[]) => torch.tensor(Float64Array.from(data), { shape, dtype: 'float64' });
const arr = (t: Tensor) => Array.from(t.toArray() as Float64Array);
const rows = (data: ArrayLike<number>, n: number, m: number) => Array.from({ length: n }, (_, i) => Array.from(data).slice(i * m, i * m + m));

describe('values against plain-JS float64 formulas', () => {
  it('softmax and logSoftmax along the last and the first dim', () => torch.tidy(() => {
    const d = uniformArray(15, 1, -3, 3);
    const x = f64(d, [3, 5]);
    const expLast = rows(d, 3, 5).flatMap(ref.softmax);
    expectClose(arr(x.softmax(-1)), expLast);
    expectClose(arr(torch.logSoftmax(x, 1)), expLast.map(Math.log), 1e-12, 1e-10);
    // dim 0: softmax down each column
    const cols = Array.from({ length: 5 }, (_, j) => ref.softmax([d[j], d[5 + j], d[10 + j]]));
    const expFirst = Array.from({ length: 15 }, (_, k) => cols[k % 5][Math.floor(k / 5)]);
    expectClose(arr(torch.softmax(x, 0)), expFirst);
  }));

  it('softmax of float32 input with dtype float64 computes in float64', () => torch.tidy(() => {
    const x = torch.tensor([[0.5, 1.5, -2]]);
    const y = x.softmax(1, { dtype: 'float64' });
    expect(y.dtype).toBe('float64');
    expectClose(arr(y), ref.softmax([0.5, 1.5, -2]));
  }));

  it('logsumexp, including large inputs that overflow a naive exp', () => torch.tidy(() => {
    const d = uniformArray(12, 2, -4, 4);
    expectClose(arr(f64(d, [3, 4]).logsumexp(1)), rows(d, 3, 4).map(ref.logsumexp));
    const big = f64([1000, 1001, 999], [3]).logsumexp(0);
    expect(big.shape).toEqual([]);
    expectClose([big.item() as number], [1001 + Math.log(1 + Math.exp(-1) + Math.exp(-2))], 1e-12, 1e-14);
    const kept = f64(d, [3, 4]).logsumexp([0, 1], true);
    expect(kept.shape).toEqual([1, 1]);
    expectClose(arr(kept), [ref.logsumexp(Array.from(d))]);
  }));

  it('layerNorm with and without affine parameters, custom eps', () => torch.tidy(() => {
    const d = uniformArray(12, 3, -2, 2);
    const w = uniformArray(4, 4, 0.5, 1.5);
    const b = uniformArray(4, 5, -1, 1);
    const x = f64(d, [3, 4]);
    expectClose(arr(torch.layerNorm(x, [4], f64(w, [4]), f64(b, [4]))), rows(d, 3, 4).flatMap((r) => ref.layerNorm(r, Array.from(w), Array.from(b), 1e-5)), 1e-12, 1e-10);
    expectClose(arr(torch.layerNorm(x, [4], null, null, 0.1)), rows(d, 3, 4).flatMap((r) => ref.layerNorm(r, null, null, 0.1)), 1e-12, 1e-10);
    // normalising over the last two dims at once
    expectClose(arr(torch.layerNorm(x.reshape(1, 3, 4), [3, 4])), ref.layerNorm(Array.from(d), null, null, 1e-5), 1e-12, 1e-10);
  }));

  it('gelu (erf form and tanh approximation), silu, softplus, sigmoid', () => torch.tidy(() => {
    const d = Array.from(uniformArray(20, 6, -5, 5)).concat([0, -0.5, 0.5, 8, -8]);
    const x = f64(d, [d.length]);
    expectClose(arr(x.gelu()), d.map(ref.geluErf), 1e-14, 1e-12);
    expectClose(arr(x.gelu('tanh')), d.map(ref.geluTanh), 1e-14, 1e-12);
    expectClose(arr(x.silu()), d.map((v) => v / (1 + Math.exp(-v))), 1e-14, 1e-12);
    expectClose(arr(x.sigmoid()), d.map((v) => 1 / (1 + Math.exp(-v))), 1e-14, 1e-12);
    // softplus(beta, threshold): log(1 + e^{beta x}) / beta, linear once beta x > threshold
    expectClose(arr(x.softplus(2, 10)), d.map((v) => (2 * v > 10 ? v : Math.log1p(Math.exp(2 * v)) / 2)), 1e-14, 1e-12);
  }));

  it('std and var: unbiased (default) and biased, all elements and along a dim', () => torch.tidy(() => {
    const d = uniformArray(12, 7, -3, 3);
    const x = f64(d, [3, 4]);
    const all = Array.from(d);
    expectClose([x.var().item() as number], [ref.variance(all)]);
    expectClose([x.std().item() as number], [Math.sqrt(ref.variance(all))]);
    expectClose([x.var(undefined, false, { unbiased: false }).item() as number], [ref.variance(all, false)]);
    expectClose(arr(x.std(1)), rows(d, 3, 4).map((r) => Math.sqrt(ref.variance(r))));
    expectClose(arr(x.var(1, false, { unbiased: false })), rows(d, 3, 4).map((r) => ref.variance(r, false)));
    const cols = Array.from({ length: 4 }, (_, j) => [d[j], d[4 + j], d[8 + j]]);
    const s0 = x.std(0, true);
    expect(s0.shape).toEqual([1, 4]);
    expectClose(arr(s0), cols.map((c) => Math.sqrt(ref.variance(c))));
  }));

  it('norm: p = 2 (default), 1, 3 and along a dim', () => torch.tidy(() => {
    const d = uniformArray(12, 8, -3, 3);
    const x = f64(d, [3, 4]);
    const all = Array.from(d);
    expectClose([x.norm().item() as number], [ref.pnorm(all, 2)]);
    expectClose([x.norm(1).item() as number], [ref.pnorm(all, 1)]);
    expectClose([x.norm(3).item() as number], [ref.pnorm(all, 3)]);
    expectClose(arr(x.norm(2, 1)), rows(d, 3, 4).map((r) => ref.pnorm(r, 2)));
    expectClose([f64([3, 4], [2]).norm().item() as number], [5], 0, 0);
  }));

  it('sum, mean, prod, max, min, argmax', () => torch.tidy(() => {
    const d = uniformArray(12, 9, -3, 3);
    const x = f64(d, [3, 4]);
    const r = rows(d, 3, 4);
    expectClose(arr(x.sum(1)), r.map((q) => q.reduce((a, b) => a + b)));
    expectClose(arr(x.mean(0)), [0, 1, 2, 3].map((j) => (d[j] + d[4 + j] + d[8 + j]) / 3));
    expectClose([x.prod().item() as number], [Array.from(d).reduce((a, b) => a * b)]);
    expectClose(arr(x.max(1)), r.map((q) => Math.max(...q)), 0, 0);
    expectClose(arr(x.min(0)), [0, 1, 2, 3].map((j) => Math.min(d[j], d[4 + j], d[8 + j])), 0, 0);
    const { values, indices } = x.maxWithIndices(1);
    expectClose(arr(values), r.map((q) => Math.max(...q)), 0, 0);
    expect(Array.from(indices.toArray() as BigInt64Array, Number)).toEqual(r.map((q) => q.indexOf(Math.max(...q))));
    expect(Number(x.argmax().item())).toBe(Array.from(d).indexOf(Math.max(...d)));
  }));

  it('matmul: 2-D, batched and vector cases', () => torch.tidy(() => {
    const a = uniformArray(12, 10);
    const b = uniformArray(8, 11);
    expectClose(arr(f64(a, [3, 4]).matmul(f64(b, [4, 2]))), ref.matmul(a, b, 3, 4, 2), 1e-14, 1e-12);
    const ab = uniformArray(24, 12);
    const out = f64(ab, [2, 3, 4]).matmul(f64(b, [4, 2]));
    expect(out.shape).toEqual([2, 3, 2]);
    expectClose(arr(out), [...ref.matmul(ab.subarray(0, 12), b, 3, 4, 2), ...ref.matmul(ab.subarray(12), b, 3, 4, 2)], 1e-14, 1e-12);
    const v = uniformArray(4, 13);
    const mv = f64(a, [3, 4]).matmul(f64(v, [4]));
    expect(mv.shape).toEqual([3]);
    expectClose(arr(mv), ref.matmul(a, v, 3, 4, 1), 1e-14, 1e-12);
    // float32 result within float32 rounding of the float64 product
    const f = torch.tensor(Float32Array.from(a), { shape: [3, 4] }).matmul(torch.tensor(Float32Array.from(b), { shape: [4, 2] }));
    expect(f.dtype).toBe('float32');
    expectClose(Array.from(f.toArray() as Float32Array), ref.matmul(Float32Array.from(a), Float32Array.from(b), 3, 4, 2), 1e-6, 1e-6);
  }));

  it('conv2d on a tiny case (padding 1, and stride 2)', () => torch.tidy(() => {
    const x = uniformArray(2 * 4 * 4, 14);
    const w = uniformArray(3 * 2 * 3 * 3, 15);
    const b = uniformArray(3, 16);
    const X = f64(x, [1, 2, 4, 4]);
    const Wt = f64(w, [3, 2, 3, 3]);
    const e1 = ref.conv2d(x, [2, 4, 4], w, [3, 2, 3, 3], b, 1, 1);
    const y1 = torch.conv2d(X, Wt, f64(b, [3]), { padding: 1 });
    expect(y1.shape).toEqual(e1.shape);
    expectClose(arr(y1), e1.data, 1e-14, 1e-12);
    const e2 = ref.conv2d(x, [2, 4, 4], w, [3, 2, 3, 3], null, 2, 0);
    const y2 = torch.conv2d(X, Wt, null, { stride: 2 });
    expect(y2.shape).toEqual(e2.shape);
    expectClose(arr(y2), e2.data, 1e-14, 1e-12);
  }));

  it('interpolate: nearest and bilinear (alignCorners false/true) on a 2x3 image', () => torch.tidy(() => {
    const img = [1, 2, 4, 8, 16, 32];
    const x = f64(img, [1, 1, 2, 3]);
    const near = torch.interpolate(x, { size: [4, 5] });
    expect(near.shape).toEqual([1, 1, 4, 5]);
    expectClose(arr(near), ref.resizeNearest(img, 2, 3, 4, 5), 0, 0);
    // nearest upsampling by 2 repeats each pixel into a 2x2 block
    expectClose(arr(torch.interpolate(x, { scaleFactor: 2, mode: 'nearest' })),
      [1, 1, 2, 2, 4, 4, 1, 1, 2, 2, 4, 4, 8, 8, 16, 16, 32, 32, 8, 8, 16, 16, 32, 32], 0, 0);
    expectClose(arr(torch.interpolate(x, { size: [3, 5], mode: 'bilinear' })), ref.resizeBilinear(img, 2, 3, 3, 5, false), 1e-14, 1e-12);
    expectClose(arr(torch.interpolate(x, { size: [3, 5], mode: 'bilinear', alignCorners: true })), ref.resizeBilinear(img, 2, 3, 3, 5, true), 1e-14, 1e-12);
    // align_corners keeps the corner pixels, the centre of a 2x2 -> 3x3 is the mean
    const c = torch.interpolate(f64([0, 4, 8, 12], [1, 1, 2, 2]), { size: 3, mode: 'bilinear', alignCorners: true });
    expectClose(arr(c), [0, 2, 4, 4, 6, 8, 8, 10, 12], 1e-14, 0);
  }));

  it('pad: constant with a value, reflect (1-D and 2-D), replicate', () => torch.tidy(() => {
    const x = f64([1, 2, 3, 4, 5, 6], [1, 2, 3]);
    const c = torch.pad(x, [1, 2, 0, 1], 'constant', 7);
    expect(c.shape).toEqual([1, 3, 6]);
    expectClose(arr(c), [7, 1, 2, 3, 7, 7, 7, 4, 5, 6, 7, 7, 7, 7, 7, 7, 7, 7], 0, 0);
    const r1 = torch.pad(x, [2, 2], 'reflect');
    expectClose(arr(r1), [3, 2, 1, 2, 3, 2, 1, 6, 5, 4, 5, 6, 5, 4], 0, 0);
    const img = uniformArray(12, 17);
    const r2 = torch.pad(f64(img, [1, 1, 3, 4]), [2, 1, 1, 2], 'reflect');
    expect(r2.shape).toEqual([1, 1, 6, 7]);
    const exp: number[] = [];
    for (let i = -1; i < 5; i++) for (let j = -2; j < 5; j++) exp.push(img[ref.reflectIndex(i, 3) * 4 + ref.reflectIndex(j, 4)]);
    expectClose(arr(r2), exp, 0, 0);
    expectClose(arr(torch.pad(x, [1, 2], 'replicate')), [1, 1, 2, 3, 3, 3, 4, 4, 5, 6, 6, 6], 0, 0);
  }));

  it('linspace, arange and eye', () => torch.tidy(() => {
    const l = torch.linspace(0, 1, 5);
    expect(l.dtype).toBe('float32');
    expect(Array.from(l.toArray() as Float32Array)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const l2 = torch.linspace(-1, 2, 7, { dtype: 'float64' });
    expectClose(arr(l2), [-1, -0.5, 0, 0.5, 1, 1.5, 2], 1e-15, 0);
    expectClose(arr(torch.linspace(3, -3, 4, { dtype: 'float64' })), [3, 1, -1, -3], 1e-15, 0);
    const a = torch.arange(5);
    expect(a.dtype).toBe('int64');
    expect(Array.from(a.toArray() as BigInt64Array)).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(Array.from(torch.arange(2, 11, 3).toArray() as BigInt64Array)).toEqual([2n, 5n, 8n]);
    expect(Array.from(torch.arange(5, 0, -2).toArray() as BigInt64Array)).toEqual([5n, 3n, 1n]);
    const af = torch.arange(1, 2, 0.25);
    expect(af.dtype).toBe('float32');
    expect(Array.from(af.toArray() as Float32Array)).toEqual([1, 1.25, 1.5, 1.75]);
    const a64 = torch.arange(0, 1, 0.1, { dtype: 'float64' });
    expect(a64.numel).toBe(10);
    expectClose(arr(a64), Array.from({ length: 10 }, (_, i) => i * 0.1), 1e-15, 0);
    expect(torch.eye(3).toNested()).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    const e23 = torch.eye(2, 3, { dtype: 'int32' });
    expect(e23.dtype).toBe('int32');
    expect(Array.from(e23.toArray() as Int32Array)).toEqual([1, 0, 0, 0, 1, 0]);
  }));

  it('where with tensor and scalar branches', () => torch.tidy(() => {
    const d = uniformArray(8, 18, -1, 1);
    const e = uniformArray(8, 19, -1, 1);
    const x = f64(d, [2, 4]);
    const y = f64(e, [2, 4]);
    const cond = x.gt(y);
    expect(cond.dtype).toBe('bool');
    expectClose(arr(torch.where(cond, x, y)), Array.from(d, (v, i) => Math.max(v, e[i])), 0, 0);
    expectClose(arr(torch.where(cond, x, -1)), Array.from(d, (v, i) => (v > e[i] ? v : -1)), 0, 0);
    expectClose(arr(torch.where(cond, 5, y)), Array.from(d, (v, i) => (v > e[i] ? 5 : e[i])), 0, 0);
    const ss = torch.where(torch.tensor([true, false, true]), 1.5, -2.5);
    expect(Array.from(ss.toArray() as Float32Array)).toEqual([1.5, -2.5, 1.5]);
    // broadcasting the condition
    const b = torch.where(torch.tensor([[true], [false]]), f64([1, 2, 3], [3]), f64([10, 20, 30], [3]));
    expect(b.toNested()).toEqual([[1, 2, 3], [10, 20, 30]]);
  }));

  it('cumsum through torch.ops.aten (no typed wrapper), float64 and int64, with a dtype keyword', () => torch.tidy(() => {
    const d = uniformArray(12, 20);
    const y = torch.ops.aten.cumsum(f64(d, [3, 4]), 1) as Tensor;
    expect(y).toBeInstanceOf(Tensor);
    expectClose(arr(y), rows(d, 3, 4).flatMap(ref.cumsum), 1e-15, 1e-13);
    const y0 = torch.ops.aten.cumsum(f64(d, [3, 4]), 0) as Tensor;
    const cols = [0, 1, 2, 3].map((j) => ref.cumsum([d[j], d[4 + j], d[8 + j]]));
    expectClose(arr(y0), Array.from({ length: 12 }, (_, k) => cols[k % 4][Math.floor(k / 4)]), 1e-15, 1e-13);
    const yi = torch.ops.aten.cumsum(torch.tensor([1n, 2n, 3n, 4n]), 0) as Tensor;
    expect(yi.dtype).toBe('int64');
    expect(Array.from(yi.toArray() as BigInt64Array)).toEqual([1n, 3n, 6n, 10n]);
    const yd = torch.ops.aten.cumsum(torch.tensor([1, 2, 3], { dtype: 'int32' }), 0, { dtype: 'float64' }) as Tensor;
    expect(yd.dtype).toBe('float64');
    expect(arr(yd)).toEqual([1, 3, 6]);
  }));

  it('scaledDotProductAttention: softmax(q k^T * scale + mask) v with bool, causal and float masks', () => torch.tidy(() => {
    const L = 3, S = 4, D = 5, Dv = 2;
    const q = uniformArray(L * D, 40), k = uniformArray(S * D, 41), v = uniformArray(S * Dv, 42);
    const boolMask = [[true, false, true, true], [true, true, false, true], [false, true, true, true]];
    const floatMask = uniformArray(L * S, 43, -1, 1);
    const reference = (scale: number, allowed: (i: number, j: number) => boolean, add: (i: number, j: number) => number) => {
      const out: number[] = [];
      for (let i = 0; i < L; i++) {
        const scores = Array.from({ length: S }, (_, j) => {
          let s = 0;
          for (let d = 0; d < D; d++) s += q[i * D + d] * k[j * D + d];
          return allowed(i, j) ? s * scale + add(i, j) : -Infinity;
        });
        const p = ref.softmax(scores);
        for (let e = 0; e < Dv; e++) out.push(p.reduce((acc, pj, j) => acc + pj * v[j * Dv + e], 0));
      }
      return out;
    };
    const Q = f64(q, [1, L, D]), K = f64(k, [1, S, D]), V = f64(v, [1, S, Dv]);
    const all = () => true, none = () => 0;
    const dflt = 1 / Math.sqrt(D);
    expectClose(arr(torch.scaledDotProductAttention(Q, K, V)), reference(dflt, all, none), 1e-14, 1e-12);
    expectClose(arr(torch.scaledDotProductAttention(Q, K, V, { attnMask: torch.tensor(boolMask) })), reference(dflt, (i, j) => boolMask[i][j], none), 1e-14, 1e-12);
    expectClose(arr(torch.scaledDotProductAttention(Q, K, V, { isCausal: true, scale: 0.3 })), reference(0.3, (i, j) => j <= i, none), 1e-14, 1e-12);
    expectClose(arr(torch.scaledDotProductAttention(Q, K, V, { attnMask: f64(floatMask, [L, S]) })), reference(dflt, all, (i, j) => floatMask[i * S + j]), 1e-14, 1e-12);
  }));

  it('dropout: identity when not training or p = 0, zeros at p = 1, else 0 or x / (1 - p)', () => torch.tidy(() => {
    const x = f64(uniformArray(10000, 44, 1, 2), [10000]);
    const xs = arr(x);
    expect(arr(torch.dropout(x, 0.5, false))).toEqual(xs);
    expect(arr(torch.dropout(x, 0))).toEqual(xs);
    expect(arr(torch.dropout(x, 1)).every((e) => e === 0)).toBe(true);
    const d = arr(torch.dropout(x, 0.25));
    let zeros = 0;
    d.forEach((e, i) => {
      if (e === 0) zeros++;
      else expect(Math.abs(e - xs[i] / 0.75)).toBeLessThan(1e-12);
    });
    expect(Math.abs(zeros / 10000 - 0.25)).toBeLessThan(0.03); // sd 0.004
  }));

  it('embedding picks rows; linear is x W^T + b', () => torch.tidy(() => {
    const w = uniformArray(12, 45);
    const e = torch.embedding(torch.tensor([[2n, 0n], [3n, 2n]]), f64(w, [4, 3]));
    expect(e.shape).toEqual([2, 2, 3]);
    expect(arr(e)).toEqual([2, 0, 3, 2].flatMap((r) => Array.from(w.subarray(r * 3, r * 3 + 3))));
    const x = uniformArray(6, 46), W = uniformArray(8, 47), b = uniformArray(4, 48);
    const Wt = Array.from({ length: 8 }, (_, t) => W[(t % 4) * 2 + Math.floor(t / 4)]); // [2,4] = W^T
    expectClose(arr(torch.linear(f64(x, [3, 2]), f64(W, [4, 2]), f64(b, [4]))), ref.matmul(x, Wt, 3, 2, 4).map((y, t) => y + b[t % 4]), 1e-14, 1e-12);
  }));

  it('torch.ops: overload resolution, keyword arguments, tuple returns, in-place returns', () => torch.tidy(() => {
    const a = f64([1, 2, 3], [3]);
    const b = f64([10, 20, 30], [3]);
    expect(arr(torch.ops.aten.add(a, b, { alpha: 2 }) as Tensor)).toEqual([21, 42, 63]);
    expect(arr(torch.ops.aten.add(a, 5) as Tensor)).toEqual([6, 7, 8]);
    expect(arr(torch.ops.aten.mul.Tensor(a, b) as Tensor)).toEqual([10, 40, 90]);
    const m = f64([1, 5, 7, 2], [2, 2]);
    expect(arr(torch.ops.aten.sum(m, 1) as Tensor)).toEqual([6, 9]);
    expect(arr(torch.ops.aten.sum(m) as Tensor)).toEqual([15]);
    const [values, indices] = torch.ops.aten.max(m, 1) as Tensor[];
    expect(arr(values)).toEqual([5, 7]);
    expect(Array.from(indices.toArray() as BigInt64Array)).toEqual([1n, 0n]);
    const c = a.clone();
    expect(torch.ops.aten.add_(c, 1)).toBe(c);
    expect(arr(c)).toEqual([2, 3, 4]);
    expect(arr(torch.ops.aten.neg.default(a) as Tensor)).toEqual([-1, -2, -3]);
    expect(torch.ops.aten.size(m, 1)).toBe(2);
  }));

  it('topk and sort: values and indices', () => torch.tidy(() => {
    const d = [0.3, -1.2, 2.5, 0.9, -0.4, 1.7];
    const x = f64(d, [6]);
    const order = d.map((v, i) => [v, i]).sort((p, q) => q[0] - p[0]);
    const top = x.topk(3);
    expect(arr(top.values)).toEqual(order.slice(0, 3).map((p) => p[0]));
    expect(Array.from(top.indices.toArray() as BigInt64Array, Number)).toEqual(order.slice(0, 3).map((p) => p[1]));
    const low = x.topk(2, -1, false);
    expect(arr(low.values)).toEqual([-1.2, -0.4]);
    expect(Array.from(low.indices.toArray() as BigInt64Array, Number)).toEqual([1, 4]);
    const asc = x.sort();
    expect(arr(asc.values)).toEqual([...d].sort((p, q) => p - q));
    expect(Array.from(asc.indices.toArray() as BigInt64Array, Number)).toEqual(order.map((p) => p[1]).reverse());
    const desc = f64([3, 1, 2, 9, 7, 8], [2, 3]).sort(1, true);
    expect(desc.values.toNested()).toEqual([[3, 2, 1], [9, 8, 7]]);
    expect(desc.indices.toNested()).toEqual([[0, 2, 1], [0, 2, 1]]);
  }));
});

// ---- against PyTorch for Python ---------------------------------------------------------
// The first python3 that imports torch: UNIMRG_PYTHON, python3 on PATH, then /usr/bin/python3.
const PYTHON = torchPython() ?? 'python3';
function pythonTorchVersion(): string | null {
  if (torchPython() === null) return null;
  return execFileSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60000 }).trim();
}
const pyVersion = pythonTorchVersion();
if (pyVersion === null) console.warn('values.test.ts: skipping the comparison with PyTorch for Python: no python3 (UNIMRG_PYTHON, PATH, /usr/bin/python3) imports torch');
const itPy = pyVersion === null ? it.skip : it;

const PY_SCRIPT = String.raw`
import json, sys, torch
import torch.nn.functional as F
inp = json.load(sys.stdin)
T = lambda k, shape: torch.tensor(inp[k], dtype=torch.float64).reshape(shape)
x = T('x', [3, 4]); w = T('w', [4]); b = T('b', [4])
img = T('img', [1, 2, 4, 4]); k = T('k', [3, 2, 3, 3]); kb = T('kb', [3])
a = T('a', [3, 4]); m = T('m', [4, 2])
out = {
  'softmax': F.softmax(x, dim=1),
  'log_softmax': F.log_softmax(x, dim=0),
  'logsumexp': torch.logsumexp(x, dim=1),
  'layer_norm': F.layer_norm(x, [4], w, b, eps=1e-5),
  'gelu': F.gelu(x),
  'gelu_tanh': F.gelu(x, approximate='tanh'),
  'std': torch.std(x, dim=1),
  'var_biased': torch.var(x, dim=0, unbiased=False),
  'norm3': torch.norm(x, p=3, dim=1),
  'matmul': a @ m,
  'conv2d': F.conv2d(img, k, kb, stride=1, padding=1),
  'conv2d_s2': F.conv2d(img, k, None, stride=2, padding=0),
  'bilinear': F.interpolate(img, size=(5, 7), mode='bilinear', align_corners=False),
  'bilinear_ac': F.interpolate(img, size=(3, 6), mode='bilinear', align_corners=True),
  'nearest': F.interpolate(img, size=(6, 3), mode='nearest'),
  'cumsum': torch.cumsum(x, dim=1),
  'pad_reflect': F.pad(img, (2, 1, 1, 2), mode='reflect'),
  'pad_const': F.pad(img, (1, 0, 2, 1), value=-3.0),
  'pad_replicate': F.pad(img, (0, 2, 1, 1), mode='replicate'),
  'nearest_sf': F.interpolate(img, scale_factor=1.5, mode='nearest'),
  'bilinear_sf': F.interpolate(img, scale_factor=1.5, mode='bilinear', align_corners=False),
  'bicubic': F.interpolate(img, size=(5, 6), mode='bicubic', align_corners=False),
  'area': F.interpolate(img, size=(2, 3), mode='area'),
  'softplus': F.softplus(x, beta=2, threshold=1),
  'conv2d_groups': F.conv2d(torch.cat([img, img], 1), k[:2].reshape(4, 1, 3, 3), None, padding=2, dilation=2, groups=4),
}
json.dump({k: {'shape': list(v.shape), 'data': v.reshape(-1).tolist()} for k, v in out.items()}, sys.stdout)
`;

describe(`values against PyTorch for Python (${pyVersion === null ? `skipped: ${PYTHON} cannot import torch` : `torch ${pyVersion} at ${PYTHON}`})`, () => {
  itPy('softmax, logsumexp, layerNorm, gelu, softplus, std/var, norm, matmul, conv2d, interpolate (all modes), cumsum and pad agree', () => torch.tidy(() => {
    const inp = {
      x: Array.from(uniformArray(12, 30, -2, 2)), w: Array.from(uniformArray(4, 31)), b: Array.from(uniformArray(4, 32)),
      img: Array.from(uniformArray(32, 33)), k: Array.from(uniformArray(54, 34)), kb: Array.from(uniformArray(3, 35)),
      a: Array.from(uniformArray(12, 36)), m: Array.from(uniformArray(8, 37)),
    };
    const py = JSON.parse(execFileSync(PYTHON, ['-c', PY_SCRIPT], { input: JSON.stringify(inp), encoding: 'utf8', timeout: 60000 })) as Record<string, { shape: number[]; data: number[] }>;
    const x = f64(inp.x, [3, 4]);
    const img = f64(inp.img, [1, 2, 4, 4]);
    const k = f64(inp.k, [3, 2, 3, 3]);
    const ours: Record<string, Tensor> = {
      softmax: x.softmax(1),
      log_softmax: x.logSoftmax(0),
      logsumexp: x.logsumexp(1),
      layer_norm: torch.layerNorm(x, [4], f64(inp.w, [4]), f64(inp.b, [4]), 1e-5),
      gelu: x.gelu(),
      gelu_tanh: x.gelu('tanh'),
      std: x.std(1),
      var_biased: x.var(0, false, { unbiased: false }),
      norm3: x.norm(3, 1),
      matmul: f64(inp.a, [3, 4]).matmul(f64(inp.m, [4, 2])),
      conv2d: torch.conv2d(img, k, f64(inp.kb, [3]), { stride: 1, padding: 1 }),
      conv2d_s2: torch.conv2d(img, k, null, { stride: 2, padding: 0 }),
      bilinear: torch.interpolate(img, { size: [5, 7], mode: 'bilinear', alignCorners: false }),
      bilinear_ac: torch.interpolate(img, { size: [3, 6], mode: 'bilinear', alignCorners: true }),
      nearest: torch.interpolate(img, { size: [6, 3], mode: 'nearest' }),
      cumsum: torch.ops.aten.cumsum(x, 1) as Tensor,
      pad_reflect: torch.pad(img, [2, 1, 1, 2], 'reflect'),
      pad_const: torch.pad(img, [1, 0, 2, 1], 'constant', -3),
      pad_replicate: torch.pad(img, [0, 2, 1, 1], 'replicate'),
      nearest_sf: torch.interpolate(img, { scaleFactor: 1.5, mode: 'nearest' }),
      bilinear_sf: torch.interpolate(img, { scaleFactor: 1.5, mode: 'bilinear' }),
      bicubic: torch.interpolate(img, { size: [5, 6], mode: 'bicubic' }),
      area: torch.interpolate(img, { size: [2, 3], mode: 'area' }),
      softplus: x.softplus(2, 1),
      conv2d_groups: torch.conv2d(torch.cat([img, img], 1), k.narrow(0, 0, 2).reshape(4, 1, 3, 3), null, { padding: 2, dilation: 2, groups: 4 }),
    };
    expect(Object.keys(ours).sort()).toEqual(Object.keys(py).sort());
    for (const [name, t] of Object.entries(ours)) {
      try {
        expect(t.shape).toEqual(py[name].shape);
        expectClose(arr(t), py[name].data, 1e-13, 1e-12);
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      }
    }
  }));
});
