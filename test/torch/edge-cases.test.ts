// Edge cases first found as bugs: exact int64 printing, -0 as a float scalar, integer
// overflow in torch.tensor(), non-numbers in a shape. Expected values are PyTorch 1.13's.
import { torch, TorchError } from '../../lib';

describe('int64 printing (lib/torch/format.ts + tensor.ts numbersOf)', () => {
  it('int64 beyond 2^53 prints its exact digits: tensor([1152921504606846977])', () => torch.tidy(() => {
    expect(torch.tensor([2n ** 60n + 1n]).toString()).toBe('tensor([1152921504606846977])');
  }));
});

describe('JS numbers as scalars (native/dispatch.cc to_scalar)', () => {
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
