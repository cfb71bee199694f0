// Paired differences between two arms of an experiment: arm and baseline trained from the same
// base with the same seed see the same understanding rows, so their difference per seed is the
// method's effect plus seed noise; the mean over seeds gets a Student-t 95% interval.

/** Two-sided 97.5% quantiles of Student's t for 1 … 30 degrees of freedom (beyond: the normal's). */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

export const tQuantile975 = (df: number): number => (df < 1 ? NaN : df <= T975.length ? T975[df - 1] : 1.96);

export interface PairedDifference {
  /** Mean over pairs of a − b. */
  mean: number;
  /** The 95% interval of the mean (NaN with fewer than 2 pairs). */
  low: number;
  high: number;
  pairs: number;
}

/** Mean of a[i] − b[i] and its 95% t-interval; pairs with a non-finite side are left out. */
export function pairedDifference(a: readonly number[], b: readonly number[]): PairedDifference {
  if (a.length !== b.length) throw new RangeError(`paired samples must have the same length, got ${a.length} and ${b.length}`);
  const d = a.map((x, i) => x - b[i]).filter(Number.isFinite);
  const n = d.length;
  if (n === 0) return { mean: NaN, low: NaN, high: NaN, pairs: 0 };
  const mean = d.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { mean, low: NaN, high: NaN, pairs: n };
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  const half = tQuantile975(n - 1) * sd / Math.sqrt(n);
  return { mean, low: mean - half, high: mean + half, pairs: n };
}

/** "+0.012 [−0.004, +0.028]" (signed, with the interval when there is one). */
export function formatDifference(d: PairedDifference, digits = 3): string {
  if (!Number.isFinite(d.mean)) return '–';
  const s = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;
  return Number.isFinite(d.low) ? `${s(d.mean)} [${s(d.low)}, ${s(d.high)}]` : s(d.mean);
}
