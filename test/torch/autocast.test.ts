// torch.autocast on CPU (bfloat16): which ops run in lower precision, state restore (also on
// throw), nesting, and bf16 mixed-precision training against fp32 on a small regression.
import { torch, Tensor, TorchError, nn, optim } from '../../lib';

const state = () => ({ enabled: torch.isAutocastEnabled('cpu'), dtype: torch.getAutocastDtype('cpu') });

describe('torch.autocast (CPU, bfloat16)', () => {
  it('matmul and linear of float32 inputs give bfloat16 inside, float32 outside', () => torch.tidy(() => {
    const a = torch.randn([4, 8]);
    const w = torch.randn([3, 8]);
    const bias = torch.randn([3]);
    expect(torch.isAutocastEnabled('cpu')).toBe(false);
    const [mm, lin, sm] = torch.autocast('cpu', () => {
      expect(torch.isAutocastEnabled('cpu')).toBe(true);
      expect(torch.getAutocastDtype('cpu')).toBe('bfloat16');
      const y = torch.linear(a, w, bias);
      // ops off the lower-precision list keep their inputs' dtype
      return [torch.matmul(a, w.t()), y, a.exp()];
    });
    expect(mm.dtype).toBe('bfloat16');
    expect(lin.dtype).toBe('bfloat16');
    expect(sm.dtype).toBe('float32');
    expect(torch.matmul(a, w.t()).dtype).toBe('float32');
    expect(torch.linear(a, w, bias).dtype).toBe('float32');
    // the bf16 result is the fp32 one rounded (bf16 has an 8-bit mantissa)
    const ref = Array.from(torch.linear(a, w, bias).toArray() as Float32Array);
    const got = Array.from(lin.float().toArray() as Float32Array);
    got.forEach((g, i) => expect(Math.abs(g - ref[i])).toBeLessThan(0.05 * (1 + Math.abs(ref[i]))));
    expect(state()).toEqual({ enabled: false, dtype: 'bfloat16' });
  }));

  it('returns fn\'s value and restores the previous state when fn throws', () => {
    expect(torch.autocast('cpu', () => 42)).toBe(42);
    expect(() => torch.autocast('cpu', () => { throw new Error('boom'); })).toThrow('boom');
    expect(state()).toEqual({ enabled: false, dtype: 'bfloat16' });
    // nested throw: the outer region's state is back after the inner one unwinds
    torch.autocast('cpu', () => {
      expect(() => torch.autocast('cpu', () => { throw new Error('inner'); }, { enabled: false })).toThrow('inner');
      expect(torch.isAutocastEnabled('cpu')).toBe(true);
    });
    expect(torch.isAutocastEnabled('cpu')).toBe(false);
  });

  it('nests: an inner enabled:false region runs in float32, the outer resumes bf16', () => torch.tidy(() => {
    const a = torch.randn([2, 5]);
    const b = torch.randn([5, 3]);
    const dtypes = torch.autocast('cpu', () => {
      const outer1 = torch.matmul(a, b).dtype;
      const inner = torch.autocast('cpu', () => {
        const d = torch.matmul(a, b).dtype;
        const innermost = torch.autocast('cpu', () => torch.matmul(a, b).dtype);
        return [d, innermost, torch.matmul(a, b).dtype];
      }, { enabled: false });
      return [outer1, ...inner, torch.matmul(a, b).dtype];
    });
    expect(dtypes).toEqual(['bfloat16', 'float32', 'bfloat16', 'float32', 'bfloat16']);
    expect(torch.isAutocastEnabled('cpu')).toBe(false);
  }));

  it('rejects async functions, bad devices and dtypes, leaving the state unchanged', () => {
    expect(() => torch.autocast('cpu', (async () => 1) as unknown as () => number)).toThrow(/synchronous/);
    expect(() => torch.autocast('tpu' as 'cpu', () => 1)).toThrow(TorchError);
    expect(() => torch.autocast('cpu', () => 1, { dtype: 'int32' })).toThrow(/autocast/);
    expect(() => torch.autocast('cuda', () => 1, { dtype: 'float64' })).toThrow(/bfloat16 and float16/);
    expect(state()).toEqual({ enabled: false, dtype: 'bfloat16' });
    expect(torch.isAutocastEnabled('cuda')).toBe(false);
  });

  it('autograd through a bf16 region: float32 parameters get float32 gradients', () => torch.tidy(() => {
    const w = torch.randn([3, 4], { requiresGrad: true });
    const x = torch.randn([5, 4]);
    const y = torch.autocast('cpu', () => torch.linear(x, w));
    expect(y.dtype).toBe('bfloat16');
    y.float().square().sum().backward();
    expect(w.grad?.dtype).toBe('float32');
    expect(w.dtype).toBe('float32');
  }));

  it('bf16 autocast training reaches the fp32 loss (relative 5%) on a small MLP regression', () => {
    const STEPS = 100;
    torch.manualSeed(1234);
    const x = torch.keep(torch.randn([128, 4]));
    // target: a smooth nonlinear function of the inputs
    const y = torch.keep(torch.tidy(() => x.sum(1, true).mul(0.7).sin().add(x.narrow(1, 0, 1).mul(x.narrow(1, 1, 1)).mul(0.3))));

    const train = (bf16: boolean) => {
      torch.manualSeed(7); // the same initial weights for both runs
      const model = new nn.Sequential(new nn.Linear(4, 64), new nn.Tanh(), new nn.Linear(64, 64), new nn.Tanh(), new nn.Linear(64, 1));
      const opt = new optim.AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0 });
      const losses: number[] = [];
      for (let s = 0; s < STEPS; s++) {
        torch.tidy(() => {
          opt.zeroGrad();
          const fwd = () => (model.forward(x) as Tensor).float().sub(y).square().mean();
          const loss = bf16 ? torch.autocast('cpu', fwd) : fwd();
          loss.backward();
          opt.step();
          losses.push(loss.item() as number);
        });
      }
      for (const p of model.parameters()) expect(p.dtype).toBe('float32'); // master weights stay fp32
      model.dispose();
      return losses;
    };

    const fp32 = train(false);
    const bf16 = train(true);
    torch.dispose([x, y]);
    const initial = fp32[0];
    expect(Math.abs(bf16[0] - initial) / initial).toBeLessThan(0.05); // same init, bf16 rounding only
    const f = fp32[STEPS - 1];
    const b = bf16[STEPS - 1];
    console.log(`autocast training: initial ${initial.toFixed(4)}, fp32 final ${f.toExponential(4)}, bf16 final ${b.toExponential(4)}`);
    // both well below the initial loss (at least 10x lower; about 45x with this seed)
    expect(f).toBeLessThan(initial * 0.1);
    expect(b).toBeLessThan(initial * 0.1);
    // bf16 reaches fp32's final loss within 5% relative (about 0.05% with this seed)
    expect(Math.abs(b - f) / f).toBeLessThan(0.05);
  });
});
