// Finite-difference gradient checking in float64, independent of autograd:
// for L(x) = sum(f(x) * r) with a fixed random weight r, autograd's dL/dx is compared with
// central differences (L(x + eps e_j) - L(x - eps e_j)) / 2eps, element by element. The
// perturbed evaluations run under noGrad on fresh copies of the inputs, and L is summed in JS.
import { torch, Tensor } from '../../lib';

/** A small deterministic PRNG (mulberry32), so test data never depends on libtorch's RNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function product(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Uniform values in [lo, hi) as a Float64Array. */
export function uniformArray(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const r = prng(seed);
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
}

export interface RandOptions {
  lo?: number;
  hi?: number;
  /** Values with |x| below this are pushed away from zero (for abs, relu, div...). */
  awayFromZero?: number;
  requiresGrad?: boolean;
}

/** A float64 tensor of the given shape with deterministic uniform values. */
export function randT(shape: number[], seed: number, o: RandOptions = {}): Tensor {
  const data = uniformArray(product(shape), seed, o.lo ?? -1, o.hi ?? 1);
  if (o.awayFromZero) {
    for (let i = 0; i < data.length; i++) {
      if (Math.abs(data[i]) < o.awayFromZero) data[i] = data[i] < 0 ? data[i] - o.awayFromZero : data[i] + o.awayFromZero;
    }
  }
  const t = torch.tensor(data, { shape, dtype: 'float64' });
  if (o.requiresGrad ?? true) t.requiresGrad = true;
  return t;
}

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
}

export interface GradcheckMismatch {
  input: number;
  index: number;
  analytic: number;
  numeric: number;
}

export interface GradcheckReport {
  ok: boolean;
  /** Number of gradient elements compared. */
  checked: number;
  maxAbsErr: number;
  mismatches: GradcheckMismatch[];
}

function f64(t: Tensor): Float64Array {
  if (t.dtype !== 'float64') throw new Error(`gradcheck: expected a float64 tensor, got ${t.dtype}`);
  return t.toArray() as Float64Array;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Compares autograd's gradient of sum(fn(inputs) * r) with central differences for every
 * float64 input that requires grad (other inputs, e.g. int64 indices, are passed through).
 * Every tensor it creates is freed (torch.tidy); the inputs are left untouched.
 */
export function gradcheck(fn: (inputs: Tensor[]) => Tensor, inputs: Tensor[], o: GradcheckOptions = {}): GradcheckReport {
  const eps = o.eps ?? 1e-6;
  const atol = o.atol ?? 1e-5;
  const rtol = o.rtol ?? 1e-5;
  return torch.tidy(() => {
    const diff = inputs.map((t, i) => {
      if (!t.requiresGrad) return false;
      if (t.dtype !== 'float64') throw new Error(`gradcheck: input ${i} requires grad but is ${t.dtype}, not float64`);
      return true;
    });
    if (!diff.some(Boolean)) throw new Error('gradcheck: no input requires grad');

    // Analytic: autograd.grad of sum(f(x) * r).
    const out = fn(inputs);
    if (out.dtype !== 'float64') throw new Error(`gradcheck: fn returned ${out.dtype}, expected float64`);
    const rArr = uniformArray(out.numel, o.seed ?? 12345, -1, 1);
    const r = torch.tensor(rArr, { shape: out.shape, dtype: 'float64' });
    const loss = out.mul(r).sum();
    const wrt = inputs.filter((_, i) => diff[i]);
    const grads = torch.autograd.grad(loss, wrt, null, { allowUnused: true });
    const analytic = grads.map((g, k) => (g === null ? new Float64Array(wrt[k].numel) : f64(g.contiguous())));

    // Numeric: central differences on detached copies, L summed in JS.
    const L = (xs: Tensor[]): number => {
      const y = f64(fn(xs));
      if (y.length !== rArr.length) throw new Error('gradcheck: fn output size changed under perturbation');
      return dot(y, rArr);
    };
    const mismatches: GradcheckMismatch[] = [];
    let checked = 0;
    let maxAbsErr = 0;
    torch.noGrad(() => {
      const base = inputs.map((t) => t.detach());
      let k = 0;
      inputs.forEach((t, i) => {
        if (!diff[i]) return;
        const shape = t.shape;
        const x0 = f64(t.detach().contiguous());
        const a = analytic[k++];
        for (let j = 0; j < x0.length; j++) {
          const eval1 = (delta: number) => torch.tidy(() => {
            const x = Float64Array.from(x0);
            x[j] += delta;
            const xs = base.slice();
            xs[i] = torch.tensor(x, { shape, dtype: 'float64' });
            return L(xs);
          });
          const numeric = (eval1(eps) - eval1(-eps)) / (2 * eps);
          const err = Math.abs(numeric - a[j]);
          maxAbsErr = Math.max(maxAbsErr, err);
          checked++;
          if (!(err <= atol + rtol * Math.abs(numeric))) mismatches.push({ input: i, index: j, analytic: a[j], numeric });
        }
      });
    });
    return { ok: mismatches.length === 0, checked, maxAbsErr, mismatches };
  });
}

/** gradcheck that throws a readable Error listing the first mismatching elements. */
export function assertGradcheck(fn: (inputs: Tensor[]) => Tensor, inputs: Tensor[], o: GradcheckOptions = {}): GradcheckReport {
  const report = gradcheck(fn, inputs, o);
  if (!report.ok) {
    const lines = report.mismatches.slice(0, 8).map((m) => `  input ${m.input}[${m.index}]: autograd ${m.analytic}, finite differences ${m.numeric}`);
    throw new Error(`gradcheck failed on ${report.mismatches.length} of ${report.checked} elements:\n${lines.join('\n')}`);
  }
  if (report.checked === 0) throw new Error('gradcheck compared nothing');
  return report;
}
