// Checks of tensor arguments before they cross into native code: a string or null passed where
// a Tensor belongs must be named as such, not surface as "this tensor was disposed" (the handle
// of a non-tensor reads as undefined) or as a bare JS TypeError.
import { TorchError } from './errors';

/** What a value is, for messages: "a string ('abc')", "null", "an array", "a Tensor". */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return isTensorLike(v) ? 'a Tensor' : `an object (${v.constructor?.name ?? 'Object'})`;
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)})`;
  if (typeof v === 'bigint') return `a bigint (${v}n)`;
  return `a ${typeof v} (${String(v)})`;
}

/** Duck-typed so that tensors of a second copy of the package pass too. */
function isTensorLike(v: unknown): v is { _h: number } {
  return typeof v === 'object' && v !== null && typeof (v as { _h?: unknown })._h === 'number';
}

/** The native handle of a tensor argument, or a TorchError naming the op and argument. */
export function handleOf(v: unknown, op: string, arg: string): number {
  if (isTensorLike(v)) return v._h;
  throw new TorchError(`${op}: argument '${arg}' must be a Tensor, got ${describeValue(v)}`, op);
}

/** As handleOf, for arguments that may also be a number (or boolean / bigint). */
export function handleOrScalar(v: unknown, op: string, arg: string): number {
  if (isTensorLike(v)) return v._h;
  throw new TorchError(`${op}: argument '${arg}' must be a Tensor or a number, got ${describeValue(v)}`, op);
}

/** The handle of an optional tensor argument (null / undefined: null). */
export function optionalHandle(v: unknown, op: string, arg: string): number | null {
  return v === null || v === undefined ? null : handleOf(v, op, arg);
}
