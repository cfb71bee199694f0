// The fused losses' guards live in the C++ ops, so PyTorch-from-Python callers get them too:
// negative (or NaN) denominators and masks are refused naming the argument, and a second
// backward without retain_graph fails as ATen's own ops do instead of adding the gradient again.
import { OPS_LIB, pytorchWithOps, runPython } from '../helpers/pytorch';

const env = pytorchWithOps();
if (env.skip !== null) console.warn(`guards-pytorch.test.ts: skipped: ${env.skip}`);
const itPy = env.skip === null ? it : it.skip;

const SCRIPT = String.raw`
import json, sys, torch
torch.ops.load_library(sys.argv[1])
ce = torch.ops.unimrg.multitask_cross_entropy
lce = torch.ops.unimrg.multitask_linear_cross_entropy
dl = torch.ops.unimrg.multitask_diffusion_loss
out = {}
def err(name, f):
    try:
        f()
        out[name] = None
    except RuntimeError as e:
        out[name] = str(e).splitlines()[0]
def twice(make):
    loss = make()
    loss.backward()
    loss.backward()
y, t, w = torch.tensor([1, 2, 3, 0]), torch.tensor([0, 1, 0, 1]), torch.ones(2)
err('ce_negative', lambda: ce(torch.randn(4, 5), y, t, w, denominators=torch.tensor([1., -2.])))
err('ce_nan', lambda: ce(torch.randn(4, 5), y, t, w, denominators=torch.tensor([float('nan'), 1.])))
err('linear_negative', lambda: lce(torch.randn(4, 3), torch.randn(5, 3), y, t, w, denominators=torch.tensor([1., -2.])))
err('diffusion_mask', lambda: dl(torch.randn(4, 3), torch.randn(4, 3), t, w, mask=torch.tensor([1., -1., 1., 1.])))
err('diffusion_denominators', lambda: dl(torch.randn(4, 3), torch.randn(4, 3), t, w, denominators=torch.tensor([-1., 1.])))
err('ce_twice', lambda: twice(lambda: ce(torch.randn(4, 5, requires_grad=True), y, t, w)[0]))
err('linear_twice', lambda: twice(lambda: lce(torch.randn(4, 3, requires_grad=True), torch.randn(5, 3), y, t, w)[0]))
err('diffusion_twice', lambda: twice(lambda: dl(torch.randn(4, 3, requires_grad=True), torch.randn(4, 3), t, w)[0]))
# retain_graph still allows the second backward, which adds exactly the same gradient again;
# zero denominators stay legal (L_t = 0).
x = torch.randn(4, 5, requires_grad=True)
loss = ce(x, y, t, w)[0]
loss.backward(retain_graph=True)
g1 = x.grad.clone()
loss.backward()
out['ce_retain_doubles'] = bool(torch.allclose(x.grad, 2 * g1))
out['ce_zero_denominator'] = ce(torch.randn(4, 5), y, t, w, denominators=torch.tensor([0., 2.]))[1][0].item()
print(json.dumps(out))
`;

describe(`the C++ ops' guards, from PyTorch for Python (${OPS_LIB})`, () => {
  let r: Record<string, string | boolean | number | null> = {};
  beforeAll(() => { if (env.python !== null) r = runPython(env.python, SCRIPT); });

  itPy('negative or NaN denominators and negative masks are refused, naming the argument and index', () => {
    expect(r.ce_negative).toBe('multitask_cross_entropy: denominators[1] = -2 is negative; denominators must be >= 0');
    expect(r.ce_nan).toBe('multitask_cross_entropy: denominators[0] is NaN; denominators must be >= 0');
    expect(r.linear_negative).toMatch(/denominators\[1\] = -2 is negative/);
    expect(r.diffusion_mask).toBe('multitask_diffusion_loss: mask[1] = -1 is negative; mask must be >= 0');
    expect(r.diffusion_denominators).toBe('multitask_diffusion_loss: denominators[0] = -1 is negative; denominators must be >= 0');
    expect(r.ce_zero_denominator).toBe(0);
  });

  itPy('a second backward without retain_graph fails as in ATen; with retain_graph it adds the same gradient', () => {
    for (const k of ['ce_twice', 'linear_twice', 'diffusion_twice']) {
      expect(r[k]).toMatch(/^Trying to backward through the graph a second time/);
    }
    expect(r.ce_retain_doubles).toBe(true);
  });
});
