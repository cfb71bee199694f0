// Autograd gradients of differentiable ops against float64 central differences.
import { torch, Tensor } from '../../lib';
import { assertGradcheck, gradcheck, randT } from '../helpers/gradcheck';

type Case = () => [(xs: Tensor[]) => Tensor, Tensor[]];

/** One `it` per op: builds inputs, checks, frees everything. */
function check(name: string, build: Case): void {
  it(name, () => {
    const before = torch.memory().tensors;
    torch.tidy(() => {
      const [fn, inputs] = build();
      const report = assertGradcheck(fn, inputs);
      expect(report.checked).toBeGreaterThan(0);
    });
    expect(torch.memory().tensors).toBe(before);
  });
}

const i64 = (data: number[] | number[][] | number[][][], shape?: number[]) => torch.tensor(data, { dtype: 'int64', shape });

describe('the gradient checker itself', () => {
  it('passes a correct gradient and reports how many elements it compared', () => {
    torch.tidy(() => {
      const x = randT([2, 3], 1);
      const r = gradcheck(([a]) => a.mul(a), [x]);
      expect(r.ok).toBe(true);
      expect(r.checked).toBe(6);
      expect(r.maxAbsErr).toBeLessThan(1e-7);
    });
  });

  it('catches a wrong gradient (x * detach(x): autograd sees r x, the true derivative is 2 r x)', () => {
    torch.tidy(() => {
      const x = randT([5], 2, { awayFromZero: 0.2 });
      const r = gradcheck(([a]) => a.mul(a.detach()), [x]);
      expect(r.ok).toBe(false);
      expect(r.mismatches.length).toBe(5);
      for (const m of r.mismatches) expect(m.numeric / m.analytic).toBeCloseTo(2, 5);
      expect(() => assertGradcheck(([a]) => a.mul(a.detach()), [x])).toThrow(/gradcheck failed on 5 of 5 elements/);
    });
  });

  it('frees every tensor it creates', () => {
    torch.tidy(() => {
      const x = randT([3, 4], 3);
      const before = torch.memory().tensors;
      gradcheck(([a]) => a.exp().sum(1), [x]);
      expect(torch.memory().tensors).toBe(before);
      expect(x.isDisposed).toBe(false);
      expect(x.grad).toBeNull();
    });
  });
});

describe('gradcheck (float64, central differences, eps 1e-6)', () => {
  // elementwise binary, with broadcasting
  check('add (broadcast [2,3] + [3], alpha 2)', () => [([a, b]) => a.add(b, 2), [randT([2, 3], 10), randT([3], 11)]]);
  check('add (scalar)', () => [([a]) => a.add(0.5), [randT([4], 12)]]);
  check('sub (broadcast [3,1] - [1,4], alpha 3)', () => [([a, b]) => a.sub(b, 3), [randT([3, 1], 13), randT([1, 4], 14)]]);
  check('mul', () => [([a, b]) => a.mul(b), [randT([2, 3], 15), randT([2, 3], 16)]]);
  check('div', () => [([a, b]) => a.div(b), [randT([2, 3], 17), randT([2, 3], 18, { awayFromZero: 0.5 })]]);
  check('neg', () => [([a]) => a.neg(), [randT([5], 19)]]);
  check('abs (away from 0)', () => [([a]) => a.abs(), [randT([6], 20, { awayFromZero: 0.1 })]]);
  check('exp', () => [([a]) => a.exp(), [randT([2, 3], 21)]]);
  check('log', () => [([a]) => a.log(), [randT([2, 3], 22, { lo: 0.5, hi: 2 })]]);
  check('log1p', () => [([a]) => a.log1p(), [randT([2, 3], 23, { lo: -0.5, hi: 2 })]]);
  check('pow (tensor exponent: both base and exponent)', () => [([a, b]) => a.pow(b), [randT([2, 3], 24, { lo: 0.5, hi: 2 }), randT([2, 3], 25)]]);
  check('pow (scalar exponent 2.5)', () => [([a]) => a.pow(2.5), [randT([2, 3], 26, { lo: 0.5, hi: 2 })]]);
  check('pow (integer exponent 3, negative base)', () => [([a]) => a.pow(3), [randT([5], 27)]]);
  check('sqrt', () => [([a]) => a.sqrt(), [randT([2, 3], 28, { lo: 0.3, hi: 2 })]]);
  check('rsqrt', () => [([a]) => a.rsqrt(), [randT([2, 3], 29, { lo: 0.3, hi: 2 })]]);
  check('sin', () => [([a]) => a.sin(), [randT([2, 3], 30, { lo: -3, hi: 3 })]]);
  check('cos', () => [([a]) => a.cos(), [randT([2, 3], 31, { lo: -3, hi: 3 })]]);
  check('tanh', () => [([a]) => a.tanh(), [randT([2, 3], 32, { lo: -2, hi: 2 })]]);
  check('sigmoid', () => [([a]) => a.sigmoid(), [randT([2, 3], 33, { lo: -3, hi: 3 })]]);
  check('relu (away from 0)', () => [([a]) => a.relu(), [randT([8], 34, { awayFromZero: 0.1 })]]);
  check('gelu (erf form)', () => [([a]) => a.gelu(), [randT([2, 4], 35, { lo: -3, hi: 3 })]]);
  check('gelu (tanh approximation)', () => [([a]) => a.gelu('tanh'), [randT([2, 4], 36, { lo: -3, hi: 3 })]]);
  check('silu', () => [([a]) => a.silu(), [randT([2, 4], 37, { lo: -3, hi: 3 })]]);
  check('softplus (beta 2)', () => [([a]) => a.softplus(2, 20), [randT([2, 4], 38, { lo: -3, hi: 3 })]]);
  check('clamp (bounds away from the values)', () => {
    const x = torch.tensor([-2.0, -0.7, -0.2, 0.1, 0.45, 0.9, 1.7], { dtype: 'float64', requiresGrad: true });
    return [([a]) => a.clamp(-0.5, 0.6), [x]];
  });
  check('clamp (tensor bounds)', () => {
    const x = torch.tensor([-2.0, -0.2, 0.3, 1.7], { dtype: 'float64', requiresGrad: true });
    const lo = torch.tensor([-1.0, -1.0, 0.0, 0.0], { dtype: 'float64', requiresGrad: true });
    const hi = torch.tensor([1.0, 1.0, 1.0, 1.0], { dtype: 'float64', requiresGrad: true });
    return [([a, l, h]) => a.clamp(l, h), [x, lo, hi]];
  });
  check('maskedFill', () => {
    const mask = torch.tensor([[true, false, false], [false, true, true]]);
    return [([a]) => a.maskedFill(mask, -3.5).mul(a), [randT([2, 3], 39)]];
  });

  // reductions
  check('sum (all, dim, keepdim)', () => [([a]) => a.sum().add(a.sum(1, true).mul(a)).add(a.sum([0, 1])), [randT([2, 3], 40)]]);
  check('mean (all and dim)', () => [([a]) => a.mean(0).mul(a.mean()), [randT([3, 4], 41)]]);
  check('max (dim, distinct values)', () => {
    const x = torch.tensor([[0.1, 0.9, -0.4], [1.3, -0.2, 0.6], [0.0, 0.35, 2.1]], { dtype: 'float64', requiresGrad: true });
    return [([a]) => a.max(1).add(a.max(0, true).sum()), [x]];
  });
  check('min (dim, distinct values)', () => {
    const x = torch.tensor([[0.1, 0.9, -0.4], [1.3, -0.2, 0.6], [0.0, 0.35, 2.1]], { dtype: 'float64', requiresGrad: true });
    return [([a]) => a.min(0).mul(2).add(a.min(1)), [x]];
  });
  check('logsumexp', () => [([a]) => a.logsumexp(1), [randT([3, 4], 42, { lo: -2, hi: 2 })]]);
  check('std (unbiased, all and dim)', () => [([a]) => a.std(1).add(a.std()), [randT([3, 4], 43)]]);
  check('var (unbiased and biased)', () => [([a]) => a.var(0).add(a.var(0, false, { unbiased: false })), [randT([4, 3], 44)]]);
  check('norm (p=2 all, p=3 along dim)', () => [([a]) => a.norm(3, 1).add(a.norm()), [randT([3, 4], 45, { awayFromZero: 0.1 })]]);

  // linear algebra
  check('matmul ([2,3] @ [3,4], and batched broadcast)', () => [
    ([a, b, c]) => a.matmul(b).sum().add(c.matmul(b).sum(0)),
    [randT([2, 3], 46), randT([3, 4], 47), randT([2, 5, 3], 48)],
  ]);
  check('bmm', () => [([a, b]) => a.bmm(b), [randT([2, 2, 3], 49), randT([2, 3, 2], 50)]]);
  check('linear (x, weight, bias)', () => [
    ([x, w, b]) => torch.linear(x, w, b),
    [randT([3, 4], 51), randT([2, 4], 52), randT([2], 53)],
  ]);

  // shape and indexing
  check('reshape and view', () => [([a]) => a.reshape(3, 4).mul(a.view([4, 3]).reshape(3, 4).exp()), [randT([2, 6], 54)]]);
  check('transpose', () => [([a]) => a.transpose(0, 2).mul(torch.tensor([1, 2], { dtype: 'float64' })), [randT([2, 3, 4], 55)]]);
  check('permute', () => [([a]) => a.permute(2, 0, 1).contiguous().view(-1).mul(torch.arange(1, 13, 1, { dtype: 'float64' })), [randT([2, 3, 2], 56)]]);
  check('expand', () => [([a]) => a.expand(3, 2, 4).mul(torch.arange(0, 24, 1, { dtype: 'float64' }).reshape(3, 2, 4)), [randT([2, 1], 57)]]);
  check('repeat', () => [([a]) => a.repeat(2, 3).exp(), [randT([2, 2], 58)]]);
  check('narrow', () => [([a]) => a.narrow(1, 1, 2).mul(a.narrow(0, 1, 1).narrow(1, 0, 2)), [randT([3, 3], 59)]]);
  check('select', () => [([a]) => a.select(1, 2).mul(a.select(0, -1).sum()), [randT([3, 4], 60)]]);
  check('indexSelect (repeated indices accumulate)', () => [([a]) => a.indexSelect(0, i64([2, 0, 2])), [randT([3, 4], 61)]]);
  check('gather', () => [([a]) => a.gather(1, i64([[0, 2, 2], [1, 0, 3], [3, 3, 1]])), [randT([3, 4], 62)]]);
  check('scatter (src; self and src both differentiable)', () => {
    // each position written at most once, so the gradient is well defined
    const index = i64([[0, 2, 1], [1, 0, 2]]);
    return [([self, src]) => self.scatter(0, index, src), [randT([3, 3], 63), randT([2, 3], 64)]];
  });
  check('cat', () => [([a, b]) => torch.cat([a, b, a], 1), [randT([2, 2], 65), randT([2, 3], 66)]]);
  check('stack', () => [([a, b]) => torch.stack([a, b], 1).mul(torch.stack([b, a], 1).exp()), [randT([2, 3], 67), randT([2, 3], 68)]]);
  check('where', () => {
    const cond = torch.tensor([[true, false, true], [false, false, true]]);
    return [([a, b]) => torch.where(cond, a, b).mul(torch.where(cond, 2, b)), [randT([2, 3], 69), randT([2, 3], 70)]];
  });

  check('scatterAdd (repeated indices accumulate)', () => [([self, src]) => self.scatterAdd(1, i64([[0, 0, 2], [1, 1, 1]]), src), [randT([2, 3], 93), randT([2, 3], 94)]]);
  check('split and chunk', () => [([a]) => {
    const [p, q] = a.split([1, 3], 1);
    const [r, t] = a.chunk(2, 0);
    return p.mul(q.sum(1, true)).sum().add(r.mul(t).exp().sum());
  }, [randT([2, 4], 95)]]);
  check('flip, tril, triu, t', () => [([a]) => a.flip([0]).tril().add(a.triu(1).t().mul(2)), [randT([3, 3], 96)]]);
  check('squeeze, unsqueeze, flatten', () => [([a]) => a.unsqueeze(0).squeeze(2).flatten().mul(a.squeeze().flatten().exp()), [randT([2, 1, 3], 97)]]);
  check('cumsum and prod', () => [([a]) => a.cumsum(1).mul(a.prod()), [randT([2, 3], 98, { lo: 0.5, hi: 1.5 })]]);
  check('square, reciprocal, erf', () => [([a]) => a.square().add(a.reciprocal()).add(a.erf()), [randT([6], 99, { awayFromZero: 0.3 })]]);
  check('maximum and minimum (no ties)', () => [([a, b]) => a.maximum(b).mul(torch.minimum(a, b).exp()), [randT([5], 100), randT([5], 101)]]);
  check('mean and logsumexp over two dims with keepdim', () => [([a]) => a.mean([0, 2], true).mul(a.logsumexp([1, 2], true)), [randT([2, 3, 2], 102)]]);
  check('softmax with dtype float64 from float64 input, along dim 0', () => [([a]) => a.softmax(0, { dtype: 'float64' }).mul(a), [randT([3, 2], 103)]]);
  check('maskedFill with a tensor value', () => {
    const mask = torch.tensor([true, false, true, false]);
    return [([a, val]) => a.maskedFill(mask, val).mul(a), [randT([4], 104), randT([], 105)]];
  });
  check('interpolate (bicubic, size)', () => [([x]) => torch.interpolate(x, { size: [4, 5], mode: 'bicubic' }), [randT([1, 1, 3, 3], 106)]]);
  check('interpolate (area)', () => [([x]) => torch.interpolate(x, { size: [2, 2], mode: 'area' }), [randT([1, 2, 4, 4], 107)]]);
  check('layerNorm without affine parameters', () => [([x]) => torch.layerNorm(x, [2, 3], null, null, 1e-3), [randT([2, 2, 3], 108)]]);
  check('scaledDotProductAttention (boolean mask and float mask)', () => {
    const boolMask = torch.tensor([[true, false, true], [true, true, false]]);
    return [([q, k, v, m]) => torch.scaledDotProductAttention(q, k, v, { attnMask: boolMask }).add(torch.scaledDotProductAttention(q, k, v, { attnMask: m })),
      [randT([2, 4], 109), randT([3, 4], 110), randT([3, 2], 111), randT([2, 3], 112)]];
  });

  // neural-network functions
  check('softmax', () => [([a]) => a.softmax(-1), [randT([2, 5], 71, { lo: -2, hi: 2 })]]);
  check('logSoftmax', () => [([a]) => torch.logSoftmax(a, 0), [randT([4, 3], 72, { lo: -2, hi: 2 })]]);
  check('layerNorm (input, weight, bias)', () => [
    ([x, w, b]) => torch.layerNorm(x, [4], w, b),
    [randT([3, 4], 73), randT([4], 74), randT([4], 75)],
  ]);
  check('embedding (weight; repeated indices accumulate)', () => [([w]) => torch.embedding(i64([[0, 2], [2, 3]]), w), [randT([4, 3], 76)]]);
  check('conv2d (input, weight, bias; stride 2, padding 1)', () => [
    ([x, w, b]) => torch.conv2d(x, w, b, { stride: 2, padding: 1 }),
    [randT([1, 2, 5, 5], 77), randT([3, 2, 3, 3], 78), randT([3], 79)],
  ]);
  check('conv2d (groups 2, dilation 2)', () => [
    ([x, w]) => torch.conv2d(x, w, null, { groups: 2, dilation: 2 }),
    [randT([1, 4, 5, 5], 80), randT([2, 2, 2, 2], 81)],
  ]);
  check('interpolate (bilinear, size)', () => [([x]) => torch.interpolate(x, { size: [5, 3], mode: 'bilinear' }), [randT([1, 2, 3, 4], 82)]]);
  check('interpolate (bilinear, alignCorners, scaleFactor 2)', () => [
    ([x]) => torch.interpolate(x, { scaleFactor: 2, mode: 'bilinear', alignCorners: true }),
    [randT([1, 1, 2, 3], 83)],
  ]);
  check('pad (constant)', () => [([x]) => torch.pad(x, [1, 2, 0, 1], 'constant', 0.5).exp(), [randT([1, 2, 3], 84)]]);
  check('pad (reflect)', () => [([x]) => torch.pad(x, [2, 1, 1, 2], 'reflect'), [randT([1, 1, 3, 4], 85)]]);
  check('pad (replicate)', () => [([x]) => torch.pad(x, [1, 2], 'replicate'), [randT([1, 2, 3], 86)]]);
  check('scaledDotProductAttention (q, k, v)', () => [
    ([q, k, v]) => torch.scaledDotProductAttention(q, k, v),
    [randT([1, 2, 3, 4], 87), randT([1, 2, 5, 4], 88), randT([1, 2, 5, 4], 89)],
  ]);
  check('scaledDotProductAttention (causal, explicit scale)', () => [
    ([q, k, v]) => torch.scaledDotProductAttention(q, k, v, { isCausal: true, scale: 0.7 }),
    [randT([2, 3, 4], 90), randT([2, 3, 4], 91), randT([2, 3, 4], 92)],
  ]);
});
