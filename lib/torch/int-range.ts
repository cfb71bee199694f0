// The value ranges of the integer dtypes, for refusing JS values that would wrap (PyTorch:
// "value cannot be converted to type int8 without overflow"; BigInt64Array.from wraps silently).
import type { DType } from './dtype';
import { TorchError } from './errors';

export type IntDType = 'int64' | 'int32' | 'int16' | 'int8' | 'uint8';

export const INT_RANGE: Record<IntDType, readonly [bigint, bigint]> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  int16: [-32768n, 32767n],
  int8: [-128n, 127n],
  uint8: [0n, 255n],
};

export const isIntDType = (d: DType | undefined): d is IntDType => d !== undefined && d in INT_RANGE;

/** Throws a TorchError naming the first value outside dtype's range (integers, as numbers or bigints). */
export function checkIntRange(values: readonly (number | bigint)[], dtype: IntDType, op: string): void {
  const [lo, hi] = INT_RANGE[dtype];
  // Numbers compare against exact float bounds: 2^63 - 1 rounds up to 2^63 as a double.
  const loN = Number(lo);
  const endN = Number(hi + 1n);
  const bad = values.find((x) => (typeof x === 'bigint' ? x < lo || x > hi : x < loN || x >= endN));
  if (bad !== undefined) {
    const text = typeof bad === 'bigint' ? `${bad}n` : String(bad);
    throw new TorchError(`value ${text} cannot be converted to type ${dtype} without overflow (range ${lo}..${hi})`, op);
  }
}
