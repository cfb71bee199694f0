// Paired differences of experiment arms: the t-interval against a hand computation, and the
// report's table built from seeds that pair up.
import { formatDifference, pairedDifference, tQuantile975 } from '../../lib/unimrg/eval/paired';
import { resultTables } from '../../lib/unimrg/report';
import type { ExperimentResult } from '../../lib/unimrg/experiment';
import type { EvalResult } from '../../lib/unimrg/evaluate';

describe('pairedDifference', () => {
  it('gives the mean and the Student-t 95% interval of a − b', () => {
    // differences 0.1, 0.2, 0.3: mean 0.2, sample sd 0.1, half-width t(2) · 0.1 / √3
    const d = pairedDifference([0.6, 0.7, 0.8], [0.5, 0.5, 0.5]);
    const half = 4.303 * 0.1 / Math.sqrt(3);
    expect(d.pairs).toBe(3);
    expect(d.mean).toBeCloseTo(0.2, 12);
    expect(d.low).toBeCloseTo(0.2 - half, 12);
    expect(d.high).toBeCloseTo(0.2 + half, 12);
    expect(formatDifference(d)).toBe('+0.200 [−0.048, +0.448]');
  });

  it('leaves out unpaired values, has no interval for one pair, refuses unequal lengths', () => {
    expect(pairedDifference([1, NaN], [0, 0]).pairs).toBe(1);
    expect(Number.isNaN(pairedDifference([1], [0]).low)).toBe(true);
    expect(formatDifference(pairedDifference([0.25], [0.5]))).toBe('−0.250');
    expect(() => pairedDifference([1, 2], [1])).toThrow(/same length/);
  });

  it('uses the t quantiles, and the normal beyond 30 degrees of freedom', () => {
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(30)).toBe(2.042);
    expect(tQuantile975(100)).toBe(1.96);
  });
});

describe('the report', () => {
  const ev = (acc: number): EvalResult => {
    const u = {
      overall: { correct: 0, total: 100, accuracy: acc }, macro: acc,
      byCategory: { count: { correct: 0, total: 10, accuracy: acc } },
      hallucination: { accuracy: 0.5, precision: 0.5, recall: 0.5, f1: acc, yesRatio: 0.5 },
    };
    return { understanding: { val: u, test: u, compositional: u } } as unknown as EvalResult;
  };
  const arm = (name: string, seed: number, acc: number) => ({ arm: name, seed, runDir: '', eval: ev(acc), metrics: [], seconds: 1 });

  it('tabulates each arm minus understanding only, paired by seed, with two or more seeds', () => {
    const r: ExperimentResult = {
      family: 'autoregressive-vq', batchMode: 'per-task', base: '', baseEval: ev(0.3), seconds: 1,
      arms: [arm('understanding only', 0, 0.5), arm('UniMRG (all four)', 0, 0.6), arm('understanding only', 1, 0.4), arm('UniMRG (all four)', 1, 0.5)],
    };
    const md = resultTables(r);
    expect(md).toContain('### Paired difference from understanding only (test split; mean over 2 seeds [95% t-interval])');
    // both seeds differ by exactly +0.1: zero spread, so the interval collapses onto the mean
    expect(md).toMatch(/\| UniMRG \(all four\) \| \+0\.100 \[\+0\.100, \+0\.100\] \|/);
    expect(resultTables({ ...r, arms: r.arms.filter((a) => a.seed === 0) })).not.toContain('Paired difference');
  });
});
