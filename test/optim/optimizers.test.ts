// AdamW and SGD against their formulas written here in plain float64 JS, over 10 steps with
// two parameter groups; float32 parameters take the fused native loop, float64 ones the ATen
// fallback. Gradients depend on the current parameters (g = 2p + noise), so any drift shows.
import { optim, torch, Tensor, TorchError } from '../../lib';
import { prng } from '../helpers/gradcheck';

type DT = 'float32' | 'float64';
const vals = (t: Tensor) => Array.from(t.toArray() as Float64Array | Float32Array, Number);

function setup(dtype: DT, sizes: number[], seed: number) {
  const r = prng(seed);
  const init = sizes.map((n) => Array.from({ length: n }, () => r() * 2 - 1));
  const params = init.map((v) => torch.tensor(v, { dtype, requiresGrad: true }));
  const noise = (step: number, i: number, k: number) => Math.sin(step * 7.1 + i * 3.3 + k * 0.7);
  const grad = (step: number, i: number, p: number[]) => p.map((x, k) => 2 * x + noise(step, i, k));
  /** Gives each param the gradient the formula will use (from its current values). */
  const feed = (step: number) => params.forEach((p, i) => {
    const g = grad(step, i, vals(p));
    const old = p.grad; p.grad = torch.tensor(g, { dtype }); old?.dispose();
  });
  return { init, params, grad, feed };
}

function adamwRef(p: number[], grads: (step: number, p: number[]) => number[], steps: number, h: { lr: number; b1: number; b2: number; eps: number; wd: number }) {
  const m = p.map(() => 0), v = p.map(() => 0);
  p = [...p];
  for (let t = 1; t <= steps; t++) {
    const g = grads(t - 1, p);
    for (let k = 0; k < p.length; k++) {
      p[k] *= 1 - h.lr * h.wd;
      m[k] = h.b1 * m[k] + (1 - h.b1) * g[k];
      v[k] = h.b2 * v[k] + (1 - h.b2) * g[k] * g[k];
      const denom = Math.sqrt(v[k]) / Math.sqrt(1 - h.b2 ** t) + h.eps;
      p[k] -= (h.lr / (1 - h.b1 ** t)) * (m[k] / denom);
    }
  }
  return p;
}

function sgdRef(p: number[], grads: (step: number, p: number[]) => number[], steps: number, h: { lr: number; mom: number; damp: number; wd: number; nesterov: boolean }) {
  p = [...p];
  const buf = p.map(() => 0);
  for (let t = 0; t < steps; t++) {
    const g = grads(t, p);
    for (let k = 0; k < p.length; k++) {
      let d = g[k] + h.wd * p[k];
      if (h.mom !== 0) {
        buf[k] = t === 0 ? d : h.mom * buf[k] + (1 - h.damp) * d;
        d = h.nesterov ? d + h.mom * buf[k] : buf[k];
      }
      p[k] -= h.lr * d;
    }
  }
  return p;
}

const maxRel = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i]) / Math.max(1, Math.abs(b[i]))));

describe.each([['float32', 2e-5], ['float64', 1e-12]] as [DT, number][])('%s', (dtype, tol) => {
  it('AdamW over 10 steps with two parameter groups (own lr and weight decay)', () => {
    // 40000 elements: big enough for the threaded split of the fused loop.
    const { init, params, grad, feed } = setup(dtype, [40000, 7, 5], 1);
    const o = new optim.AdamW([{ params: [params[0], params[1]], weightDecay: 0.1 }, { params: [params[2]], lr: 0.05, weightDecay: 0 }], { lr: 0.01, betas: [0.9, 0.95], eps: 1e-8 });
    for (let s = 0; s < 10; s++) { feed(s); o.step(); }
    const hyper = [{ lr: 0.01, wd: 0.1 }, { lr: 0.01, wd: 0.1 }, { lr: 0.05, wd: 0 }];
    params.forEach((p, i) => {
      const ref = adamwRef(init[i], (s, x) => grad(s, i, x), 10, { ...hyper[i], b1: 0.9, b2: 0.95, eps: 1e-8 });
      expect(maxRel(vals(p), ref)).toBeLessThan(tol);
    });
    expect(o.stateDict().state[0].step).toBe(10);
  });

  it.each([
    ['plain', { mom: 0, damp: 0, wd: 0, nesterov: false }],
    ['momentum + dampening + weight decay', { mom: 0.9, damp: 0.1, wd: 0.01, nesterov: false }],
    ['Nesterov', { mom: 0.8, damp: 0, wd: 0.001, nesterov: true }],
  ] as const)('SGD %s over 10 steps', (_n, h) => {
    const { init, params, grad, feed } = setup(dtype, [30000, 6], 2);
    const o = new optim.SGD([{ params: [params[0]] }, { params: [params[1]], lr: 0.2 }], { lr: 0.05, momentum: h.mom, dampening: h.damp, weightDecay: h.wd, nesterov: h.nesterov });
    for (let s = 0; s < 10; s++) { feed(s); o.step(); }
    params.forEach((p, i) => {
      const ref = sgdRef(init[i], (s, x) => grad(s, i, x), 10, { lr: i === 0 ? 0.05 : 0.2, ...h });
      expect(maxRel(vals(p), ref)).toBeLessThan(tol);
    });
  });
});

describe('optimiser behaviour', () => {
  it('skips parameters without a gradient and zeroGrad() sets gradients to none', () => {
    const a = torch.ones([3], { requiresGrad: true }), b = torch.ones([3], { requiresGrad: true });
    const o = new optim.AdamW([a, b], { lr: 0.1 });
    a.grad = torch.ones([3]);
    o.step();
    expect(vals(b)).toEqual([1, 1, 1]);
    expect(o.stateDict().state[1].step).toBe(0);
    expect(vals(a)[0]).toBeLessThan(1);
    o.zeroGrad();
    expect(a.grad).toBeNull();
  });

  it('state save and load continue bit-identically', () => {
    const A = setup('float32', [50, 4], 3), B = setup('float32', [50, 4], 3);
    const oa = new optim.AdamW([{ params: [A.params[0]] }, { params: [A.params[1]], weightDecay: 0 }], { lr: 0.02 });
    for (let s = 0; s < 5; s++) { A.feed(s); oa.step(); }
    // B: parameters copied from A, a fresh optimiser loading A's state.
    torch.noGrad(() => B.params.forEach((p, i) => p.copy_(A.params[i])));
    const ob = new optim.AdamW([{ params: [B.params[0]] }, { params: [B.params[1]], weightDecay: 0 }], { lr: 0.5 });
    ob.loadStateDict(oa.stateDict());
    expect(ob.paramGroups[0].lr).toBe(0.02);
    for (let s = 5; s < 10; s++) { A.feed(s); oa.step(); B.feed(s); ob.step(); }
    A.params.forEach((p, i) => expect(Buffer.from((p.toArray() as Float32Array).buffer).equals(Buffer.from((B.params[i].toArray() as Float32Array).buffer))).toBe(true));
  });

  it('weightDecayGroups puts biases and norm weights in a group without decay', () => {
    const w = torch.ones([2, 2], { requiresGrad: true }), b = torch.ones([2], { requiresGrad: true }), e = torch.ones([3, 2], { requiresGrad: true });
    const [d, n] = optim.weightDecayGroups([['lin.weight', w], ['lin.bias', b], ['head.embed', e]], 0.02, '*.embed');
    expect(d.params).toEqual([w]);
    expect(n.params).toEqual([b, e]);
    expect([d.weightDecay, n.weightDecay]).toEqual([0.02, 0]);
  });

  it('bad input gives clear errors', () => {
    const p = torch.ones([2], { requiresGrad: true });
    expect(() => new optim.AdamW([p], { lr: -1 })).toThrow(/invalid learning rate/);
    expect(() => new optim.AdamW([p], { betas: [1, 0.9] })).toThrow(/invalid betas/);
    expect(() => new optim.AdamW([{ params: [p], momentum: 0.9 } as never])).toThrow(/unknown option 'momentum'/);
    expect(() => new optim.SGD([{ params: [p] }, { params: [p] }], { lr: 0.1 })).toThrow(/more than one parameter group/);
    expect(() => new optim.SGD([p], { lr: 0.1, nesterov: true })).toThrow(TorchError);
    const q = torch.ones([2], { requiresGrad: true });
    const o = new optim.AdamW([q]);
    q.grad = torch.ones([3]);
    expect(() => o.step()).toThrow(/gradient of parameter 0 has shape \[3\]/);
  });
});

describe('clipGradNorm', () => {
  const make = (gs: number[][]) => gs.map((g) => { const p = torch.zeros([g.length], { requiresGrad: true }); p.grad = torch.tensor(g); return p; });
  it('returns the total 2-norm and scales by max / (norm + 1e-6)', () => {
    const ps = make([[3, 4], [12], [0, 0, 0]]);
    const none = torch.zeros([2], { requiresGrad: true });
    const n = optim.clipGradNorm([...ps, none], 6.5);
    expect(n).toBeCloseTo(13, 5);
    const c = 6.5 / (13 + 1e-6);
    expect(vals(ps[0].grad!)).toEqual([3 * c, 4 * c].map(Math.fround));
    expect(vals(ps[1].grad!)[0]).toBeCloseTo(12 * c, 6);
  });
  it('leaves gradients alone below the limit; inf-norm; large tensors', () => {
    const ps = make([[3, -4]]);
    expect(optim.clipGradNorm(ps, 100)).toBeCloseTo(5, 6);
    expect(vals(ps[0].grad!)).toEqual([3, -4]);
    expect(optim.clipGradNorm(ps, 100, Infinity)).toBe(4);
    const r = prng(9);
    const big = Array.from({ length: 100003 }, () => r() - 0.5);
    const [q] = make([big]);
    const want = Math.sqrt(big.reduce((s, x) => s + Math.fround(x) ** 2, 0));
    expect(Math.abs(optim.clipGradNorm([q], 1e9) - want) / want).toBeLessThan(1e-6);
    expect(optim.clipGradNorm([q], 1e9, 1)).toBeCloseTo(big.reduce((s, x) => s + Math.abs(Math.fround(x)), 0), 0);
  });
  it('refuses a non-finite norm when asked', () => {
    const ps = make([[Infinity, 1]]);
    expect(() => optim.clipGradNorm(ps, 1, 2, { errorIfNonfinite: true })).toThrow(/non-finite/);
  });
});
