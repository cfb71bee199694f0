// Edge cases first found as bugs: exact int64 printing, -0 as a float scalar, integer
// overflow in torch.tensor(), non-numbers in a shape. Expected values are PyTorch 1.13's.
import { torch, Tensor, TorchError } from '../../lib';

describe('int64 printing (lib/torch/format.ts + tensor.ts numbersOf)', () => {
  it('int64 beyond 2^53 prints its exact digits: tensor([1152921504606846977])', () => torch.tidy(() => {
    expect(torch.tensor([2n ** 60n + 1n]).toString()).toBe('tensor([1152921504606846977])');
  }));
});

describe('JS numbers as scalars (native/dispatch_convert.cc to_scalar)', () => {
  it('-0 stays a float -0, as -0.0 does in PyTorch: full([1], -0) and x.mul(-0)', () => torch.tidy(() => {
    expect(Object.is(torch.full([1], -0).item(), -0)).toBe(true);
    expect(Object.is(torch.tensor([1]).mul(-0).item(), -0)).toBe(true);
  }));
});

describe('torch.tensor() with an integer dtype (lib/torch/creation.ts)', () => {
  it('out-of-range values throw TorchError like PyTorch ("value cannot be converted to type int8 without overflow") instead of wrapping', () => {
    expect(() => torch.tensor([300], { dtype: 'int8' })).toThrow(TorchError);
    expect(() => torch.tensor([-1], { dtype: 'uint8' })).toThrow(TorchError);
  });
});

describe('a non-number in a shape (native/tensor_data.cc shape_arg)', () => {
  it("torch.tensor(data, { shape: ['a', 2] }) throws TorchError, not a bare TypeError", () => {
    expect(() => torch.tensor(new Float32Array(2), { shape: ['a' as unknown as number, 2] })).toThrow(TorchError);
  });
});

describe('clamp with one bound (typeof null is "object")', () => {
  it('clamp(0, null) and clamp(null, 1) clamp one side only', () => torch.tidy(() => {
    const x = torch.tensor([-2, 0.5, 3]);
    expect(x.clamp(0, null).toNested()).toEqual([0, 0.5, 3]);
    expect(x.clamp(null, 1).toNested()).toEqual([-2, 0.5, 1]);
    expect(x.clamp(torch.tensor([0, 0, 0]), null).toNested()).toEqual([0, 0.5, 3]);
  }));
});

describe('BigInts are exact or refused (issue #15: 2n**70n became 0)', () => {
  it('bigint bounds of arange give int64 with exact values beyond 2^53', () => torch.tidy(() => {
    expect(torch.arange(0n, 3n).dtype).toBe('int64');
    expect(torch.arange(0n, 3n).toNested()).toEqual([0, 1, 2]);
    expect(Array.from(torch.arange(2n ** 60n, 2n ** 60n + 2n).toArray() as BigInt64Array)).toEqual([2n ** 60n, 2n ** 60n + 1n]);
    expect(torch.arange(0n, 3n, 1, { dtype: 'float64' }).dtype).toBe('float64');
  }));

  it('an in-range bigint scalar stays exact on int64 tensors; int64 extremes round-trip', () => torch.tidy(() => {
    expect(torch.tensor([1n]).add(2n ** 62n).itemBigInt()).toBe(2n ** 62n + 1n);
    expect(torch.full([2], 2n ** 60n + 1n).dtype).toBe('int64');
    expect(torch.full([1], 2n ** 60n + 1n).itemBigInt()).toBe(2n ** 60n + 1n);
    const ends = [2n ** 63n - 1n, -(2n ** 63n)];
    expect(Array.from(torch.tensor(ends).toArray() as BigInt64Array)).toEqual(ends);
  }));

  it('bigints to a float dtype are rounded, not wrapped (as PyTorch: tensor([2**70], dtype=float32))', () => torch.tidy(() => {
    expect(torch.tensor([2n ** 70n], { dtype: 'float32' }).item()).toBe(Math.fround(2 ** 70));
    expect(torch.tensor([-(2n ** 65n)], { dtype: 'float64' }).item()).toBe(-(2 ** 65));
  }));
});

describe('item() and itemBigInt() (issue #15: item() rounded int64 beyond 2^53)', () => {
  it('itemBigInt() is exact for every integer dtype', () => torch.tidy(() => {
    expect(torch.tensor([2n ** 60n + 1n]).itemBigInt()).toBe(2n ** 60n + 1n);
    expect(torch.tensor([-(2n ** 63n)]).itemBigInt()).toBe(-(2n ** 63n));
    expect(torch.tensor([-7], { dtype: 'int8' }).itemBigInt()).toBe(-7n);
    expect(torch.tensor([200], { dtype: 'uint8' }).itemBigInt()).toBe(200n);
  }));

  it('item() keeps giving numbers for int64 values within ±(2^53 - 1) (counts, argmax)', () => torch.tidy(() => {
    expect(torch.tensor([2n ** 53n - 1n]).item()).toBe(Number.MAX_SAFE_INTEGER);
    expect(torch.tensor([-(2n ** 53n - 1n)]).item()).toBe(-Number.MAX_SAFE_INTEGER);
    expect(torch.tensor([3, 9, 1]).argmax().item()).toBe(1);
    expect(() => torch.tensor([-(2n ** 53n)]).item()).toThrow(/itemBigInt/);
  }));
});

describe('complex results of torch.ops (issue #15: "Ctor is not a constructor")', () => {
  it('pass on to other ops, print as a placeholder naming the dtype, and refuse to be read', () => torch.tidy(() => {
    const c = torch.ops.aten.view_as_complex(torch.tensor([[1, 2], [3, 4]])) as Tensor;
    expect(c.dtype).toBe('complex64');
    expect(String(c)).toBe('tensor(<complex64 [2]: complex64 values cannot be read or printed>)');
    expect((torch.ops.aten.view_as_real(c) as Tensor).toNested()).toEqual([[1, 2], [3, 4]]);
    expect((torch.ops.aten.abs(c) as Tensor).toNested()).toEqual([Math.fround(Math.sqrt(5)), 5]);
    expect(() => c.toArray()).toThrow(TorchError);
  }));
});

describe('shapes of creation functions (issue #15: zeros([1e20]) said "Expected !is_symbolic()")', () => {
  it('empty shapes, zero sizes and a bare number still work', () => torch.tidy(() => {
    expect(torch.zeros([]).shape).toEqual([]);
    expect(torch.ones([0, 3]).shape).toEqual([0, 3]);
    expect(torch.rand(3).shape).toEqual([3]);
    expect(torch.full([2], 7).toNested()).toEqual([7, 7]);
    expect(() => torch.zeros([1e20])).toThrow(/^zeros: size 100000000000000000000 at dim 0 is out of range/);
    expect(() => torch.ones([3]).reshape(1e20)).toThrow(/value 1e\+20 is out of range for int64/);
  }));
});
