// unimrg::multitask_linear_cross_entropy against the unfused float64 reference on explicit
// logits (hidden · weightᵀ + bias, then cross-entropy-reference.ts): values and gradients wrt
// hidden, weight, bias and the task weights, for several chunk sizes; bad input.
import { losses, torch, Tensor, TorchError } from '../../lib';
import { assertGradcheck, prng } from '../helpers/gradcheck';
import { expectClose } from '../helpers/reference';
import { f64, i64, makeCase, maxAbs, nums, referenceCE } from './cross-entropy-reference';

const { multitaskLinearCrossEntropy } = losses;

interface LinCase { N: number; H: number; V: number; T: number; h: number[]; w: number[]; b: number[]; targets: number[]; taskIds: number[] }

function makeLinCase(N: number, H: number, V: number, T: number, seed: number): LinCase {
  const r = prng(seed);
  const c = makeCase(N, V, T, seed + 1);
  return {
    N, H, V, T, targets: c.targets, taskIds: c.taskIds,
    h: Array.from({ length: N * H }, () => r() * 2 - 1),
    w: Array.from({ length: V * H }, () => (r() * 2 - 1) * 0.7),
    b: Array.from({ length: V }, () => r() * 2 - 1),
  };
}

interface Grads { loss: number; taskLoss: number[]; taskTokens: number[]; gh: number[]; gw: number[]; gb: number[] | null; gweights: number[] }

type Opts = { weights: number[]; bias: boolean; reduction?: 'mean' | 'sum'; labelSmoothing?: number; zLoss?: number; denominators?: number[] | null };

function runRef(c: LinCase, o: Opts, dtype: 'float64' | 'float32' | 'bfloat16' = 'float64'): Grads {
  return torch.tidy(() => {
    const round = (a: number[], s: number[]) => f64(nums(f64(a, s).to(dtype)), s);
    const h = round(c.h, [c.N, c.H]), w = round(c.w, [c.V, c.H]), b = round(c.b, [c.V]);
    const tw = f64(o.weights, [c.T]);
    for (const t of [h, w, b, tw]) t.requiresGrad = true;
    let logits = h.matmul(w.t());
    if (o.bias) logits = logits.add(b);
    // the task weights as a tensor: loss = sum_t w_t * part_t
    const parts = o.weights.map((_, t) => {
      const e = o.weights.map((__, k) => (k === t ? 1 : 0));
      return referenceCE(logits, c.targets, c.taskIds, { ...o, weights: e }).loss;
    });
    const loss = parts.reduce((acc: Tensor, p, t) => acc.add(p.mul(tw.narrow(0, t, 1).reshape([]))), torch.zeros([], { dtype: 'float64' }));
    const full = referenceCE(logits, c.targets, c.taskIds, o);
    loss.backward();
    return {
      loss: loss.item() as number, taskLoss: full.taskLoss, taskTokens: full.taskTokens,
      gh: nums(h.grad!), gw: nums(w.grad!), gb: o.bias ? nums(b.grad!) : null, gweights: nums(tw.grad!),
    };
  });
}

function runOurs(c: LinCase, o: Opts & { chunkSize?: number; fp32Accumulate?: boolean }, dtype: 'float64' | 'float32' | 'bfloat16' = 'float64'): Grads {
  return torch.tidy(() => {
    const h = f64(c.h, [c.N, c.H]).to(dtype), w = f64(c.w, [c.V, c.H]).to(dtype), b = f64(c.b, [c.V]).to(dtype);
    const tw = f64(o.weights, [c.T]).float();
    for (const t of [h, w, b, tw]) t.requiresGrad = true;
    const r = multitaskLinearCrossEntropy(h, w, i64(c.targets), i64(c.taskIds), {
      weights: tw, bias: o.bias ? b : null, reduction: o.reduction, labelSmoothing: o.labelSmoothing, zLoss: o.zLoss,
      denominators: o.denominators ?? null, chunkSize: o.chunkSize, fp32Accumulate: o.fp32Accumulate,
    });
    r.loss.backward();
    if (!o.bias) expect(b.grad).toBeNull();
    return {
      loss: r.loss.item() as number, taskLoss: nums(r.taskLoss), taskTokens: Array.from(r.taskTokens.toArray() as BigInt64Array, Number),
      gh: nums(h.grad!), gw: nums(w.grad!), gb: o.bias ? nums(b.grad!) : null, gweights: nums(tw.grad!),
    };
  });
}

function compare(ours: Grads, ref: Grads, atol: number, rtol: number): void {
  expectClose([ours.loss], [ref.loss], atol, rtol);
  expectClose(ours.taskLoss, ref.taskLoss, atol, rtol);
  expect(ours.taskTokens).toEqual(ref.taskTokens);
  const scaled = (a: number[], e: number[]) => expectClose(a, e, atol * maxAbs(e), rtol);
  scaled(ours.gh, ref.gh);
  scaled(ours.gw, ref.gw);
  if (ref.gb) scaled(ours.gb!, ref.gb);
  expectClose(ours.gweights, ref.gweights, Math.max(atol, 1e-6), Math.max(rtol, 1e-6)); // task weights are float32
}

describe('multitask_linear_cross_entropy equals cross-entropy over explicit logits', () => {
  let before = 0;
  beforeEach(() => { before = torch.memory().tensors; });
  afterEach(() => { expect(torch.memory().tensors).toBe(before); });

  const c = makeLinCase(29, 12, 37, 3, 40);
  for (const reduction of ['mean', 'sum'] as const) {
    for (const bias of [true, false]) {
      it(`float64, ${reduction}, ${bias ? 'with' : 'without'} bias, chunk sizes 0, 1, 7, 29, 100`, () => {
        const o = { weights: [1, 0.5, 2], bias, reduction, labelSmoothing: 0.1, zLoss: 1e-3 };
        const ref = runRef(c, o);
        for (const chunkSize of [0, 1, 7, 29, 100]) compare(runOurs(c, { ...o, chunkSize }), ref, 1e-12, 1e-10);
      });
    }
  }

  it('external denominators (one of them 0) are global, not per chunk', () => {
    const o = { weights: [1, 2, 3], bias: true, denominators: [40, 0, 3.5] };
    compare(runOurs(c, { ...o, chunkSize: 4 }), runRef(c, o), 1e-12, 1e-10);
  });

  it('float32 and bfloat16 (fp32 accumulation on and off)', () => {
    const o = { weights: [1, 0.5, 2], bias: true };
    compare(runOurs(c, { ...o, chunkSize: 8 }, 'float32'), runRef(c, o, 'float32'), 1e-5, 1e-5);
    const ref16 = runRef(c, o, 'bfloat16');
    compare(runOurs(c, { ...o, chunkSize: 8 }, 'bfloat16'), ref16, 3e-2, 3e-2);
    compare(runOurs(c, { ...o, chunkSize: 8, fp32Accumulate: false }, 'bfloat16'), ref16, 5e-2, 5e-2);
  });

  it('ignored tokens and empty tasks', () => {
    const d = makeLinCase(16, 6, 11, 4, 41);
    d.targets = d.targets.map((y, i) => (i % 3 === 0 ? -100 : y));
    d.taskIds = d.taskIds.map((t) => (t === 3 ? 0 : t)); // task 3 empty
    const o = { weights: [1, 1, 1, 1], bias: true };
    const ours = runOurs(d, { ...o, chunkSize: 5 });
    expect(ours.taskLoss[3]).toBe(0);
    compare(ours, runRef(d, o), 1e-12, 1e-10);
  });

  it('leading dimensions: hidden [B, S, H], targets [B, S], taskIds [B]', () => torch.tidy(() => {
    const B = 3, S = 4, H = 5, V = 9;
    const d = makeLinCase(B * S, H, V, 2, 42);
    d.taskIds = d.taskIds.map((_, i) => [1, 0, 1][Math.floor(i / S)]);
    const ref = runRef(d, { weights: [1, 2], bias: false });
    const h = f64(d.h, [B, S, H]);
    h.requiresGrad = true;
    const r = multitaskLinearCrossEntropy(h, f64(d.w, [V, H]), i64(d.targets).reshape(B, S), i64([1, 0, 1]), { weights: [1, 2], chunkSize: 5 });
    expectClose([r.loss.item() as number], [ref.loss], 1e-12, 1e-10);
    r.loss.backward();
    expect(h.grad!.shape).toEqual([B, S, H]);
    expectClose(nums(h.grad!), ref.gh, 1e-12, 1e-10);
  }));

  it('finite differences wrt hidden, weight and bias (float64)', () => torch.tidy(() => {
    const d = makeLinCase(5, 3, 7, 2, 43);
    const h = f64(d.h, [5, 3]), w = f64(d.w, [7, 3]), b = f64(d.b, [7]);
    for (const t of [h, w, b]) t.requiresGrad = true;
    assertGradcheck(([hh, ww, bb]) => multitaskLinearCrossEntropy(hh, ww, i64(d.targets), i64(d.taskIds), {
      weights: [1, 0.5], bias: bb, chunkSize: 2, labelSmoothing: 0.1, zLoss: 0.01,
    }).loss, [h, w, b]);
  }));

  it('under noGrad: the loss only', () => torch.tidy(() => {
    const h = f64(c.h, [c.N, c.H]);
    h.requiresGrad = true;
    const r = torch.noGrad(() => multitaskLinearCrossEntropy(h, f64(c.w, [c.V, c.H]), i64(c.targets), i64(c.taskIds), { weights: [1, 0.5, 2], chunkSize: 6 }));
    expect(r.loss.requiresGrad).toBe(false);
    expectClose([r.loss.item() as number], [runRef(c, { weights: [1, 0.5, 2], bias: false }).loss], 1e-12, 1e-10);
  }));

  it('a second backward through the same call is a clear error', () => torch.tidy(() => {
    const h = f64(c.h, [c.N, c.H]);
    h.requiresGrad = true;
    const r = multitaskLinearCrossEntropy(h, f64(c.w, [c.V, c.H]), i64(c.targets), i64(c.taskIds), { weights: [1, 1, 1] });
    r.loss.backward(undefined, { retainGraph: true });
    expect(() => r.loss.backward()).toThrow(/backward ran twice/);
  }));
});

describe('multitask_linear_cross_entropy: bad input', () => {
  const h = () => torch.randn([4, 3]);
  const w = () => torch.randn([6, 3]);
  const y = () => i64([0, 1, 2, 5]);
  const t = () => i64([0, 1, 0, 1]);
  const run = (hh: () => Tensor, ww: () => Tensor, yy: () => Tensor, opts: Parameters<typeof multitaskLinearCrossEntropy>[4]) =>
    () => torch.tidy(() => { multitaskLinearCrossEntropy(hh(), ww(), yy(), t(), opts); });

  it('reports clear errors', () => {
    expect(run(h, w, y, { weights: [1, 1], reduction: 'none' as 'mean' })).toThrow(/reduction 'none' is not supported/);
    expect(run(h, () => torch.randn([6, 4]), y, { weights: [1, 1] })).toThrow(/weight must be \[V, H\] with H = 3 \(from hidden\), got shape \[6, 4\]/);
    expect(run(h, () => torch.randn([6, 3], { dtype: 'float64' }), y, { weights: [1, 1] })).toThrow(/weight is float64 but hidden is float32/);
    expect(run(h, w, y, { weights: [1, 1], bias: torch.randn([5]) })).toThrow(/bias must be \[V\] with V = 6, got shape \[5\]/);
    expect(run(h, w, y, { weights: [1, 1], chunkSize: -1 })).toThrow(/chunk_size must be >= 0 \(0: pick from a 256 MiB budget\), got -1/);
    expect(run(h, w, () => i64([0, 1, 6, 2]), { weights: [1, 1], chunkSize: 2 })).toThrow(/target 6 at position 0 is out of range for 6 classes/);
    expect(run(h, w, y, { weights: [1, 1], chunkSize: 2 })).not.toThrow();
    expect(run(h, w, y, {})).toThrow(TorchError);
  });

  it('the native op refuses reduction none by itself', () => {
    const op = torch.ops.unimrg.multitask_linear_cross_entropy as (...a: unknown[]) => Tensor[];
    expect(() => torch.tidy(() => { op(h(), w(), y(), t(), torch.ones([2]), null, -100, 0, 0, null, 'none'); })).toThrow(/reduction 'none' is not supported/);
  });
});
