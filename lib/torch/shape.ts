// Shapes given to creation functions, checked before libtorch sees them: libtorch reads a
// huge size as a symbolic one ("Expected !is_symbolic()"), so the message is made here.
import { describeValue } from './args';
import { TorchError } from './errors';

const INT64_MAX = 2n ** 63n - 1n;

/**
 * `shape` (a number or an array of numbers) as a number[] of non-negative safe integers whose
 * product fits int64; anything else is a TorchError naming the op, the dimension and the value.
 */
export function checkShape(shape: unknown, op: string): number[] {
  const dims = typeof shape === 'number' ? [shape] : shape;
  if (!Array.isArray(dims)) throw new TorchError(`${op}: shape must be an array of sizes, got ${describeValue(shape)}`, op);
  let total = 1n;
  dims.forEach((d: unknown, i) => {
    if (typeof d !== 'number') throw new TorchError(`${op}: size at dim ${i} must be a number, got ${describeValue(d)}`, op);
    if (!Number.isInteger(d)) throw new TorchError(`${op}: size ${d} at dim ${i} is not an integer`, op);
    if (d < 0) throw new TorchError(`${op}: size ${d} at dim ${i} is negative`, op);
    if (!Number.isSafeInteger(d)) {
      throw new TorchError(`${op}: size ${d} at dim ${i} is out of range (sizes are integers in 0..${Number.MAX_SAFE_INTEGER})`, op);
    }
    total *= BigInt(d);
  });
  if (total > INT64_MAX) {
    throw new TorchError(`${op}: shape [${dims.join(', ')}] has ${total} elements, out of range (at most 2^63 - 1)`, op);
  }
  return dims as number[];
}
