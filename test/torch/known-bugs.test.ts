// Focused failing tests for bugs found in lib/ or native/ (expected strings are what
// PyTorch 1.13's repr() prints for the same tensors). Remove an entry once it passes.
import { torch } from '../../lib';

describe('known bugs: toString() differs from PyTorch 1.13 (lib/torch/format.ts)', () => {
  it('bool elements are padded to a common width: tensor([ True, False])', () => torch.tidy(() => {
    expect(torch.tensor([true, false]).toString()).toBe('tensor([ True, False])');
  }));

  it('nan/inf do not widen the columns: tensor([1., nan, inf]) and tensor([1., -inf])', () => torch.tidy(() => {
    expect(torch.tensor([1, NaN, Infinity]).toString()).toBe('tensor([1., nan, inf])');
    expect(torch.tensor([1, -Infinity]).toString()).toBe('tensor([1., -inf])');
  }));

  it('integral floats switch to scientific when max/min > 1000: tensor([1.0000e+00, 2.0000e+03])', () => torch.tidy(() => {
    expect(torch.tensor([1, 2000]).toString()).toBe('tensor([1.0000e+00, 2.0000e+03])');
  }));

  it('the summarising ellipsis in the last dim is " ..." (two spaces after the comma)', () => torch.tidy(() => {
    expect(torch.arange(2000).toString()).toBe('tensor([   0,    1,    2,  ..., 1997, 1998, 1999])');
    expect(torch.arange(0, 1001, 1, { dtype: 'float32' }).toString()).toBe('tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.])');
  }));

  it('summarised float tensors choose scientific from the shown values: arange(2000.)', () => torch.tidy(() => {
    expect(torch.arange(0, 2000, 1, { dtype: 'float32' }).toString()).toBe(
      'tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])',
    );
  }));

  it('negative zero prints as -0.: tensor([-0., 1.])', () => torch.tidy(() => {
    expect(torch.tensor([-0, 1]).toString()).toBe('tensor([-0., 1.])');
  }));
});
