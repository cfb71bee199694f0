// The loader's libtorch compatibility rule, on descriptions of built and loaded libtorch.
import { compatibilityProblem } from '../../lib/native/binding';
import { torch } from '../../lib';

describe('compatibilityProblem', () => {
  it('accepts the same major.minor and CUDA flavour', () => {
    expect(compatibilityProblem({ built: { torch: '1.13.0', cuda: '', source: 'system' }, runtime: { torch: '1.13.1', cuda: false } })).toBeNull();
    expect(compatibilityProblem({ built: { torch: '2.5.1', cuda: '12.4', source: 'x' }, runtime: { torch: '2.5.1', cuda: true } })).toBeNull();
  });
  it('names both versions when the minor differs', () => {
    const msg = compatibilityProblem({ built: { torch: '2.4.0', cuda: '', source: 'x' }, runtime: { torch: '2.5.1', cuda: false } });
    expect(msg).toMatch(/built against libtorch 2\.4\.0 but libtorch 2\.5\.1 is loaded/);
  });
  it('refuses a CUDA binary on a CPU libtorch and the reverse', () => {
    expect(compatibilityProblem({ built: { torch: '2.5.1', cuda: '12.4', source: 'x' }, runtime: { torch: '2.5.1', cuda: false } }))
      .toMatch(/built against a CUDA libtorch but the loaded libtorch is CPU-only/);
    expect(compatibilityProblem({ built: { torch: '2.5.1', cuda: '', source: 'x' }, runtime: { torch: '2.5.1', cuda: true } }))
      .toMatch(/built against a CPU-only libtorch but the loaded libtorch is a CUDA build/);
  });
  it('the loaded addon agrees with the libtorch it runs on', () => {
    const b = torch.backend();
    expect(compatibilityProblem(b)).toBeNull();
    expect(b.torch).toMatch(/^\d+\.\d+/);
    expect(b.threads).toBeGreaterThanOrEqual(1);
    expect(typeof b.cxx11Abi).toBe('boolean');
  });
});
