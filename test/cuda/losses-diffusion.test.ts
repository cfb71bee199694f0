// unimrg::multitask_diffusion_loss on CUDA against the CPU kernel (and the float64 ATen
// reference): values, gradients, dtypes, row layouts from MAR (C = 16, k = 4) to flow matching
// on whole latents (few rows of 40k+ channels), determinism, and the CUDA-only limits.
import { torch, Tensor, TorchError } from '../../lib';
import type { DType } from '../../lib';
import { multitaskDiffusionLoss } from '../../lib/losses/diffusion';
import { expectClose } from '../helpers/reference';
import { ints, maxAbs, numbers, referenceLoss, values } from '../losses/diffusion-reference';

const hasCuda = torch.cuda.isAvailable();
const d = hasCuda ? describe : describe.skip;

interface Case {
  name: string;
  n: number;
  c: number;
  tasks: number;
  repeat: number;
  mask: boolean;
  denominators: boolean;
  usedTasks: number;
  seed: number;
}

const CASES: Case[] = [
  { name: 'MAR-like: C = 16, k = 4, 4 tasks, mask', n: 300, c: 16, tasks: 4, repeat: 4, mask: true, denominators: false, usedTasks: 4, seed: 1 },
  { name: 'flow matching on latents: 6 rows of 40000', n: 6, c: 40000, tasks: 3, repeat: 1, mask: false, denominators: false, usedTasks: 3, seed: 2 },
  { name: 'tiny rows C = 3, 8 tasks, 3 of them empty', n: 257, c: 3, tasks: 8, repeat: 2, mask: true, denominators: false, usedTasks: 5, seed: 3 },
  { name: 'C = 33 (two segments of lanes), external denominators with a zero', n: 129, c: 33, tasks: 5, repeat: 1, mask: true, denominators: true, usedTasks: 5, seed: 4 },
  { name: 'C = 1500 (rows split into segments), k = 2', n: 40, c: 1500, tasks: 2, repeat: 2, mask: true, denominators: false, usedTasks: 2, seed: 5 },
  { name: 'many tokens: 70000 x 8, every reduction block busy', n: 70000, c: 8, tasks: 4, repeat: 1, mask: true, denominators: false, usedTasks: 4, seed: 6 },
];

function inputs(k: Case, dtype: DType, device: 'cpu' | 'cuda') {
  const rows = k.n * k.repeat;
  const leaf = (data: number[], shape: number[], dt: DType) => {
    const cpu = torch.tensor(Float64Array.from(data), { shape, dtype: dt });
    const t = device === 'cpu' ? cpu : cpu.to('cuda');
    t.requiresGrad = true;
    return t;
  };
  const on = (t: Tensor) => (device === 'cpu' ? t : t.to('cuda'));
  return {
    pred: leaf(numbers(rows * k.c, k.seed, -2, 2), [rows, k.c], dtype),
    target: leaf(numbers(rows * k.c, k.seed + 1, -2, 2), [rows, k.c], dtype),
    weights: leaf(numbers(k.tasks, k.seed + 2, 0.1, 2), [k.tasks], dtype === 'float64' ? 'float64' : 'float32'),
    ids: on(torch.tensor(ints(k.n, k.seed + 3, k.usedTasks), { dtype: 'int64' })),
    mask: k.mask ? on(torch.tensor(numbers(k.n, k.seed + 4, 0, 1).map((x) => (x < 0.3 ? 0 : 2 * x)))) : null,
    denominators: k.denominators ? on(torch.tensor(numbers(k.tasks, k.seed + 5, 1, 500).map((x, i) => (i === 1 ? 0 : x)))) : null,
  };
}

function runBoth(k: Case, dtype: DType) {
  const out = (['cpu', 'cuda'] as const).map((device) => {
    const x = inputs(k, dtype, device);
    const r = multitaskDiffusionLoss(x.pred, x.target, x.ids, { weights: x.weights, mask: x.mask, denominators: x.denominators, repeat: k.repeat });
    r.loss.mul(1.5).backward();
    return {
      x, loss: values(r.loss), taskLoss: values(r.taskLoss), taskWeight: values(r.taskWeight),
      gp: values(x.pred.grad!), gt: values(x.target.grad!), gw: values(x.weights.grad!), lossDtype: r.loss.dtype, gradDtype: x.pred.grad!.dtype,
    };
  });
  return { cpu: out[0], gpu: out[1] };
}

d(hasCuda ? 'multitaskDiffusionLoss on CUDA against the CPU kernel' : 'multitaskDiffusionLoss on CUDA (skipped: torch.cuda.isAvailable() is false)', () => {
  const tol: Record<string, [number, number]> = { float64: [1e-12, 1e-15], float32: [2e-5, 1e-8], bfloat16: [1e-2, 1e-6], float16: [1e-2, 1e-6] };
  for (const dtype of ['float32', 'float64', 'bfloat16', 'float16'] as const) {
    for (const k of CASES) {
      if (k.n * k.repeat * k.c > 300000 && dtype !== 'float32' && dtype !== 'bfloat16') continue; // keep the run short
      it(`${dtype}: ${k.name}`, () => torch.tidy(() => {
        const [rtol, atol] = tol[dtype];
        const { cpu, gpu } = runBoth(k, dtype);
        expect(gpu.lossDtype).toBe(cpu.lossDtype);
        expect(gpu.gradDtype).toBe(dtype);
        expectClose(gpu.loss, cpu.loss, atol, rtol);
        expectClose(gpu.taskLoss, cpu.taskLoss, atol, rtol);
        expectClose(gpu.taskWeight, cpu.taskWeight, 0, 1e-6);
        const scale = maxAbs(cpu.gp);
        expectClose(gpu.gp, cpu.gp, atol + rtol * scale, rtol);
        expectClose(gpu.gt, cpu.gt, atol + rtol * scale, rtol);
        expectClose(gpu.gw, cpu.gw, atol, rtol);
      }));
    }
  }

  it('float64 on CUDA against the ATen reference (values and gradients)', () => torch.tidy(() => {
    const k = CASES[0];
    const x = inputs(k, 'float64', 'cuda');
    const r = multitaskDiffusionLoss(x.pred, x.target, x.ids, { weights: x.weights, mask: x.mask, repeat: k.repeat });
    r.loss.backward();
    const rp = x.pred.detach().cpu().requiresGrad_();
    const ref = referenceLoss({ pred: rp, target: x.target.detach().cpu(), ids: x.ids.cpu(), weights: x.weights.detach().cpu(), mask: x.mask!.cpu(), denominators: null, repeat: k.repeat });
    ref.loss.backward();
    expectClose(values(r.loss), values(ref.loss), 1e-14, 1e-11);
    expectClose(values(r.taskLoss), values(ref.taskLoss), 1e-14, 1e-11);
    expectClose(values(x.pred.grad!), values(rp.grad!), 1e-14, 1e-10);
  }));

  it('deterministic: two runs give the same bits', () => torch.tidy(() => {
    const k = CASES[5];
    const x = inputs(k, 'float32', 'cuda');
    const a = multitaskDiffusionLoss(x.pred, x.target, x.ids, { weights: x.weights, mask: x.mask });
    const b = multitaskDiffusionLoss(x.pred, x.target, x.ids, { weights: x.weights, mask: x.mask });
    expect(values(a.loss)).toEqual(values(b.loss));
    expect(values(a.taskLoss)).toEqual(values(b.taskLoss));
  }));

  it('non-contiguous pred, an all-zero mask, and N = 0 tokens', () => torch.tidy(() => {
    const base = torch.tensor(numbers(5 * 24, 7), { shape: [5, 24] }).to('cuda').requiresGrad_();
    const pred = base.t();
    const target = torch.zeros([24, 5]).to('cuda');
    const ids = torch.tensor(ints(12, 8, 3), { dtype: 'int64' }).to('cuda');
    const w = torch.tensor([1, 2, 3]).to('cuda');
    const r = multitaskDiffusionLoss(pred, target, ids, { weights: w, repeat: 2 });
    r.loss.backward();
    const rc = multitaskDiffusionLoss(pred.detach().cpu(), target.cpu(), ids.cpu(), { weights: w.cpu(), repeat: 2 });
    expectClose(values(r.loss), values(rc.loss), 1e-8, 1e-5);
    expect(base.grad!.shape).toEqual([5, 24]);
    const z = multitaskDiffusionLoss(pred, target, ids, { weights: w, mask: torch.zeros([12]).to('cuda'), repeat: 2 });
    expect(values(z.loss)).toEqual([0]);
    expect(values(z.taskWeight)).toEqual([0, 0, 0]);
    const e = multitaskDiffusionLoss(torch.zeros([0, 4]).to('cuda'), torch.zeros([0, 4]).to('cuda'), torch.zeros([0], { dtype: 'int64' }).to('cuda'), { weights: w });
    expect(values(e.loss)).toEqual([0]);
  }));

  it('CUDA limits: out-of-range ids contribute nothing (no host sync to check them); more than 512 tasks is an error', () => torch.tidy(() => {
    const pred = torch.tensor([[1, 1], [2, 2], [3, 3]]).to('cuda').requiresGrad_();
    const target = torch.zeros([3, 2]).to('cuda');
    const r = multitaskDiffusionLoss(pred, target, torch.tensor([0, 7, -1], { dtype: 'int64' }).to('cuda'), { weights: [1, 1] });
    expectClose(values(r.taskLoss), [1, 0], 1e-7, 1e-7);
    r.loss.backward();
    expect(values(pred.grad!)).toEqual([1, 1, 0, 0, 0, 0]);
    let err: unknown = null;
    try {
      multitaskDiffusionLoss(pred, target, torch.zeros([3], { dtype: 'int64' }).to('cuda'), { weights: torch.ones([513]).to('cuda') });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TorchError);
    expect((err as Error).message).toMatch(/at most 512 tasks/);
    const ok = multitaskDiffusionLoss(pred, target, torch.zeros([3], { dtype: 'int64' }).to('cuda'), { weights: torch.ones([512]).to('cuda') });
    expectClose(values(ok.loss), [(2 + 8 + 18) / 2 / 3], 1e-6, 1e-6);
    expect(() => multitaskDiffusionLoss(pred, target.cpu(), torch.zeros([3], { dtype: 'int64' }).to('cuda'), { weights: [1] })).toThrow(/target is on cpu but pred is on cuda/);
  }));
});
