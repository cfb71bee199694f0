// unimrg::multitask_cross_entropy and multitask_linear_cross_entropy on CUDA against the float64
// reference of test/losses (ATen ops on the CPU): values and gradients for every dtype, both
// kernels (a warp per row for V <= 2048, a block per row above), aligned and unaligned rows,
// in place, bad tokens (the device-side flag), and the linear variant.
import { losses, torch, Tensor, TorchError } from '../../lib';
import { expectClose } from '../helpers/reference';
import { type Case, f64, i64, makeCase, maxAbs, nums, referenceCE, type RefOptions } from '../losses/cross-entropy-reference';

const available = torch.cuda.isAvailable();
const b = torch.backend();
const why = b.runtime.cuda ? 'the CUDA libtorch sees no device' : `libtorch ${b.torch} is a CPU-only build`;
const describeCuda = available ? describe : describe.skip;
if (!available) console.warn(`test/cuda/losses-ce: skipping the CUDA cross-entropy tests: ${why}`);

type DT = 'float32' | 'bfloat16' | 'float16';
const TOL: Record<DT, number> = { float32: 1e-5, bfloat16: 1e-2, float16: 1e-2 };
const rowWeights = (n: number) => Array.from({ length: n }, (_, i) => 0.5 + ((i * 7919) % 13) / 13);

interface Out { loss: number[]; taskLoss: number[]; taskTokens: number[]; grad: number[] }

function onGpu(c: Case, dtype: DT, o: RefOptions & { inplace?: boolean; slice?: number }): Out {
  return torch.tidy(() => {
    let x: Tensor;
    let leaf: Tensor;
    if (o.slice) {
      // rows of V inside rows of V + slice + 3, starting at column `slice` (unaligned rows)
      const wide = torch.zeros([c.N, c.V + o.slice + 3], { dtype, device: 'cuda' });
      wide.narrow(1, o.slice, c.V).copy_(f64(c.x, [c.N, c.V]).to(dtype).cuda());
      wide.requiresGrad = true;
      leaf = wide;
      x = wide.narrow(1, o.slice, c.V);
    } else {
      x = f64(c.x, [c.N, c.V]).to(dtype).cuda();
      x.requiresGrad = true;
      leaf = x;
    }
    const r = losses.multitaskCrossEntropy(x, i64(c.targets).cuda(), i64(c.taskIds).cuda(), {
      weights: torch.tensor(o.weights, { device: 'cuda' }), ignoreIndex: o.ignoreIndex, labelSmoothing: o.labelSmoothing,
      zLoss: o.zLoss, denominators: o.denominators ? torch.tensor(o.denominators, { device: 'cuda' }) : null,
      reduction: o.reduction, inplace: o.inplace,
    });
    expect(r.loss.device).toBe('cuda:0');
    const loss = nums(r.loss.cpu());
    const out = o.reduction === 'none' ? r.loss.mul(f64(rowWeights(c.N), [c.N]).float().cuda()).sum() : r.loss;
    out.backward();
    let g = leaf.grad!;
    expect(g.dtype).toBe(dtype);
    if (o.slice) g = g.narrow(1, o.slice, c.V);
    return { loss, taskLoss: nums(r.taskLoss.cpu()), taskTokens: Array.from(r.taskTokens.cpu().toArray() as BigInt64Array, Number), grad: nums(g.cpu()) };
  });
}

function reference(c: Case, dtype: DT, o: RefOptions): Out {
  return torch.tidy(() => {
    const x = f64(nums(f64(c.x, [c.N, c.V]).to(dtype)), [c.N, c.V]);
    x.requiresGrad = true;
    const r = referenceCE(x, c.targets, c.taskIds, o);
    (o.reduction === 'none' ? r.loss.mul(f64(rowWeights(c.N), [c.N])).sum() : r.loss).backward();
    return { loss: nums(r.loss), taskLoss: r.taskLoss, taskTokens: r.taskTokens, grad: nums(x.grad!) };
  });
}

function check(c: Case, dtype: DT, o: RefOptions & { inplace?: boolean; slice?: number }): void {
  const got = onGpu(c, dtype, o);
  const ref = reference(c, dtype, o);
  const tol = TOL[dtype];
  expectClose(got.loss, ref.loss, tol, tol);
  expectClose(got.taskLoss, ref.taskLoss, tol, tol);
  expect(got.taskTokens).toEqual(ref.taskTokens);
  const gmax = Math.max(1e-30, maxAbs(ref.grad));
  expectClose(got.grad, ref.grad, tol * gmax, tol);
}

describeCuda(available ? `multitask cross-entropy on CUDA (${torch.cuda.deviceCount()} device(s))` : `multitask cross-entropy on CUDA (skipped: ${why})`, () => {
  let before = 0;
  beforeEach(() => { before = torch.memory().tensors; });
  afterEach(() => { expect(torch.memory().tensors).toBe(before); });

  const shapes: [number, number, number, string][] = [
    [37, 13, 3, 'warp per row, tiny V'], [64, 1000, 4, 'warp per row'], [9, 2048, 2, 'warp per row, largest V'],
    [12, 5003, 5, 'block per row, V odd (rows unaligned)'], [6, 32768, 3, 'block per row, 1024 threads'],
    [4, 151936, 2, 'block per row, Qwen vocabulary'],
  ];
  for (const dtype of ['float32', 'bfloat16', 'float16'] as DT[]) {
    for (const [N, V, T, what] of shapes) {
      it(`${dtype} [${N}, ${V}] T=${T} (${what}): every reduction`, () => {
        const c = makeCase(N, V, T, N * 7 + V);
        for (const reduction of ['mean', 'sum', 'none'] as const) {
          check(c, dtype, { weights: Array.from({ length: T }, (_, t) => 0.5 + t), reduction, labelSmoothing: 0.1, zLoss: 1e-4 });
        }
        check(c, dtype, { weights: Array.from({ length: T }, () => 1) });
      });
    }
  }

  it('denominators with a zero, empty tasks, every token of a task ignored', () => {
    const c = makeCase(50, 300, 4, 3);
    c.taskIds = c.taskIds.map((t) => (t === 2 ? 0 : t));
    c.targets = c.targets.map((y, i) => (c.taskIds[i] === 3 ? -100 : y));
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      check(c, 'float32', { weights: [1, 2, 3, 4], reduction });
      check(c, 'float32', { weights: [1, 2, 3, 4], reduction, denominators: [10, 0, 5, 2] });
    }
  });

  it('every token ignored: zeros, never NaN', () => {
    const c = makeCase(20, 3000, 2, 4, 1);
    const got = onGpu(c, 'bfloat16', { weights: [1, 1] });
    expect(got.loss).toEqual([0]);
    expect(got.grad.every((v) => v === 0)).toBe(true);
  });

  it('unaligned rows (a column slice at offsets 1..3) and in place', () => {
    for (const slice of [1, 2, 3]) {
      check(makeCase(10, 4099, 2, 5 + slice), 'bfloat16', { weights: [1, 2], slice });
      check(makeCase(10, 700, 2, 9 + slice), 'float32', { weights: [1, 2], slice });
    }
    for (const dtype of ['float32', 'bfloat16'] as DT[]) {
      for (const reduction of ['mean', 'none'] as const) {
        check(makeCase(16, 8192, 3, 11), dtype, { weights: [1, 2, 3], reduction, inplace: true });
        check(makeCase(40, 500, 3, 12), dtype, { weights: [1, 2, 3], reduction, inplace: true });
      }
    }
  });

  it('matches the CPU kernel on the same float32 input', () => torch.tidy(() => {
    const c = makeCase(64, 10007, 4, 13);
    const run = (device: 'cpu' | 'cuda') => {
      const x = f64(c.x, [64, 10007]).float().to(device);
      x.requiresGrad = true;
      const r = losses.multitaskCrossEntropy(x, i64(c.targets).to(device), i64(c.taskIds).to(device), { numTasks: 4, labelSmoothing: 0.05 });
      r.loss.backward();
      return [nums(r.loss.cpu()), nums(x.grad!.cpu())];
    };
    const [lc, gc] = run('cpu');
    const [lg, gg] = run('cuda');
    expectClose(lg, lc, 1e-5, 1e-5);
    expectClose(gg, gc, 1e-7, 1e-4);
  }));

  it('gradient wrt the task weights on CUDA', () => torch.tidy(() => {
    const c = makeCase(30, 400, 3, 14);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const grads = (['cpu', 'cuda'] as const).map((device) => {
        const w = torch.tensor([1, 0.5, 2], { device, requiresGrad: true });
        const r = losses.multitaskCrossEntropy(f64(c.x, [30, 400]).float().to(device), i64(c.targets).to(device), i64(c.taskIds).to(device), { weights: w, reduction });
        (reduction === 'none' ? r.loss.sum() : r.loss).backward();
        return nums(w.grad!.cpu());
      });
      expectClose(grads[1], grads[0], 1e-4, 1e-4);
    }
  }));

  it('bad targets / task ids: NaN loss at once, then a TorchError from the next call on the device', () => torch.tidy(() => {
    // (UNIMRG_CE_SYNC_CHECK=1 in the environment of the process makes the call itself throw; jest
    // gives each test file its own process.env, which native code does not see.)
    const x = torch.randn([4, 3000], { device: 'cuda' });
    const t = i64([0, 1, 0, 1]).cuda();
    const good = i64([0, 1, 1, 2]).cuda();
    const r = losses.multitaskCrossEntropy(x, i64([0, 3000, 1, 2]).cuda(), t, { numTasks: 2 });
    expect(Number.isNaN(r.loss.item() as number)).toBe(true); // item() waits for the kernels
    torch.cuda.synchronize();
    expect(() => losses.multitaskCrossEntropy(x, good, t, { numTasks: 2 })).toThrow(/target 3000 at position 1 is out of range for 3000 classes \(found by an earlier call/);
    expect(Number.isFinite(losses.multitaskCrossEntropy(x, good, t, { numTasks: 2 }).loss.item() as number)).toBe(true);
    const r2 = losses.multitaskCrossEntropy(x, good, i64([0, 5, 0, 1]).cuda(), { numTasks: 2, reduction: 'sum' });
    expect(Number.isNaN(r2.loss.item() as number)).toBe(true);
    torch.cuda.synchronize();
    expect(() => losses.multitaskCrossEntropy(x, good, t, { numTasks: 2 })).toThrow(/task id 5 at position 1 is out of range for 2 tasks/);
    expect(() => losses.multitaskCrossEntropy(x.double(), good, t, { numTasks: 2 })).toThrow(TorchError);
    // Nothing left pending for the next test.
    expect(Number.isFinite(losses.multitaskCrossEntropy(x, good, t, { numTasks: 2 }).loss.item() as number)).toBe(true);
  }));

  it('NaN in the logits gives a NaN loss, never a crash', () => torch.tidy(() => {
    const data = makeCase(4, 5000, 2, 15, 0).x;
    data[5000 + 17] = NaN;
    const r = losses.multitaskCrossEntropy(f64(data, [4, 5000]).float().cuda(), i64([1, 2, 3, 4]).cuda(), i64([0, 0, 1, 1]).cuda(), { numTasks: 2 });
    expect(Number.isNaN(r.loss.item() as number)).toBe(true);
  }));

  it('linear variant on CUDA equals the CPU float64 computation (float32, bfloat16)', () => torch.tidy(() => {
    const N = 70, H = 64, V = 3001, T = 3;
    const c = makeCase(N, V, T, 16);
    const hd = makeCase(N, H, 1, 17).x.map((v) => v / 3);
    const wd = makeCase(V, H, 1, 18).x.map((v) => v / 10);
    const bd = makeCase(1, V, 1, 19).x.map((v) => v / 3);
    const run = (device: 'cpu' | 'cuda', dtype: 'float64' | 'float32' | 'bfloat16') => {
      const h = f64(hd, [N, H]).to(dtype).to(device), w = f64(wd, [V, H]).to(dtype).to(device), bias = f64(bd, [V]).to(dtype).to(device);
      for (const t of [h, w, bias]) t.requiresGrad = true;
      const r = losses.multitaskLinearCrossEntropy(h, w, i64(c.targets).to(device), i64(c.taskIds).to(device), {
        weights: [1, 0.5, 2], bias, chunkSize: 16, labelSmoothing: 0.1,
      });
      r.loss.backward();
      return [nums(r.loss.cpu()), nums(h.grad!.cpu()), nums(w.grad!.cpu()), nums(bias.grad!.cpu())];
    };
    const ref = run('cpu', 'float64');
    for (const [dtype, tol] of [['float32', 2e-3], ['bfloat16', 3e-2]] as const) { // TF32 may be on for float32 GEMMs
      const got = run('cuda', dtype);
      got.forEach((g, k) => expectClose(g, ref[k], tol * maxAbs(ref[k]), tol));
    }
  }));
});
