// torch.autocast on CUDA: runs only where torch.cuda.isAvailable(); otherwise the block is
// skipped and its name says why.
import { torch, Tensor, nn, optim } from '../../lib';

const available = torch.cuda.isAvailable();
const b = torch.backend();
const why = b.runtime.cuda ? 'the CUDA libtorch sees no device' : `libtorch ${b.torch} is a CPU-only build`;
const describeCuda = available ? describe : describe.skip;
if (!available) console.warn(`test/cuda/autocast: skipping the CUDA autocast tests: ${why}`);

describeCuda(available ? 'torch.autocast (CUDA)' : `torch.autocast (CUDA) (skipped: no CUDA device: ${why})`, () => {
  it('matmul / linear give bfloat16 (default) or float16 inside, float32 outside; state restored', () => torch.tidy(() => {
    const a = torch.randn([16, 32], { device: 'cuda' });
    const w = torch.randn([8, 32], { device: 'cuda' });
    expect(torch.isAutocastEnabled('cuda')).toBe(false);
    const prevDtype = torch.getAutocastDtype('cuda');
    expect(torch.autocast('cuda', () => torch.matmul(a, w.t())).dtype).toBe('bfloat16');
    expect(torch.autocast('cuda', () => torch.linear(a, w), { dtype: 'float16' }).dtype).toBe('float16');
    expect(torch.matmul(a, w.t()).dtype).toBe('float32');
    // CUDA autocast does not touch CPU ops, and CPU autocast does not touch CUDA ops
    expect(torch.autocast('cuda', () => torch.matmul(a.cpu(), w.cpu().t())).dtype).toBe('float32');
    expect(torch.autocast('cpu', () => torch.matmul(a, w.t())).dtype).toBe('float32');
    expect(() => torch.autocast('cuda', () => { throw new Error('boom'); })).toThrow('boom');
    expect(torch.isAutocastEnabled('cuda')).toBe(false);
    expect(torch.getAutocastDtype('cuda')).toBe(prevDtype);
  }));

  it('bf16 autocast training on CUDA reaches the fp32 loss (relative 5%)', () => {
    const STEPS = 100;
    torch.manualSeed(1234);
    const x = torch.keep(torch.randn([128, 4]).to('cuda'));
    const y = torch.keep(torch.tidy(() => x.sum(1, true).mul(0.7).sin().add(x.narrow(1, 0, 1).mul(x.narrow(1, 1, 1)).mul(0.3))));
    const train = (bf16: boolean) => {
      torch.manualSeed(7);
      const model = new nn.Sequential(new nn.Linear(4, 64), new nn.Tanh(), new nn.Linear(64, 64), new nn.Tanh(), new nn.Linear(64, 1));
      model.to('cuda');
      const opt = new optim.AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0 });
      let last = 0; let first = 0;
      for (let s = 0; s < STEPS; s++) {
        torch.tidy(() => {
          opt.zeroGrad();
          const fwd = () => (model.forward(x) as Tensor).float().sub(y).square().mean();
          const loss = bf16 ? torch.autocast('cuda', fwd) : fwd();
          loss.backward();
          opt.step();
          last = loss.item() as number;
          if (s === 0) first = last;
        });
      }
      for (const p of model.parameters()) expect(p.dtype).toBe('float32');
      model.dispose();
      return { first, last };
    };
    const f = train(false);
    const h = train(true);
    torch.dispose([x, y]);
    console.log(`CUDA autocast training: initial ${f.first.toFixed(4)}, fp32 final ${f.last.toExponential(4)}, bf16 final ${h.last.toExponential(4)}`);
    expect(f.last).toBeLessThan(f.first * 0.1);
    expect(h.last).toBeLessThan(h.first * 0.1);
    expect(Math.abs(h.last - f.last) / f.last).toBeLessThan(0.05);
  });
});
