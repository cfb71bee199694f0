// build/Release/libunimrg_ops.so loads into PyTorch for Python (torch.ops.load_library), and
// torch.ops.unimrg.multitask_diffusion_loss there agrees with PyTorch's own F.mse_loss per task
// and with the same op called from TypeScript. Skipped, with the reason in its name, where
// Python cannot import torch or cannot load the library (another libtorch).
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { torch } from '../../lib';
import { multitaskDiffusionLoss } from '../../lib/losses/diffusion';
import { expectClose } from '../helpers/reference';
import { ints, numbers, values } from './diffusion-reference';

const PYTHON = '/usr/bin/python3';
const LIB = path.resolve(__dirname, '../../build/Release/libunimrg_ops.so');

function probe(): string | null {
  try {
    execFileSync(PYTHON, ['-c', `import torch; torch.ops.load_library(${JSON.stringify(LIB)}); torch.ops.unimrg.multitask_diffusion_loss`], {
      stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000,
    });
    return null;
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    const lines = (err.stderr?.toString() ?? err.message).trim().split('\n');
    return lines[lines.length - 1].slice(0, 160);
  }
}
const why = probe();
const d = why === null ? describe : describe.skip;

const SCRIPT = String.raw`
import json, sys, torch
import torch.nn.functional as F
torch.ops.load_library(sys.argv[1])
x = json.load(sys.stdin)
N, C, T, k = x['n'], x['c'], x['tasks'], x['repeat']
pred = torch.tensor(x['pred'], dtype=torch.float64).reshape(N * k, C).requires_grad_()
target = torch.tensor(x['target'], dtype=torch.float64).reshape(N * k, C)
ids = torch.tensor(x['ids'], dtype=torch.int64)
w = torch.tensor(x['weights'], dtype=torch.float64)
m = torch.tensor(x['mask'], dtype=torch.float64)
loss, tl, tw = torch.ops.unimrg.multitask_diffusion_loss(pred, target, ids, w, m, None, k)
loss.backward()
# PyTorch's own pieces: per-row mean squared error, masked, per task.
rows = F.mse_loss(pred.detach(), target, reduction='none').mean(1)
ref = []
for t in range(T):
    sel = (ids.repeat(k) == t)
    mr = m.repeat(k)[sel]
    den = float(mr.sum())
    ref.append(float((rows[sel] * mr).sum()) / den if den != 0 else 0.0)
json.dump({'loss': float(loss), 'task_loss': tl.tolist(), 'task_weight': tw.tolist(), 'grad': pred.grad.reshape(-1).tolist(),
           'ref_task_loss': ref, 'ref_loss': float(sum(wt * r for wt, r in zip(w.tolist(), ref)))}, sys.stdout)
`;

d(why === null ? `multitask_diffusion_loss from PyTorch for Python (${PYTHON}, torch.ops.load_library)` : `multitask_diffusion_loss from PyTorch for Python (skipped: ${why})`, () => {
  it('agrees with F.mse_loss per task and with the op called from TypeScript (float64, repeat 3, mask, an empty task)', () => torch.tidy(() => {
    const n = 9, c = 5, tasks = 4, repeat = 3;
    const inp = {
      n, c, tasks, repeat,
      pred: numbers(n * repeat * c, 81), target: numbers(n * repeat * c, 82), ids: ints(n, 83, 3),
      weights: [0.5, 1, 2, 3], mask: numbers(n, 84, 0, 1).map((x) => (x < 0.3 ? 0 : x)),
    };
    const py = JSON.parse(execFileSync(PYTHON, ['-c', SCRIPT, LIB], { input: JSON.stringify(inp), encoding: 'utf8', timeout: 60000 })) as
      { loss: number; task_loss: number[]; task_weight: number[]; grad: number[]; ref_task_loss: number[]; ref_loss: number };
    expectClose(py.task_loss, py.ref_task_loss, 1e-15, 1e-12);
    expectClose([py.loss], [py.ref_loss], 1e-15, 1e-12);
    expect(py.task_loss[3]).toBe(0);

    const pred = torch.tensor(Float64Array.from(inp.pred), { shape: [n * repeat, c], dtype: 'float64' }).requiresGrad_();
    const out = multitaskDiffusionLoss(pred, torch.tensor(Float64Array.from(inp.target), { shape: [n * repeat, c], dtype: 'float64' }),
      torch.tensor(inp.ids, { dtype: 'int64' }), { weights: torch.tensor(inp.weights, { dtype: 'float64' }), mask: torch.tensor(inp.mask, { dtype: 'float64' }), repeat });
    out.loss.backward();
    expectClose(values(out.loss), [py.loss], 0, 1e-15);
    expectClose(values(out.taskLoss), py.task_loss, 0, 1e-15);
    expectClose(values(out.taskWeight), py.task_weight, 0, 1e-15);
    expectClose(values(pred.grad!), py.grad, 0, 1e-15);
  }));
});
