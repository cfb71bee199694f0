// Autograd from JS: backward, retainGraph, grad mode, autograd.grad (higher order), leaves,
// accumulation, zeroing, detach. Expected gradients are derived by hand.
import { torch, Tensor, TorchError } from '../../lib';
import { expectClose } from '../helpers/reference';

const v = (t: Tensor | null) => {
  if (t === null) throw new Error('expected a gradient, got null');
  return Array.from(t.toArray() as Float64Array);
};
const f64 = (data: number[], requiresGrad = true) => torch.tensor(data, { dtype: 'float64', requiresGrad });

describe('autograd', () => {
  it('backward with an explicit gradient: d(x^2)/dx . g = 2 x g', () => torch.tidy(() => {
    const x = f64([1, 2, -3]);
    const y = x.mul(x);
    y.backward(torch.tensor([1, 0.5, 2], { dtype: 'float64' }));
    expect(v(x.grad)).toEqual([2, 2, -12]);
  }));

  it('backward of a scalar uses gradient 1', () => torch.tidy(() => {
    const x = f64([0.5, -1]);
    x.exp().sum().backward();
    expectClose(v(x.grad), [Math.exp(0.5), Math.exp(-1)], 0, 1e-14);
  }));

  it('retainGraph: a second backward works only with it', () => torch.tidy(() => {
    const x = f64([1, 2]);
    const y = x.exp().mul(x).sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    const once = [1, 2].map((a) => Math.exp(a) * (1 + a));
    expectClose(v(x.grad), once.map((g) => 2 * g), 0, 1e-14);
    // without retainGraph the graph's buffers are freed after the first call
    const z = f64([1, 2]);
    const w = z.exp().mul(z).sum();
    w.backward();
    const e = (() => { try { w.backward(); } catch (err) { return err; } return null; })();
    expect(e).toBeInstanceOf(TorchError);
    expect((e as Error).message).toMatch(/second time|retain_graph/);
  }));

  it('noGrad records nothing; enableGrad re-enables inside it; modes restore', () => torch.tidy(() => {
    const x = f64([1, 2]);
    expect(torch.isGradEnabled()).toBe(true);
    const y = torch.noGrad(() => {
      expect(torch.isGradEnabled()).toBe(false);
      const inner = torch.enableGrad(() => {
        expect(torch.isGradEnabled()).toBe(true);
        return x.mul(3);
      });
      expect(torch.isGradEnabled()).toBe(false);
      expect(inner.requiresGrad).toBe(true);
      expect(inner.gradFn).toMatch(/MulBackward/);
      return x.mul(2);
    });
    expect(torch.isGradEnabled()).toBe(true);
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(y.isLeaf).toBe(true);
    expect(v(y)).toEqual([2, 4]);
    // setGradEnabled returns the previous mode
    expect(torch.setGradEnabled(false)).toBe(true);
    expect(x.mul(2).requiresGrad).toBe(false);
    expect(torch.setGradEnabled(true)).toBe(false);
    expect(x.mul(2).requiresGrad).toBe(true);
  }));

  it('noGrad restores the mode when fn throws', () => {
    expect(() => torch.noGrad(() => { throw new Error('x'); })).toThrow('x');
    expect(torch.isGradEnabled()).toBe(true);
  });

  it('autograd.grad with createGraph: second derivative of x^3 is 6x', () => torch.tidy(() => {
    const x = f64([2, -1, 0.5]);
    const y = x.pow(3).sum();
    const [g] = torch.autograd.grad(y, x, null, { createGraph: true });
    expect(v(g)).toEqual([12, 3, 0.75]); // 3x^2
    expect(g!.requiresGrad).toBe(true);
    const [h] = torch.autograd.grad(g!.sum(), x);
    expect(v(h)).toEqual([12, -6, 3]); // 6x
    expect(x.grad).toBeNull(); // autograd.grad does not touch .grad
    // third derivative: 6
    const [g1] = torch.autograd.grad(x.pow(3).sum(), [x], null, { createGraph: true });
    const [g2] = torch.autograd.grad(g1!.sum(), [x], null, { createGraph: true });
    const [g3] = torch.autograd.grad(g2!.sum(), [x]);
    expect(v(g3)).toEqual([6, 6, 6]);
  }));

  it('autograd.grad over several inputs, with grad outputs, and allowUnused', () => torch.tidy(() => {
    const a = f64([1, 2]);
    const b = f64([3, 4]);
    const unused = f64([0]);
    const y = a.mul(b);
    const [ga, gb, gu] = torch.autograd.grad(y, [a, b, unused], [torch.tensor([1, 10], { dtype: 'float64' })], { allowUnused: true, retainGraph: true });
    expect(v(ga)).toEqual([3, 40]);
    expect(v(gb)).toEqual([1, 20]);
    expect(gu).toBeNull();
    expect(() => torch.autograd.grad(y.sum(), [a, unused])).toThrow(TorchError);
  }));

  it('backward with createGraph makes .grad differentiable', () => torch.tidy(() => {
    const x = f64([3]);
    x.pow(2).sum().backward(undefined, { createGraph: true });
    const g = x.grad!;
    expect(v(g)).toEqual([6]);
    expect(g.requiresGrad).toBe(true);
    const [gg] = torch.autograd.grad(g.sum(), x);
    expect(v(gg)).toEqual([2]);
    x.grad = null;
  }));

  it('isLeaf and gradFn', () => torch.tidy(() => {
    const x = f64([1]);
    const c = torch.tensor([1], { dtype: 'float64' });
    const y = x.mul(2);
    expect(x.isLeaf).toBe(true);
    expect(x.gradFn).toBeNull();
    expect(c.isLeaf).toBe(true);
    expect(y.isLeaf).toBe(false);
    expect(y.gradFn).toMatch(/^MulBackward\d$/);
    expect(x.add(c).gradFn).toMatch(/^AddBackward\d$/);
    expect(y.detach().isLeaf).toBe(true);
    expect(c.mul(2).isLeaf).toBe(true); // no grad needed: a leaf
  }));

  it('gradients accumulate across two backward calls', () => torch.tidy(() => {
    const x = f64([1, 2]);
    x.mul(3).sum().backward();
    x.mul(x).sum().backward();
    expect(v(x.grad)).toEqual([3 + 2, 3 + 4]);
    // torch.autograd.backward over two outputs at once accumulates the same way
    const a = f64([1]);
    torch.autograd.backward([a.mul(2).sum(), a.mul(5).sum()]);
    expect(v(a.grad)).toEqual([7]);
  }));

  it('zeroing grads with t.grad = null, and setting a gradient', () => torch.tidy(() => {
    const x = f64([1, 2]);
    x.mul(3).sum().backward();
    expect(v(x.grad)).toEqual([3, 3]);
    x.grad = null;
    expect(x.grad).toBeNull();
    x.mul(5).sum().backward();
    expect(v(x.grad)).toEqual([5, 5]);
    x.grad = torch.tensor([100, 200], { dtype: 'float64' });
    x.sum().backward();
    expect(v(x.grad)).toEqual([101, 201]);
  }));

  it('retainGrad keeps the gradient of a non-leaf', () => torch.tidy(() => {
    const x = f64([1, 2]);
    const y = x.mul(2).retainGrad();
    y.pow(2).sum().backward();
    expect(v(y.grad)).toEqual([4, 8]); // 2y
    expect(v(x.grad)).toEqual([8, 16]); // 2y * 2
  }));

  it('detach: no grad, shares storage, and stops gradients', () => torch.tidy(() => {
    const x = f64([1, 2]);
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    torch.noGrad(() => d.mul_(10));
    expect(v(x.detach())).toEqual([10, 20]); // same storage
    const y = x.mul(x.detach());
    y.sum().backward();
    expect(v(x.grad)).toEqual([10, 20]); // d/dx (x * const) = const
  }));

  it('in-place updates under noGrad keep a leaf a leaf', () => torch.tidy(() => {
    const w = f64([1, 2]);
    w.mul(w).sum().backward();
    torch.noGrad(() => w.sub_(w.grad!.mul(0.25)));
    expect(v(w.detach())).toEqual([0.5, 1]);
    expect(w.isLeaf).toBe(true);
    expect(w.requiresGrad).toBe(true);
    expect(() => w.add_(1)).toThrow(TorchError); // in-place on a leaf that requires grad, grad mode on
  }));

  it('embedding: gradients accumulate over repeated indices; the paddingIdx row gets none', () => torch.tidy(() => {
    const w = torch.tensor([[1, 2], [3, 4], [5, 6]], { dtype: 'float64', requiresGrad: true });
    torch.embedding(torch.tensor([0n, 2n, 2n, 1n]), w, 2).sum().backward();
    expect(w.grad!.toNested()).toEqual([[1, 1], [1, 1], [0, 0]]);
    w.grad = null;
    torch.embedding(torch.tensor([[0n, 2n], [2n, 2n]]), w).mul(torch.tensor([[[1, 10]]], { dtype: 'float64' })).sum().backward();
    expect(w.grad!.toNested()).toEqual([[1, 10], [0, 0], [3, 30]]);
  }));

  it('requiresGrad_ and the requiresGrad setter', () => torch.tidy(() => {
    const x = torch.tensor([1, 2], { dtype: 'float64' });
    expect(x.requiresGrad).toBe(false);
    x.requiresGrad_();
    expect(x.requiresGrad).toBe(true);
    x.requiresGrad = false;
    expect(x.requiresGrad).toBe(false);
    expect(x.mul(2).requiresGrad).toBe(false);
  }));
});
