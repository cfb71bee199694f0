// dtype names, their typed-array storage and the default dtype of JS values.
import { TorchError } from './errors';

export type DType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16'
  | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

/** The spelling of a Device: cpu, cuda or cuda:N. */
export const DEVICE_PATTERN = /^(cpu|cuda(:\d+)?)$/;
export const isDevice = (s: string): s is Device => DEVICE_PATTERN.test(s);

export const dtypes: readonly DType[] = [
  'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool',
];

export type TypedArray =
  | Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;

/** The typed array `toArray()` returns for each dtype (float16/bfloat16: raw bits in a Uint16Array). */
export const arrayTypeOf: Record<DType, new (buffer: ArrayBuffer) => TypedArray> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/** The dtype a typed array holds by itself (Uint16Array has none: it carries float16/bfloat16 bits). */
export function dtypeOfArray(a: ArrayBufferView): DType | undefined {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array || a instanceof Uint8ClampedArray) return 'uint8';
  return undefined;
}

export function checkDtype(d: string): DType {
  if (!(dtypes as readonly string[]).includes(d)) {
    throw new TorchError(`unknown dtype '${d}' (expected one of ${dtypes.join(' ')})`, 'dtype');
  }
  return d as DType;
}

export const isFloating = (d: DType) => d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
