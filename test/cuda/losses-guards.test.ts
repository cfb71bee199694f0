// The fused losses' value guards on CUDA, where reading a value would sync: negative (or NaN)
// denominators and masks turn the loss NaN on the stream instead of being refused (the CPU
// refuses them: test/robustness/tensor-corpus.test.ts); a second backward without retainGraph
// fails as on the CPU. Skipped without a GPU.
import { losses, torch, Tensor, TorchError } from '../../lib';

const available = torch.cuda.isAvailable();
const describeCuda = available ? describe : describe.skip;
if (!available) console.warn('test/cuda/losses-guards: skipped: torch.cuda.isAvailable() is false');

const cuda = (t: Tensor) => t.to('cuda');
const ids = (xs: number[]) => cuda(torch.tensor(xs.map(BigInt)));
const scalar = (t: Tensor) => t.cpu().item() as number;

describeCuda('CUDA: negative denominators and masks poison the loss with NaN (no sync)', () => {
  it('multitaskCrossEntropy and its linear variant', () => torch.tidy(() => {
    const y = ids([1, 2, 3, 0]), t = ids([0, 1, 0, 1]);
    const ce = (d: number[]) => losses.multitaskCrossEntropy(cuda(torch.randn([4, 5])), y, t, { numTasks: 2, denominators: cuda(torch.tensor(d)) });
    expect(scalar(ce([1, -2]).loss)).toBeNaN();
    expect(scalar(ce([NaN, 2]).loss)).toBeNaN();
    expect(Number.isFinite(scalar(ce([0, 2]).loss))).toBe(true); // zero stays legal
    const linear = losses.multitaskLinearCrossEntropy(cuda(torch.randn([4, 3])), cuda(torch.randn([5, 3])), y, t,
      { numTasks: 2, denominators: cuda(torch.tensor([-1, 2])) });
    expect(scalar(linear.loss)).toBeNaN();
  }));

  it('multitaskDiffusionLoss: mask and denominators', () => torch.tidy(() => {
    const p = cuda(torch.randn([4, 3])), q = cuda(torch.randn([4, 3])), t = ids([0, 0, 1, 1]);
    expect(scalar(losses.multitaskDiffusionLoss(p, q, t, { weights: [1, 1], mask: cuda(torch.tensor([1, -1, 1, 1])) }).loss)).toBeNaN();
    expect(scalar(losses.multitaskDiffusionLoss(p, q, t, { weights: [1, 1], denominators: cuda(torch.tensor([2, -1])) }).loss)).toBeNaN();
    expect(Number.isFinite(scalar(losses.multitaskDiffusionLoss(p, q, t, { weights: [1, 1], mask: cuda(torch.tensor([1, 0, 1, 1])) }).loss))).toBe(true);
  }));

  it('a second backward without retainGraph is refused', () => torch.tidy(() => {
    const x = cuda(torch.randn([4, 5])).requiresGrad_();
    const r = losses.multitaskCrossEntropy(x, ids([1, 2, 3, 0]), null);
    r.loss.backward();
    expect(() => r.loss.backward()).toThrow(TorchError);
    expect(() => r.loss.backward()).toThrow(/Trying to backward through the graph a second time/);
  }));
});
