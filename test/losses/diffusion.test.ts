// unimrg::multitask_diffusion_loss (CPU) against the formula written with plain ATen ops in
// float64 (test/losses/diffusion-reference.ts), a finite-difference gradient check, and the bad
// inputs; the noise helpers against their formulas.
import { torch, Tensor, TorchError } from '../../lib';
import type { DType } from '../../lib';
import { multitaskDiffusionLoss, type MultitaskDiffusionLossOptions } from '../../lib/losses/diffusion';
import { cosineAlphaBars, cosineSchedule, diffusionTarget, noisedInput, scheduleAt } from '../../lib/losses/noise';
import { op } from '../../lib/torch/op';
import { native } from '../../lib/native/binding';
import { assertGradcheck, prng } from '../helpers/gradcheck';
import { expectClose } from '../helpers/reference';
import { ints, maxAbs, numbers, referenceLoss, type RefInputs, values } from './diffusion-reference';

interface Case {
  n: number;
  c: number;
  tasks: number;
  repeat: number;
  mask: 'none' | 'float' | 'bool' | 'zeros';
  denominators: boolean;
  /** Task ids drawn from [0, usedTasks): tasks above get no tokens. */
  usedTasks: number;
  seed: number;
}

type Made = Omit<RefInputs, 'repeat'>;

/** Leaves of the given dtype (pred, target and weights require grad). */
function make(k: Case, dtype: DType = 'float32', idsDtype: DType = 'int64'): Made {
  const rows = k.n * k.repeat;
  const leaf = (data: number[], shape: number[], dt: DType) => {
    const t = torch.tensor(Float64Array.from(data), { shape, dtype: dt });
    t.requiresGrad = true;
    return t;
  };
  const pred = leaf(numbers(rows * k.c, k.seed, -2, 2), [rows, k.c], dtype);
  const target = leaf(numbers(rows * k.c, k.seed + 1, -2, 2), [rows, k.c], dtype);
  const weights = leaf(numbers(k.tasks, k.seed + 2, 0.1, 2), [k.tasks], dtype === 'float64' ? 'float64' : 'float32');
  const ids = torch.tensor(ints(k.n, k.seed + 3, k.usedTasks), { dtype: idsDtype });
  let mask: Tensor | null = null;
  if (k.mask === 'float') mask = torch.tensor(numbers(k.n, k.seed + 4, 0, 1).map((x) => (x < 0.3 ? 0 : x * 2)), { dtype: 'float32' });
  if (k.mask === 'bool') mask = torch.tensor(numbers(k.n, k.seed + 4, 0, 1).map((x) => x > 0.4));
  if (k.mask === 'zeros') mask = torch.zeros([k.n]);
  const denominators = k.denominators ? torch.tensor(numbers(k.tasks, k.seed + 5, 1, 50).map((x, i) => (i === 0 ? 0 : x)), { dtype: 'float32' }) : null;
  return { pred, target, ids, weights, mask, denominators };
}

function run(m: Made, repeat: number) {
  const opts: MultitaskDiffusionLossOptions = { weights: m.weights, mask: m.mask, denominators: m.denominators, repeat };
  return multitaskDiffusionLoss(m.pred, m.target, m.ids, opts);
}

/** The op's and the reference's values and gradients (pred, target, weights). */
function compare(m: Made, repeat: number, rtol: number, atol: number) {
  const out = run(m, repeat);
  const go = out.loss.requiresGrad;
  expect(go).toBe(true);
  expect(out.taskLoss.requiresGrad).toBe(false);
  expect(out.taskWeight.requiresGrad).toBe(false);
  out.loss.backward();
  // The reference runs on float64 copies of the (possibly rounded) inputs.
  const leaf = (t: Tensor) => t.detach().to('float64', { copy: true }).requiresGrad_();
  const r = { pred: leaf(m.pred), target: leaf(m.target), weights: leaf(m.weights) };
  const ref = referenceLoss({ ...m, ...r, repeat });
  ref.loss.backward();
  expectClose(values(out.loss), values(ref.loss), atol, rtol);
  expectClose(values(out.taskLoss), values(ref.taskLoss), atol, rtol);
  expectClose(values(out.taskWeight), values(ref.taskWeight), 0, 1e-6);
  const gp = values(r.pred.grad!);
  expectClose(values(m.pred.grad!), gp, atol + rtol * maxAbs(gp), rtol);
  expectClose(values(m.target.grad!), values(r.target.grad!), atol + rtol * maxAbs(gp), rtol);
  expectClose(values(m.weights.grad!), values(r.weights.grad!), atol, rtol);
  for (const x of [...values(out.loss), ...values(out.taskLoss), ...values(m.pred.grad!)]) expect(Number.isFinite(x)).toBe(true);
  return out;
}

function randomCase(seed: number): Case {
  const r = prng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const tasks = 1 + Math.floor(r() * 8);
  return {
    n: pick([1, 5, 17, 40]),
    c: pick([1, 3, 16, 33, 100]),
    tasks,
    repeat: pick([1, 4]),
    mask: pick(['none', 'float', 'bool', 'float'] as const),
    denominators: r() < 0.25,
    usedTasks: Math.max(1, tasks - Math.floor(r() * 3)), // often leaves the last tasks empty
    seed: 1000 + seed * 17,
  };
}

describe('multitaskDiffusionLoss (CPU) against the float64 ATen reference', () => {
  it('random shapes: T up to 8, empty tasks, masks, external denominators, repeat 1 and 4 (float32 and float64)', () => {
    for (let s = 0; s < 24; s++) {
      torch.tidy(() => {
        const k = randomCase(s);
        compare(make(k, 'float32'), k.repeat, 2e-5, 1e-7);
        compare(make(k, 'float64'), k.repeat, 1e-11, 1e-14);
      });
    }
  });

  it('a task with no tokens and a task whose tokens are all masked give L_t = 0 and D_t = 0, never NaN', () => torch.tidy(() => {
    const m = make({ n: 6, c: 4, tasks: 3, repeat: 2, mask: 'none', denominators: false, usedTasks: 2, seed: 7 });
    m.ids = torch.tensor([0, 0, 1, 1, 0, 1], { dtype: 'int64' });
    m.mask = torch.tensor([1, 1, 0, 0, 0.5, 0]);
    const out = compare(m, 2, 2e-5, 1e-7);
    expect(values(out.taskWeight)).toEqual([5, 0, 0]); // 2 * (1 + 1 + 0.5), 0, 0
    expect(values(out.taskLoss).slice(1)).toEqual([0, 0]);
    const g = values(m.pred.grad!);
    for (let row = 0; row < 12; row++) {
      const tok = row % 6;
      if (tok === 2 || tok === 3 || tok === 5) expect(g.slice(row * 4, row * 4 + 4)).toEqual([0, 0, 0, 0]);
    }
  }));

  it('an all-zero mask gives loss 0, zero gradients and zero denominators', () => torch.tidy(() => {
    const m = make({ n: 9, c: 5, tasks: 4, repeat: 4, mask: 'zeros', denominators: false, usedTasks: 4, seed: 8 });
    const out = compare(m, 4, 1e-6, 1e-9);
    expect(out.loss.item()).toBe(0);
    expect(values(out.taskLoss)).toEqual([0, 0, 0, 0]);
    expect(values(out.taskWeight)).toEqual([0, 0, 0, 0]);
    expect(maxAbs(values(m.pred.grad!))).toBe(0);
  }));

  it('masked rows are skipped outright: inf / NaN in a masked row does not reach the loss or the gradient', () => torch.tidy(() => {
    const pred = torch.tensor([[1, 2], [Infinity, NaN], [0, 1]], { dtype: 'float32', requiresGrad: true });
    const target = torch.zeros([3, 2]);
    const out = multitaskDiffusionLoss(pred, target, torch.tensor([0, 0, 1], { dtype: 'int64' }), { weights: [1, 1], mask: torch.tensor([1, 0, 1]) });
    expectClose(values(out.taskLoss), [5 / 2, 1 / 2], 1e-7, 1e-7); // (1 + 4) / C / D with C = 2, D = 1
    out.loss.backward();
    expect(values(pred.grad!)).toEqual([1, 2, 0, 0, 0, 1]); // 2 (p - t) / (C D)
  }));

  it('repeat k = 4 equals repeat 1 with task ids and mask materialised per row (draw-major)', () => torch.tidy(() => {
    const k = { n: 13, c: 7, tasks: 5, repeat: 4, mask: 'float', denominators: false, usedTasks: 4, seed: 9 } as const;
    const m = make(k, 'float64');
    const a = run(m, 4);
    const b = multitaskDiffusionLoss(m.pred, m.target, m.ids.repeat(4), { weights: m.weights, mask: m.mask!.repeat(4), repeat: 1 });
    expectClose(values(a.loss), values(b.loss), 0, 1e-13);
    expectClose(values(a.taskLoss), values(b.taskLoss), 0, 1e-13);
    expectClose(values(a.taskWeight), values(b.taskWeight), 0, 1e-15);
    // Token-major rows (repeat_interleave) would be a different loss: the layout matters.
    const tokenMajor = multitaskDiffusionLoss(m.pred, m.target, m.ids.repeat(4).reshape([4, 13]).t().flatten(), { weights: m.weights, mask: m.mask!.repeat(4), repeat: 1 });
    expect(Math.abs((tokenMajor.loss.item() as number) - (a.loss.item() as number))).toBeGreaterThan(1e-6);
  }));

  it('bfloat16 and float16 inputs (float32 math, rtol 1e-2), gradients in the input dtype', () => {
    for (const dtype of ['bfloat16', 'float16'] as const) {
      for (let s = 0; s < 6; s++) {
        torch.tidy(() => {
          const k = randomCase(100 + s);
          const m = make(k, dtype);
          const out = compare(m, k.repeat, 1e-2, 1e-6);
          expect(out.loss.dtype).toBe('float32');
          expect(m.pred.grad!.dtype).toBe(dtype);
        });
      }
    }
  });

  it('non-contiguous pred (a transposed view and a column slice) and int32 task ids', () => torch.tidy(() => {
    const n = 11, c = 6, tasks = 3, repeat = 2;
    const rows = n * repeat;
    const base = torch.tensor(Float64Array.from(numbers(rows * c, 21)), { shape: [c, rows], dtype: 'float64' }).requiresGrad_();
    const pred = base.t();
    expect(pred.isContiguous()).toBe(false);
    const wide = torch.tensor(Float64Array.from(numbers(rows * 2 * c, 22)), { shape: [rows, 2 * c], dtype: 'float64' });
    const target = wide.narrow(1, 3, c);
    expect(target.isContiguous()).toBe(false);
    const ids = torch.tensor(ints(n, 23, tasks), { dtype: 'int32' });
    const weights = torch.tensor([0.5, 1, 2], { dtype: 'float64' });
    const out = multitaskDiffusionLoss(pred, target, ids, { weights, repeat });
    out.loss.backward();
    const rp = pred.detach().contiguous().requiresGrad_();
    const ref = referenceLoss({ pred: rp, target: target.contiguous(), ids, weights, mask: null, denominators: null, repeat });
    ref.loss.backward();
    expectClose(values(out.loss), values(ref.loss), 1e-14, 1e-12);
    expectClose(values(base.grad!.t()), values(rp.grad!), 1e-14, 1e-12);
  }));

  it('finite differences in float64 (pred, target, weights; mask, repeat 2, an empty task)', () => torch.tidy(() => {
    const n = 4, c = 3, repeat = 2;
    const leaf = (seed: number, shape: number[]) =>
      torch.tensor(Float64Array.from(numbers(shape.reduce((a, b) => a * b, 1), seed)), { shape, dtype: 'float64' }).requiresGrad_();
    const ids = torch.tensor([0, 2, 2, 0], { dtype: 'int64' });
    const mask = torch.tensor([1, 0.5, 0, 2], { dtype: 'float64' });
    const fn = ([p, t, w]: Tensor[]) => multitaskDiffusionLoss(p, t, ids, { weights: w, mask, repeat }).loss;
    const report = assertGradcheck(fn, [leaf(31, [n * repeat, c]), leaf(32, [n * repeat, c]), leaf(33, [3])]);
    expect(report.checked).toBe(2 * n * repeat * c + 3);
    const den = torch.tensor([3, 0, 7], { dtype: 'float64' });
    const fn2 = ([p, t, w]: Tensor[]) => multitaskDiffusionLoss(p, t, ids, { weights: w, denominators: den, repeat }).loss;
    assertGradcheck(fn2, [leaf(34, [n * repeat, c]), leaf(35, [n * repeat, c]), leaf(36, [3])]);
  }));

  it('backward scales the saved gradient: an upstream factor, retainGraph twice, and noGrad', () => torch.tidy(() => {
    const m = make({ n: 8, c: 4, tasks: 2, repeat: 1, mask: 'none', denominators: false, usedTasks: 2, seed: 41 }, 'float64');
    const out = run(m, 1);
    const y = out.loss.mul(3);
    y.backward(undefined, { retainGraph: true });
    const g1 = values(m.pred.grad!);
    y.backward();
    const g2 = values(m.pred.grad!);
    expectClose(g2, g1.map((x) => 2 * x), 1e-15, 1e-12);
    const r = { pred: m.pred.detach().clone().requiresGrad_() };
    referenceLoss({ ...m, ...r, repeat: 1 }).loss.mul(3).backward();
    expectClose(g1, values(r.pred.grad!), 1e-15, 1e-12);

    const ng = torch.noGrad(() => run(m, 1));
    expect(ng.loss.requiresGrad).toBe(false);
    expectClose(values(ng.loss), values(out.loss), 0, 0);
    const frozen = multitaskDiffusionLoss(m.pred.detach(), m.target.detach(), m.ids, { weights: m.weights.detach() });
    expect(frozen.loss.requiresGrad).toBe(false);
  }));

  it('weights as numbers, N = 0 tokens, results deterministic, and tidy frees everything', () => {
    const before = torch.memory().tensors;
    torch.tidy(() => {
      const m = make({ n: 30, c: 20, tasks: 4, repeat: 4, mask: 'float', denominators: false, usedTasks: 4, seed: 51 });
      const a = multitaskDiffusionLoss(m.pred, m.target, m.ids, { weights: [1, 1, 1, 1], mask: m.mask, repeat: 4 });
      const b = multitaskDiffusionLoss(m.pred, m.target, m.ids, { weights: torch.ones([4]), mask: m.mask, repeat: 4 });
      expect(values(a.loss)).toEqual(values(b.loss));
      expect(values(a.taskLoss)).toEqual(values(b.taskLoss));
      const empty = multitaskDiffusionLoss(torch.zeros([0, 3]), torch.zeros([0, 3]), torch.zeros([0], { dtype: 'int64' }), { weights: [1, 2], repeat: 3 });
      expect(empty.loss.item()).toBe(0);
      expect(values(empty.taskWeight)).toEqual([0, 0]);
    });
    expect(torch.memory().tensors).toBe(before);
  });
});

// ---- bad inputs ---------------------------------------------------------------------------
function caught(fn: () => unknown): TorchError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TorchError);
    expect((e as Error).message).not.toMatch(/\n|Exception raised from/);
    return e as TorchError;
  }
  throw new Error('expected a TorchError, nothing was thrown');
}

describe('multitaskDiffusionLoss bad inputs: a readable TorchError, and the next call works', () => {
  const good = () => ({
    pred: torch.zeros([6, 4]), target: torch.ones([6, 4]), ids: torch.tensor([0, 1, 1], { dtype: 'int64' }),
    weights: torch.tensor([1, 2]), mask: torch.ones([3]), denominators: torch.tensor([1, 1]),
  });
  const works = () => {
    const g = good();
    const out = multitaskDiffusionLoss(g.pred, g.target, g.ids, { weights: g.weights, mask: g.mask, repeat: 2 });
    expectClose(values(out.taskLoss), [1, 1], 1e-7, 1e-7);
  };
  const cases: [string, RegExp, (g: ReturnType<typeof good>) => unknown][] = [
    ['target shape differs from pred', /target shape \[6, 3\] does not match pred shape \[6, 4\]/,
      (g) => multitaskDiffusionLoss(g.pred, torch.zeros([6, 3]), g.ids, { weights: g.weights, repeat: 2 })],
    ['pred rows are not tokens * repeat', /pred has 6 rows but task_ids has 3 tokens and repeat is 4, so 12 rows were expected/,
      (g) => multitaskDiffusionLoss(g.pred, g.target, g.ids, { weights: g.weights, repeat: 4 })],
    ['pred is not 2-D', /pred must be 2-D/,
      (g) => multitaskDiffusionLoss(g.pred.reshape([6, 2, 2]), g.target.reshape([6, 2, 2]), g.ids, { weights: g.weights, repeat: 2 })],
    ['weights are not 1-D', /weights must be 1-D \[tasks\]/,
      (g) => multitaskDiffusionLoss(g.pred, g.target, g.ids, { weights: torch.ones([2, 1]), repeat: 2 })],
    ['mask has the length of the repeated rows', /mask has 6 elements but tokens is 3/,
      (g) => multitaskDiffusionLoss(g.pred, g.target, g.ids, { weights: g.weights, mask: torch.ones([6]), repeat: 2 })],
    ['denominators have the wrong length', /denominators has 3 elements but tasks \(the length of weights\) is 2/,
      (g) => multitaskDiffusionLoss(g.pred, g.target, g.ids, { weights: g.weights, denominators: [1, 2, 3], repeat: 2 })],
    ['pred and target dtypes differ', /target dtype float64 does not match pred dtype float32/,
      (g) => multitaskDiffusionLoss(g.pred, g.target.double(), g.ids, { weights: g.weights, repeat: 2 })],
    ['integer pred', /pred must be float32, float64, float16 or bfloat16, got int64/,
      (g) => multitaskDiffusionLoss(g.pred.long(), g.target.long(), g.ids, { weights: g.weights, repeat: 2 })],
    ['float task ids', /task_ids must be int64 or int32, got float32/,
      (g) => multitaskDiffusionLoss(g.pred, g.target, g.ids.float(), { weights: g.weights, repeat: 2 })],
    ['repeat 0', /repeat \(noise draws per token\) must be >= 1, got 0/,
      (g) => multitaskDiffusionLoss(g.pred, g.target, g.ids, { weights: g.weights, repeat: 0 })],
    ['no weights', /weights .* is required/,
      (g) => multitaskDiffusionLoss(g.pred, g.target, g.ids, {} as MultitaskDiffusionLossOptions)],
    ['a mask that requires grad', /mask is not differentiable/,
      (g) => multitaskDiffusionLoss(g.pred, g.target, g.ids, { weights: g.weights, mask: torch.ones([3], { requiresGrad: true }), repeat: 2 })],
    ['task id out of range (checked natively on CPU)', /task_ids\[1\] = 2 is out of range: weights has 2 tasks/,
      (g) => multitaskDiffusionLoss(g.pred, g.target, torch.tensor([0, 2, 1], { dtype: 'int64' }), { weights: g.weights, repeat: 2 })],
    ['negative task id', /task_ids\[0\] = -1 is out of range/,
      (g) => multitaskDiffusionLoss(g.pred, g.target, torch.tensor([-1, 0, 1], { dtype: 'int64' }), { weights: g.weights, repeat: 2 })],
  ];
  for (const [name, re, fn] of cases) {
    it(name, () => torch.tidy(() => {
      const e = caught(() => fn(good()));
      expect(e.message).toMatch(re);
      works();
    }));
  }

  // The same checks in the op itself, for callers that skip the TypeScript layer (and PyTorch).
  const raw = op('unimrg::multitask_diffusion_loss');
  const call = (...args: unknown[]) => native.call(raw.id, ...args);
  const nativeCases: [string, RegExp, (g: ReturnType<typeof good>) => unknown][] = [
    ['shape mismatch', /target shape \[6, 3\] does not match pred shape \[6, 4\]/, (g) => call(g.pred._h, torch.zeros([6, 3])._h, g.ids._h, g.weights._h, null, null, 2)],
    ['rows != tokens * repeat', /pred has 6 rows but task_ids has 3 tokens and repeat is 1, so 3 rows were expected/, (g) => call(g.pred._h, g.target._h, g.ids._h, g.weights._h, null, null, 1)],
    ['task id out of range', /task_ids\[2\] = 5 is out of range/, (g) => call(g.pred._h, g.target._h, torch.tensor([0, 1, 5], { dtype: 'int64' })._h, g.weights._h, null, null, 2)],
    ['weights not 1-D', /weights must be 1-D \[tasks\], got shape \[1, 2\]/, (g) => call(g.pred._h, g.target._h, g.ids._h, g.weights.reshape([1, 2])._h, null, null, 2)],
    ['mask length', /mask has 6 elements but tokens is 3/, (g) => call(g.pred._h, g.target._h, g.ids._h, g.weights._h, torch.ones([6])._h, null, 2)],
    ['denominators length', /denominators has 3 elements but tasks \(the length of weights\) is 2/, (g) => call(g.pred._h, g.target._h, g.ids._h, g.weights._h, null, torch.ones([3])._h, 2)],
    ['dtype mismatch', /target dtype float16 does not match pred dtype float32/, (g) => call(g.pred._h, g.target.half()._h, g.ids._h, g.weights._h, null, null, 2)],
    ['repeat 0', /repeat \(noise draws per token\) must be >= 1, got 0/, (g) => call(g.pred._h, g.target._h, g.ids._h, g.weights._h, null, null, 0)],
    ['mask requiring grad', /mask is not differentiable/, (g) => call(g.pred._h, g.target._h, g.ids._h, g.weights._h, torch.ones([3], { requiresGrad: true })._h, null, 2)],
    ['integer weights', /weights must be floating point, got int64/, (g) => call(g.pred._h, g.target._h, g.ids._h, torch.tensor([1, 2], { dtype: 'int64' })._h, null, null, 2)],
  ];
  for (const [name, re, fn] of nativeCases) {
    it(`native op: ${name}`, () => torch.tidy(() => {
      const e = caught(() => fn(good()));
      expect(e.message).toMatch(/multitask_diffusion_loss/);
      expect(e.message).toMatch(re);
      works();
    }));
  }
});

// ---- noise helpers ------------------------------------------------------------------------
describe('noise helpers against their formulas', () => {
  const s = 0.008;
  const f = (t: number) => Math.cos(((t + s) / (1 + s)) * (Math.PI / 2)) ** 2;
  const times = [0, 0.001, 0.1, 0.37, 0.5, 0.8, 0.999, 1];

  it('cosineSchedule: alphaBar = f(t) / f(0), alpha^2 + sigma^2 = 1, endpoints 1 and 0', () => torch.tidy(() => {
    const t = torch.tensor(times, { dtype: 'float64' });
    const sch = cosineSchedule(t);
    const ab = times.map((x) => Math.min(1, f(x) / f(0)));
    expectClose(values(sch.alphaBar), ab, 1e-15, 1e-12);
    expectClose(values(sch.alpha), ab.map(Math.sqrt), 1e-15, 1e-12);
    expectClose(values(sch.sigma), ab.map((x) => Math.sqrt(1 - x)), 1e-7, 1e-10);
    expect(values(sch.alphaBar)[0]).toBeCloseTo(1, 14);
    expect(values(sch.alphaBar)[times.length - 1]).toBeLessThan(1e-15);
  }));

  it('cosineAlphaBars and scheduleAt: the discrete schedule with clipped betas', () => torch.tidy(() => {
    const T = 1000;
    const table = cosineAlphaBars(T, { dtype: 'float64' });
    const tv = values(table);
    let prod = 1;
    const want = Array.from({ length: T }, (_, i) => (prod *= 1 - Math.min(1 - f((i + 1) / T) / f(i / T), 0.999)));
    expectClose(tv, want, 1e-15, 1e-12);
    for (let i = 1; i < T; i++) expect(tv[i]).toBeLessThan(tv[i - 1]);
    const steps = torch.tensor([0, 499, 999], { dtype: 'int64' });
    const sch = scheduleAt(table, steps);
    expectClose(values(sch.alphaBar), [want[0], want[499], want[999]], 0, 1e-15);
    expectClose(values(sch.sigma), [want[0], want[499], want[999]].map((x) => Math.sqrt(1 - x)), 1e-15, 1e-12);
  }));

  const x0v = numbers(4 * 3, 61);
  const epsv = numbers(4 * 3, 62);
  const tv = [0.1, 0.5, 0.9, 0.25];

  it("'eps': x_t = alpha x0 + sigma eps, target eps; t -> 0 gives x0 and t = 1 gives eps", () => torch.tidy(() => {
    const x0 = torch.tensor(x0v, { shape: [4, 3], dtype: 'float64' });
    const eps = torch.tensor(epsv, { shape: [4, 3], dtype: 'float64' });
    const t = torch.tensor(tv, { dtype: 'float64' });
    const ab = tv.map((x) => f(x) / f(0));
    const xt = noisedInput(x0, eps, t, 'eps');
    expectClose(values(xt), x0v.map((x, j) => Math.sqrt(ab[Math.floor(j / 3)]) * x + Math.sqrt(1 - ab[Math.floor(j / 3)]) * epsv[j]), 1e-14, 1e-12);
    expectClose(values(diffusionTarget(x0, eps, t, 'eps')), epsv, 0, 0);
    expectClose(values(noisedInput(x0, eps, torch.full([4], 1e-9, { dtype: 'float64' }), 'eps')), x0v, 1e-4, 0);
    expectClose(values(noisedInput(x0, eps, torch.ones([4], { dtype: 'float64' }), 'eps')), epsv, 1e-12, 0);
  }));

  it("'v': target alpha eps - sigma x0, and x0 = alpha x_t - sigma v", () => torch.tidy(() => {
    const x0 = torch.tensor(x0v, { shape: [2, 2, 3], dtype: 'float64' }).reshape([4, 3]).reshape([4, 1, 3]);
    const eps = torch.tensor(epsv, { shape: [4, 1, 3], dtype: 'float64' });
    const t = torch.tensor(tv, { dtype: 'float64' });
    const ab = tv.map((x) => f(x) / f(0));
    const v = diffusionTarget(x0, eps, t, 'v');
    expect(v.shape).toEqual([4, 1, 3]);
    expectClose(values(v), epsv.map((e, j) => Math.sqrt(ab[Math.floor(j / 3)]) * e - Math.sqrt(1 - ab[Math.floor(j / 3)]) * x0v[j]), 1e-14, 1e-12);
    const sch = cosineSchedule(t);
    const xt = noisedInput(x0, eps, t, 'v');
    const back = xt.mul(sch.alpha.reshape([4, 1, 1])).sub(v.mul(sch.sigma.reshape([4, 1, 1])));
    expectClose(values(back), x0v, 1e-12, 1e-12);
  }));

  it("'flow': x_t = (1 - t) x0 + t eps, target eps - x0; bfloat16 data keeps its dtype", () => torch.tidy(() => {
    const x0 = torch.tensor(x0v, { shape: [4, 3], dtype: 'float64' });
    const eps = torch.tensor(epsv, { shape: [4, 3], dtype: 'float64' });
    const t = torch.tensor(tv, { dtype: 'float64' });
    expectClose(values(noisedInput(x0, eps, t, 'flow')), x0v.map((x, j) => (1 - tv[Math.floor(j / 3)]) * x + tv[Math.floor(j / 3)] * epsv[j]), 1e-15, 1e-12);
    expectClose(values(diffusionTarget(x0, eps, t, 'flow')), epsv.map((e, j) => e - x0v[j]), 1e-15, 1e-12);
    const xb = x0.bfloat16();
    const out = noisedInput(xb, eps.bfloat16(), t.float(), 'flow');
    expect(out.dtype).toBe('bfloat16');
    expect(diffusionTarget(xb, eps.bfloat16(), t.float(), 'v').dtype).toBe('bfloat16');
    expectClose(values(out), x0v.map((x, j) => (1 - tv[Math.floor(j / 3)]) * x + tv[Math.floor(j / 3)] * epsv[j]), 2e-2, 1e-2);
  }));

  it('a flow-matching step end to end: noisedInput -> prediction -> multitaskDiffusionLoss', () => torch.tidy(() => {
    const n = 5, c = 8;
    const x0 = torch.tensor(numbers(n * c, 71), { shape: [n, c] });
    const eps = torch.tensor(numbers(n * c, 72), { shape: [n, c] });
    const t = torch.tensor(numbers(n, 73, 0, 1));
    const target = diffusionTarget(x0, eps, t, 'flow');
    const pred = noisedInput(x0, eps, t, 'flow').mul(0.5).requiresGrad_(); // any prediction
    const out = multitaskDiffusionLoss(pred, target, torch.tensor([0, 1, 1, 0, 1], { dtype: 'int64' }), { weights: [1, 1] });
    const err = values(pred.detach().sub(target).square().mean(1));
    expectClose(values(out.taskLoss), [(err[0] + err[3]) / 2, (err[1] + err[2] + err[4]) / 3], 1e-7, 1e-5);
  }));

  it('bad inputs: shapes, parameterisation, steps dtype', () => torch.tidy(() => {
    const x0 = torch.zeros([4, 3]);
    expect(caught(() => noisedInput(x0, torch.zeros([4, 2]), torch.zeros([4]), 'eps')).message).toMatch(/noise shape \[4, 2\] does not match x0 shape \[4, 3\]/);
    expect(caught(() => noisedInput(x0, x0, torch.zeros([3]), 'eps')).message).toMatch(/t must be \[N\] = \[4\]/);
    expect(caught(() => diffusionTarget(x0, x0, torch.zeros([4]), 'x0' as 'eps')).message).toMatch(/param must be one of eps, v, flow/);
    expect(caught(() => scheduleAt(cosineAlphaBars(10), torch.zeros([2]))).message).toMatch(/steps must be int64 or int32/);
    expect(caught(() => cosineAlphaBars(0)).message).toMatch(/numSteps must be a positive integer/);
    expect(values(noisedInput(x0, x0, torch.zeros([4]), 'flow'))).toEqual(new Array(12).fill(0));
  }));
});
