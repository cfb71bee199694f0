// unimrg::multitask_cross_entropy against an unfused float64 reference built from ATen ops
// (cross-entropy-reference.ts), values and gradients, every option; finite differences; bad input.
import { losses, torch, Tensor, TorchError } from '../../lib';
import { assertGradcheck } from '../helpers/gradcheck';
import { expectClose } from '../helpers/reference';
import { type Case, f64, i64, makeCase, maxAbs, nums, referenceCE, type RefOptions } from './cross-entropy-reference';

const { multitaskCrossEntropy } = losses;
type DT = 'float64' | 'float32' | 'bfloat16' | 'float16';

interface Run {
  loss: number[];
  taskLoss: number[];
  taskTokens: number[];
  grad: number[];
  gradW?: number[];
}

/** Random weights for the reduction 'none' backward: sum(loss * r). */
function rowWeights(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 0.5 + ((i * 7919) % 13) / 13);
}

/** Our op on c (logits rounded to dtype first), loss and d loss / d logits via backward. */
function runOurs(c: Case, dtype: DT, o: RefOptions & { inplace?: boolean; weightsGrad?: boolean }): Run {
  return torch.tidy(() => {
    const x = f64(c.x, [c.N, c.V]).to(dtype);
    x.requiresGrad = true;
    const w = torch.tensor(o.weights, { dtype: 'float32', requiresGrad: o.weightsGrad ?? false });
    const r = multitaskCrossEntropy(x, i64(c.targets), i64(c.taskIds), {
      weights: w, ignoreIndex: o.ignoreIndex, labelSmoothing: o.labelSmoothing, zLoss: o.zLoss,
      denominators: o.denominators ?? null, reduction: o.reduction, inplace: o.inplace,
    });
    const loss = nums(r.loss);
    const out = o.reduction === 'none' ? r.loss.mul(f64(rowWeights(c.N), [c.N]).to(r.loss.dtype)).sum() : r.loss;
    out.backward();
    return {
      loss, taskLoss: nums(r.taskLoss), taskTokens: Array.from(r.taskTokens.toArray() as BigInt64Array, Number),
      grad: nums(x.grad!), gradW: o.weightsGrad ? nums(w.grad!) : undefined,
    };
  });
}

/** The reference on the same (dtype-rounded) logits, in float64. */
function runRef(c: Case, dtype: DT, o: RefOptions): Run {
  return torch.tidy(() => {
    const rounded = nums(f64(c.x, [c.N, c.V]).to(dtype));
    const x = f64(rounded, [c.N, c.V]);
    x.requiresGrad = true;
    const r = referenceCE(x, c.targets, c.taskIds, o);
    const out = o.reduction === 'none' ? r.loss.mul(f64(rowWeights(c.N), [c.N])).sum() : r.loss;
    out.backward();
    return { loss: nums(r.loss), taskLoss: r.taskLoss, taskTokens: r.taskTokens, grad: nums(x.grad!) };
  });
}

function compare(c: Case, dtype: DT, o: RefOptions & { inplace?: boolean }, tol: { atol: number; rtol: number }): void {
  const ours = runOurs(c, dtype, o);
  const ref = runRef(c, dtype, o);
  expectClose(ours.loss, ref.loss, tol.atol, tol.rtol);
  expectClose(ours.taskLoss, ref.taskLoss, tol.atol, tol.rtol);
  expect(ours.taskTokens).toEqual(ref.taskTokens);
  // Gradients are scaled by w/D: compare with an absolute tolerance relative to their size.
  const gmax = Math.max(1e-30, maxAbs(ref.grad));
  expectClose(ours.grad, ref.grad, tol.atol * gmax + tol.atol, tol.rtol);
}

const TOL: Record<DT, { atol: number; rtol: number }> = {
  float64: { atol: 1e-12, rtol: 1e-10 },
  float32: { atol: 1e-5, rtol: 1e-5 },
  bfloat16: { atol: 1e-2, rtol: 1e-2 },
  float16: { atol: 1e-2, rtol: 1e-2 },
};

describe('multitask_cross_entropy against the unfused float64 reference', () => {
  let before = 0;
  beforeEach(() => { before = torch.memory().tensors; });
  afterEach(() => { expect(torch.memory().tensors).toBe(before); });

  // Random shapes: V never a multiple of 8 (vector tails), T up to 8.
  const shapes: [number, number, number][] = [[1, 1, 1], [5, 3, 2], [17, 13, 3], [33, 37, 8], [24, 129, 4], [9, 1001, 5], [40, 70, 7]];
  for (const dtype of ['float64', 'float32'] as DT[]) {
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      it(`${dtype}, reduction ${reduction}, random shapes`, () => {
        shapes.forEach(([N, V, T], k) => {
          const c = makeCase(N, V, T, 100 + k);
          compare(c, dtype, { weights: Array.from({ length: T }, (_, t) => 0.25 + t * 0.5), reduction }, TOL[dtype]);
        });
      });
    }
  }

  it('label smoothing and z-loss, alone and together, every reduction', () => {
    const c = makeCase(30, 61, 3, 7);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      for (const [labelSmoothing, zLoss] of [[0.1, 0], [0, 1e-3], [0.2, 0.05], [1, 0]]) {
        compare(c, 'float64', { weights: [1, 2, 0.5], reduction, labelSmoothing, zLoss }, TOL.float64);
        compare(c, 'float32', { weights: [1, 2, 0.5], reduction, labelSmoothing, zLoss }, TOL.float32);
      }
    }
  });

  it('a task with no valid token has L_t = 0 (not NaN) and no gradient', () => {
    const c = makeCase(20, 11, 4, 8, 0);
    c.taskIds = c.taskIds.map((t) => (t === 2 ? 1 : t)); // task 2 has no token
    c.targets = c.targets.map((y, i) => (c.taskIds[i] === 3 ? -100 : y)); // task 3: all ignored
    const ours = runOurs(c, 'float32', { weights: [1, 1, 1, 1] });
    expect(ours.taskTokens[2]).toBe(0);
    expect(ours.taskTokens[3]).toBe(0);
    expect(ours.taskLoss[2]).toBe(0);
    expect(ours.taskLoss[3]).toBe(0);
    expect(Number.isFinite(ours.loss[0])).toBe(true);
    compare(c, 'float64', { weights: [1, 1, 1, 1] }, TOL.float64);
  });

  it('every token ignored: loss 0, gradient 0, for every reduction', () => {
    const c = makeCase(12, 9, 2, 9, 1);
    expect(c.targets.every((y) => y === -100)).toBe(true);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const ours = runOurs(c, 'float32', { weights: [1, 3], reduction });
      expect(ours.loss.every((v) => v === 0)).toBe(true);
      expect(ours.grad.every((v) => v === 0)).toBe(true);
      expect(ours.taskTokens).toEqual([0, 0]);
    }
  });

  it('a custom ignore_index (and -100 then counts as an out-of-range target)', () => {
    const c = makeCase(25, 14, 3, 10, 0.3, 5);
    compare(c, 'float64', { weights: [1, 0.5, 2], ignoreIndex: 5 }, TOL.float64);
  });

  it('external denominators, one of them 0, every reduction', () => {
    const c = makeCase(28, 19, 3, 11);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      compare(c, 'float64', { weights: [1, 2, 3], denominators: [100, 0, 7.5], reduction }, TOL.float64);
      compare(c, 'float32', { weights: [1, 2, 3], denominators: [100, 0, 7.5], reduction }, TOL.float32);
    }
  });

  for (const dtype of ['bfloat16', 'float16'] as DT[]) {
    it(`${dtype} logits (math in float32, gradient in ${dtype}), rtol 1e-2`, () => {
      for (const reduction of ['mean', 'sum', 'none'] as const) {
        compare(makeCase(21, 77, 3, 12), dtype, { weights: [1, 0.5, 2], reduction, labelSmoothing: 0.1, zLoss: 1e-4 }, TOL[dtype]);
      }
      compare(makeCase(8, 1030, 2, 13), dtype, { weights: [1, 1] }, TOL[dtype]);
    });
  }

  it('the gradient has the logits dtype; the loss and taskLoss are float32', () => torch.tidy(() => {
    const x = torch.randn([4, 10], { dtype: 'bfloat16', requiresGrad: true });
    const r = multitaskCrossEntropy(x, i64([1, 2, 3, 4]), i64([0, 1, 0, 1]), { weights: [1, 1] });
    r.loss.backward();
    expect(x.grad!.dtype).toBe('bfloat16');
    expect(r.loss.dtype).toBe('float32');
    expect(r.taskLoss.dtype).toBe('float32');
    expect(r.taskTokens.dtype).toBe('int64');
    expect(r.taskLoss.requiresGrad).toBe(false);
  }));

  it('non-contiguous logits: a column slice (row stride > V) and a transpose (column stride != 1)', () => {
    const c = makeCase(13, 23, 3, 14);
    const ref = runRef(c, 'float64', { weights: [1, 2, 3] });
    torch.tidy(() => {
      // Column slice of a wider tensor: rows of 23 inside rows of 30.
      const wide = torch.randn([13, 30], { dtype: 'float64' });
      wide.narrow(1, 4, 23).copy_(f64(c.x, [13, 23]));
      wide.requiresGrad = true;
      const x = wide.narrow(1, 4, 23);
      expect(x.stride()).toEqual([30, 1]);
      const r = multitaskCrossEntropy(x, i64(c.targets), i64(c.taskIds), { weights: [1, 2, 3] });
      expectClose(nums(r.loss), ref.loss, 1e-12, 1e-10);
      r.loss.backward();
      const g = wide.grad!;
      expectClose(nums(g.narrow(1, 4, 23)), ref.grad, 1e-12, 1e-10);
      expect(nums(g.narrow(1, 0, 4)).every((v) => v === 0)).toBe(true);
      expect(nums(g.narrow(1, 27, 3)).every((v) => v === 0)).toBe(true);
    });
    torch.tidy(() => {
      const base = f64(c.x, [13, 23]).t().contiguous(); // [23, 13]
      base.requiresGrad = true;
      const x = base.t(); // [13, 23] with strides [1, 13]
      expect(x.stride()).toEqual([1, 13]);
      const r = multitaskCrossEntropy(x, i64(c.targets), i64(c.taskIds), { weights: [1, 2, 3] });
      expectClose(nums(r.loss), ref.loss, 1e-12, 1e-10);
      r.loss.backward();
      expectClose(nums(base.grad!.t()), ref.grad, 1e-12, 1e-10);
    });
  });

  it('leading dimensions: logits [B, S, V], targets [B, S], one task id per sequence [B]', () => {
    const B = 3, S = 5, V = 17;
    const c = makeCase(B * S, V, 3, 15);
    c.taskIds = c.taskIds.map((_, i) => [2, 0, 1][Math.floor(i / S)]);
    const ref = runRef(c, 'float64', { weights: [1, 2, 3], reduction: 'none' });
    torch.tidy(() => {
      const x = f64(c.x, [B, S, V]);
      x.requiresGrad = true;
      const y = torch.tensor(c.targets, { dtype: 'int64' }).reshape(B, S);
      const r = multitaskCrossEntropy(x, y, i64([2, 0, 1]), { weights: [1, 2, 3], reduction: 'none' });
      expect(r.loss.shape).toEqual([B, S]);
      expectClose(nums(r.loss), ref.loss, 1e-12, 1e-10);
      r.loss.mul(f64(rowWeights(B * S), [B, S])).sum().backward();
      expect(x.grad!.shape).toEqual([B, S, V]);
      expectClose(nums(x.grad!), ref.grad, 1e-12, 1e-10);
    });
  });

  it('int32 targets and task ids', () => {
    const c = makeCase(10, 12, 2, 16);
    const ref = runRef(c, 'float64', { weights: [1, 2] });
    torch.tidy(() => {
      const x = f64(c.x, [10, 12]);
      const r = multitaskCrossEntropy(x, i64(c.targets).int(), i64(c.taskIds).int(), { weights: [1, 2] });
      expectClose(nums(r.loss), ref.loss, 1e-12, 1e-10);
    });
  });

  it('inplace: same loss and gradient, written into the logits buffer (no N x V allocation)', () => {
    const c = makeCase(32, 45, 3, 17);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const o = { weights: [1, 2, 0.5], reduction, labelSmoothing: 0.1, zLoss: 1e-3 };
      const ref = runRef(c, 'float32', o);
      for (const dtype of ['float32', 'bfloat16'] as DT[]) {
        torch.tidy(() => {
          const x = f64(c.x, [32, 45]).to(dtype);
          x.requiresGrad = true;
          const bytes0 = torch.memory().bytes;
          const r = multitaskCrossEntropy(x, i64(c.targets), i64(c.taskIds), { ...o, inplace: true });
          // Live storages grew by the small outputs only (loss, taskLoss, taskTokens and the
          // task tensors made by the call), never by the 32 x 45 gradient.
          expect(torch.memory().bytes - bytes0).toBeLessThan(32 * 45 * 2);
          expectClose(nums(r.loss), ref.loss, TOL[dtype].atol, TOL[dtype].rtol);
          const out = reduction === 'none' ? r.loss.mul(f64(rowWeights(32), [32]).float()).sum() : r.loss;
          out.backward();
          const gmax = maxAbs(ref.grad);
          expectClose(nums(x.grad!), ref.grad, TOL[dtype].atol * gmax, TOL[dtype].rtol);
          // The logits were given up: they now hold the gradient (scaled in place for none).
          expectClose(nums(x.detach()), nums(x.grad!), 0, 0);
        });
      }
    }
  });

  it('inplace without a gradient leaves the logits untouched', () => torch.tidy(() => {
    const c = makeCase(6, 9, 2, 18);
    const x = f64(c.x, [6, 9]);
    const r = multitaskCrossEntropy(x, i64(c.targets), i64(c.taskIds), { weights: [1, 1], inplace: true });
    expect(Number.isFinite(r.loss.item() as number)).toBe(true);
    expectClose(nums(x), c.x, 0, 0);
  }));

  it('under noGrad no gradient is computed and the loss is the same', () => {
    const c = makeCase(14, 33, 2, 19);
    const ref = runRef(c, 'float32', { weights: [1, 2] });
    torch.tidy(() => {
      const x = f64(c.x, [14, 33]).float();
      x.requiresGrad = true;
      const r = torch.noGrad(() => multitaskCrossEntropy(x, i64(c.targets), i64(c.taskIds), { weights: [1, 2] }));
      expect(r.loss.requiresGrad).toBe(false);
      expectClose(nums(r.loss), ref.loss, 1e-5, 1e-5);
    });
  });

  it('gradient wrt the task weights (mean, sum, none) against the reference', () => {
    const c = makeCase(26, 15, 3, 20);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      for (const denominators of [null, [10, 0, 4]]) {
        const ours = runOurs(c, 'float64', { weights: [0.5, 1, 2], reduction, denominators, weightsGrad: true });
        const gradW = torch.tidy(() => {
          const x = f64(c.x, [26, 15]);
          const w = f64([0.5, 1, 2], [3]);
          w.requiresGrad = true;
          // reference loss as a function of w: sum_t w_t * (its part), via the same formula
          const parts = [0, 1, 2].map((t) => {
            const e = [0, 0, 0];
            e[t] = 1;
            const r = referenceCE(x, c.targets, c.taskIds, { weights: e, reduction, denominators });
            return reduction === 'none' ? r.loss.mul(f64(rowWeights(26), [26])).sum() : r.loss;
          });
          const total = parts.reduce((acc: Tensor, p, t) => acc.add(p.mul(w.narrow(0, t, 1).reshape([]))), torch.zeros([], { dtype: 'float64' }));
          total.backward();
          return nums(w.grad!);
        });
        expectClose(ours.gradW!, gradW, 1e-6, 1e-6); // weights are float32 in runOurs
      }
    }
  });

  it('NaN or Inf in the logits gives a NaN loss, never a crash', () => torch.tidy(() => {
    for (const bad of [NaN, Infinity]) {
      for (const dtype of ['float32', 'bfloat16', 'float64'] as DT[]) {
        const data = makeCase(4, 20, 2, 21, 0).x;
        data[25] = bad; // row 1
        const x = f64(data, [4, 20]).to(dtype);
        x.requiresGrad = true;
        const r = multitaskCrossEntropy(x, i64([1, 2, 3, 4]), i64([0, 0, 1, 1]), { weights: [1, 1] });
        expect(Number.isNaN(r.loss.item() as number)).toBe(true);
        r.loss.backward();
        const g = nums(x.grad!);
        expect(g.slice(20, 40).some(Number.isNaN)).toBe(true);
        expect(g.slice(40).every(Number.isFinite)).toBe(true); // other tasks' rows are clean
      }
    }
  }));

  it('masked vocabulary (-inf logits) is fine: those classes get probability 0', () => {
    const c = makeCase(6, 10, 1, 22, 0);
    c.targets = c.targets.map(() => 0);
    for (let i = 0; i < 6; i++) c.x[i * 10 + 7] = -Infinity;
    const ours = runOurs(c, 'float32', { weights: [1] });
    const ref = runRef(c, 'float64', { weights: [1] });
    expectClose(ours.loss, ref.loss, 1e-5, 1e-5);
    for (let i = 0; i < 6; i++) expect(ours.grad[i * 10 + 7]).toBe(0);
  });

  it('a second backward (retain_graph) recomputes the gradient from the logits; with inplace it is a clear error', () => torch.tidy(() => {
    const c = makeCase(7, 11, 2, 24);
    const x = f64(c.x, [7, 11]);
    x.requiresGrad = true;
    const r = multitaskCrossEntropy(x, i64(c.targets), i64(c.taskIds), { weights: [1, 2], labelSmoothing: 0.1 });
    r.loss.backward(undefined, { retainGraph: true });
    const g1 = nums(x.grad!);
    r.loss.mul(3).backward(); // accumulates 3 x the gradient
    expectClose(nums(x.grad!), g1.map((v) => 4 * v), 1e-15, 1e-12);

    const x2 = f64(c.x, [7, 11]);
    x2.requiresGrad = true;
    const r2 = multitaskCrossEntropy(x2, i64(c.targets), i64(c.taskIds), { weights: [1, 2], inplace: true });
    r2.loss.backward(undefined, { retainGraph: true });
    expect(() => r2.loss.backward()).toThrow(/impossible with inplace=true/);

    const x3 = f64(c.x, [7, 11]);
    const leaf = x3.clone();
    leaf.requiresGrad = true;
    const x3v = leaf.mul(1); // a non-leaf the user modifies after the forward
    const r3 = multitaskCrossEntropy(x3v, i64(c.targets), i64(c.taskIds), { weights: [1, 2] });
    r3.loss.backward(undefined, { retainGraph: true });
    torch.noGrad(() => x3v.add_(1));
    expect(() => r3.loss.backward()).toThrow(/modified in place since the forward/);
  }));

  it('large CPU gradients (>= 32 MiB, huge-page cache): a reused buffer is fully rewritten, a live one never shared', () => torch.tidy(() => {
    const N = 520, V = 16411; // 34 MB of float32
    const mk = (seed: number, pIgnore: number) => {
      torch.manualSeed(seed);
      const x = torch.randn([N, V]).mul(3);
      const y = torch.where(torch.rand([N]).lt(pIgnore), -100, torch.randint(0, V, [N]));
      return { x, y, t: torch.randint(0, 3, [N]) };
    };
    const A = mk(1, 0.0), B = mk(2, 0.5), C = mk(3, 0.9);
    const grad = (d: typeof A) => {
      const x = d.x.detach();
      x.requiresGrad = true;
      multitaskCrossEntropy(x, d.y, d.t, { numTasks: 3, labelSmoothing: 0.1 }).loss.backward();
      return x.grad!;
    };
    const same = (a: Tensor, b: Tensor) => a.eq(b).all().item();
    // References computed while all three are alive: three fresh (zero-filled) mappings. (jest
    // gives a test file its own process.env, so UNIMRG_CE_HUGEPAGES=0 cannot be set from here.)
    const ref = [A, B, C].map((d) => grad(d));
    const gA = grad(A);
    const gB = grad(B); // gA is alive: gB must get its own buffer
    expect(same(gA, ref[0])).toBe(true);
    expect(same(gB, ref[1])).toBe(true);
    torch.dispose([gA, gB]); // one of them goes to the cache
    const gC = grad(C); // reuses it: every row (90% ignored, so zero) rewritten
    expect(same(gC, ref[2])).toBe(true);
    expect(same(gC, ref[1])).toBe(false);
  }));

  it('large rows (V = 5000) use the vector path with tails; float32 matches float64', () => {
    const c = makeCase(6, 5003, 2, 23);
    compare(c, 'float32', { weights: [1, 2], labelSmoothing: 0.05, zLoss: 1e-4 }, TOL.float32);
  });
});

describe('finite-difference gradients (float64)', () => {
  it('wrt logits, every reduction, smoothing and z-loss', () => {
    const c = makeCase(6, 7, 3, 30, 0.2);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      torch.tidy(() => {
        const x = f64(c.x, [6, 7]);
        x.requiresGrad = true;
        assertGradcheck(([a]) => multitaskCrossEntropy(a, i64(c.targets), i64(c.taskIds), {
          weights: [1, 0.5, 2], reduction, labelSmoothing: 0.1, zLoss: 0.01,
        }).loss, [x]);
      });
    }
  });

  it('wrt the task weights', () => torch.tidy(() => {
    const c = makeCase(9, 5, 3, 31);
    const x = f64(c.x, [9, 5]);
    const w = f64([1, 0.5, 2], [3]);
    w.requiresGrad = true;
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      assertGradcheck(([ww]) => multitaskCrossEntropy(x, i64(c.targets), i64(c.taskIds), { weights: ww, reduction }).loss, [w]);
    }
  }));
});

describe('bad input gives a clear TorchError', () => {
  const x = () => torch.randn([4, 6]);
  const y = () => i64([0, 1, 2, 3]);
  const t = () => i64([0, 1, 0, 1]);
  const call = (o: Partial<{ x: Tensor; y: Tensor; t: Tensor | null }>, opts: Parameters<typeof multitaskCrossEntropy>[3]) =>
    () => torch.tidy(() => { multitaskCrossEntropy(o.x ?? x(), o.y ?? y(), o.t === undefined ? t() : o.t, opts); });

  it('target >= V or negative (other than ignore_index), found in the data', () => {
    expect(call({ y: i64([0, 6, 2, 3]) }, { weights: [1, 1] })).toThrow(/target 6 at position 1 is out of range for 6 classes/);
    expect(call({ y: i64([0, 1, -1, 3]) }, { weights: [1, 1] })).toThrow(/target -1 at position 2/);
    expect(call({ y: i64([0, 1, -1, 3]) }, { weights: [1, 1] })).toThrow(TorchError);
  });

  it('task id out of range', () => {
    expect(call({ t: i64([0, 2, 0, 1]) }, { weights: [1, 1] })).toThrow(/task id 2 at position 1 is out of range for 2 tasks/);
    expect(call({ t: i64([0, 1, -3, 1]) }, { weights: [1, 1] })).toThrow(/task id -3/);
  });

  it('weights: missing, wrong shape, empty, not numbers', () => {
    expect(call({}, {})).toThrow(/pass weights \(one per task\) or numTasks/);
    expect(call({}, { weights: torch.ones([2, 1]) })).toThrow(/weights must be 1-D/);
    expect(call({}, { weights: [] })).toThrow(/weights must be a non-empty array/);
    expect(call({}, { weights: [1, NaN] })).toThrow(/finite numbers/);
    expect(call({}, { weights: [1, 1], numTasks: 3 })).toThrow(/numTasks is 3 but weights has 2 entries/);
    expect(call({}, { weights: torch.ones([2], { dtype: 'int64' }) })).toThrow(/weights must be a floating tensor, got int64/);
  });

  it('denominators of the wrong length', () => {
    expect(call({}, { weights: [1, 1], denominators: [1, 2, 3] })).toThrow(/denominators must be 1-D \[T\] with T = 2 \(the length of weights\), got shape \[3\]/);
    expect(call({}, { weights: [1, 1], denominators: torch.ones([3]) })).toThrow(/denominators must be 1-D \[T\] with T = 2 \(the length of weights\), got shape \[3\]/);
  });

  it('shape and dtype mismatches', () => {
    expect(call({ y: i64([0, 1, 2]) }, { weights: [1, 1] })).toThrow(/targets have 3 elements but there are 4 rows/);
    expect(call({ y: torch.tensor([0, 1, 2, 3]) }, { weights: [1, 1] })).toThrow(/targets must be int64 or int32, got float32/);
    expect(call({ t: i64([0, 1]) }, { weights: [1, 1] })).toThrow(/taskIds must have the targets' shape/);
    expect(call({ t: torch.tensor([0, 1, 0, 1]) }, { weights: [1, 1] })).toThrow(/task_ids must be int64 or int32, got float32/);
    expect(call({ x: torch.ones([4, 6], { dtype: 'int64' }) }, { weights: [1, 1] })).toThrow(/logits must be float32, float16 or bfloat16 \(float64 on CPU\), got int64/);
    expect(call({ x: torch.ones([6]) }, { weights: [1, 1] })).toThrow(/logits must be \[N, V\]/);
  });

  it('options out of range', () => {
    expect(call({}, { weights: [1, 1], labelSmoothing: 1.5 })).toThrow(/label_smoothing must lie in \[0, 1\], got 1.5/);
    expect(call({}, { weights: [1, 1], zLoss: -1 })).toThrow(/z_loss must be a finite number >= 0, got -1/);
    expect(call({}, { weights: [1, 1], reduction: 'avg' as 'mean' })).toThrow(/reduction must be 'mean', 'sum' or 'none'/);
    expect(call({}, { weights: [1, 1], ignoreIndex: 0.5 })).toThrow(/argument 'ignore_index' \(int\) of unimrg::multitask_cross_entropy: expected an integer, got 0.5/);
  });

  it('the native op checks on its own too (called without the TS layer)', () => {
    const ce = torch.ops.unimrg.multitask_cross_entropy as (...a: unknown[]) => Tensor[];
    const run = (...a: unknown[]) => () => torch.tidy(() => { ce(...a); });
    expect(run(x(), y(), t(), torch.ones([2, 2]))).toThrow(/weights must be 1-D \[T\]/);
    expect(run(x(), y(), t(), torch.ones([2]), -100, 0, 0, torch.ones([3]))).toThrow(/denominators must be 1-D \[T\] with T = 2/);
    expect(run(x(), i64([0, 1]), t(), torch.ones([2]))).toThrow(/targets must be 1-D \[N\] with N = 4/);
    expect(run(x(), y(), torch.tensor([0, 1, 0, 1]), torch.ones([2]))).toThrow(/task_ids must be int64 or int32/);
    expect(run(torch.ones([4, 6], { dtype: 'int32' }), y(), t(), torch.ones([2]))).toThrow(/logits must be float32/);
    expect(run(x(), y(), t(), torch.ones([2]), -100, 0, 0, null, 'avg')).toThrow(/reduction must be 'mean', 'sum' or 'none'/);
    expect(run(x(), y(), t(), torch.ones([2]), -100, 2.0)).toThrow(/label_smoothing must lie in \[0, 1\]/);
    expect(run(x(), i64([0, 1, 9, 3]), t(), torch.ones([2]))).toThrow(/target 9 at position 2/);
    expect(run(x(), y(), t(), torch.ones([2])).bind(null)).not.toThrow();
  });

  it('nothing leaks when a call fails', () => {
    const before = torch.memory().tensors;
    const xs = x(), ys = i64([0, 9, 1, 1]), ts = t();
    expect(() => multitaskCrossEntropy(xs, ys, ts, { weights: [1, 1] })).toThrow(TorchError);
    torch.dispose([xs, ys, ts]);
    expect(torch.memory().tensors).toBe(before);
  });
});
