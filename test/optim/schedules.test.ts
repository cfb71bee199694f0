// Schedules against their formulas, and gradient accumulation against one big batch.
import { nn, optim, torch } from '../../lib';

const opt = (lr = 1, groups = false) => {
  const a = torch.ones([1], { requiresGrad: true }), b = torch.ones([1], { requiresGrad: true });
  return groups ? new optim.SGD([{ params: [a] }, { params: [b], lr: lr * 10 }], { lr }) : new optim.SGD([a, b], { lr });
};

describe('schedules', () => {
  it('warm-up then cosine to a floor (per group, from each initial lr)', () => {
    const o = opt(2e-3, true);
    const s = new optim.WarmupCosine(o, { warmupSteps: 10, totalSteps: 110, minLrRatio: 0.1 });
    const f = (t: number) => (t < 10 ? t / 10 : 0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * Math.min(1, (t - 10) / 100)))));
    for (let t = 0; t <= 130; t++) {
      const [a, b] = s.getLr();
      expect(a).toBeCloseTo(2e-3 * f(t), 12);
      expect(b).toBeCloseTo(2e-2 * f(t), 12);
      s.step();
    }
    expect(f(5)).toBeCloseTo(0.5, 12);
    expect(f(60)).toBeCloseTo(0.55, 12); // half-way down the cosine: floor + (1 - floor) / 2
    expect(f(110)).toBeCloseTo(0.1, 12);
  });
  it('cosine to zero without warm-up; constant; lambda; state restore', () => {
    const o = opt(1);
    const s = new optim.WarmupCosine(o, { warmupSteps: 0, totalSteps: 4 });
    const seen: number[] = [];
    for (let t = 0; t < 5; t++) { seen.push(s.getLr()[0]); s.step(); }
    [1, (1 + Math.SQRT1_2) / 2, 0.5, (1 - Math.SQRT1_2) / 2, 0].forEach((v, i) => expect(seen[i]).toBeCloseTo(v, 12));
    const c = new optim.ConstantLR(opt(0.3));
    c.step(); c.step();
    expect(c.getLr()).toEqual([0.3]);
    const l = new optim.LambdaLR(opt(0.5), (t) => 0.9 ** t);
    for (let t = 0; t < 3; t++) l.step();
    expect(l.getLr()[0]).toBeCloseTo(0.5 * 0.729, 12);
    const r = new optim.LambdaLR(opt(0.5), (t) => 0.9 ** t);
    r.loadStateDict(l.stateDict());
    expect(r.getLr()).toEqual(l.getLr());
  });
  it('rejects bad settings', () => {
    expect(() => new optim.WarmupCosine(opt(), { warmupSteps: 5, totalSteps: 3 })).toThrow(/warmupSteps/);
    expect(() => new optim.LambdaLR(opt(), () => NaN)).toThrow(/returned NaN/);
  });
});

describe('GradientAccumulator', () => {
  it('4 micro-batches of 2 give the gradient and update of one batch of 8', () => {
    torch.manualSeed(3);
    const m1 = new nn.Linear(5, 3);
    const m2 = new nn.Linear(5, 3);
    m2.loadStateDict(m1.stateDict());
    const x = torch.randn([8, 5]), y = torch.randn([8, 3]);
    const o1 = new optim.SGD(m1.parameters(), { lr: 0.1 });
    const o2 = new optim.SGD(m2.parameters(), { lr: 0.1 });
    const acc = new optim.GradientAccumulator(o2, { steps: 4 });
    torch.tidy(() => {
      m1.forward(x).sub(y).square().mean().backward();
      const g1 = m1.weight.grad!.clone();
      o1.step();
      for (let k = 0; k < 4; k++) {
        const loss = m2.forward(x.narrow(0, 2 * k, 2)).sub(y.narrow(0, 2 * k, 2)).square().mean();
        const r = acc.backward(loss);
        expect(r === null).toBe(k < 3);
      }
      expect(acc.updates).toBe(1);
      expect(m2.weight.grad).toBeNull(); // zeroed after the update
      expect(m1.weight.sub(m2.weight).abs().max().item()).toBeLessThan(1e-6);
      expect(m1.bias!.sub(m2.bias!).abs().max().item()).toBeLessThan(1e-6);
    });
  });
});
