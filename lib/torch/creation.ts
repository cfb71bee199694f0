// Creating tensors: from JS data, and the factory functions of PyTorch.
import { native } from '../native/binding';
import { checkDtype, dtypeOfArray, type Device, type DType } from './dtype';
import { handleOf } from './args';
import { TorchError } from './errors';
import { checkIntRange, isIntDType } from './int-range';
import { op } from './op';
import { checkShape } from './shape';
import { type NestedArray, Tensor } from './tensor';

export interface TensorOptions {
  shape?: number[];
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}
type FactoryOptions = Omit<TensorOptions, 'shape'>;

const call = native.call;

/** Applies device and requiresGrad to a freshly made CPU tensor. */
function finish(t: Tensor, opts: FactoryOptions): Tensor {
  let out = t;
  if (opts.device !== undefined && opts.device !== 'cpu') {
    out = t.to(opts.device);
    t.dispose();
  }
  if (opts.requiresGrad) out.requiresGrad = true;
  return out;
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

function flatten(data: NestedArray, shape: number[], d: number, out: (number | boolean | bigint)[]): void {
  if (d === shape.length) {
    if (Array.isArray(data)) throw new TorchError('nested arrays must be rectangular (found extra nesting)', 'tensor');
    if (typeof data !== 'number' && typeof data !== 'boolean' && typeof data !== 'bigint') {
      throw new TorchError(`tensor data must hold numbers, booleans or bigints, found ${typeof data}`, 'tensor');
    }
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[d]) {
    throw new TorchError(`nested arrays must be rectangular: expected length ${shape[d]} at depth ${d}`, 'tensor');
  }
  for (const x of data) flatten(x, shape, d + 1, out);
}

/**
 * A tensor from nested arrays or a TypedArray (copied). Numbers default to float32, booleans
 * to bool, bigints to int64; a TypedArray keeps its own dtype. A Uint16Array holds the raw bits
 * of float16 or bfloat16 when opts.dtype says so.
 */
export function tensor(data: NestedArray | ArrayBufferView, opts: TensorOptions = {}): Tensor {
  const want = opts.dtype === undefined ? undefined : checkDtype(opts.dtype);
  let h: number;
  let natural: DType;
  if (ArrayBuffer.isView(data)) {
    const shape = opts.shape === undefined ? [(data as unknown as { length: number }).length] : checkShape(opts.shape, 'tensor');
    if (data instanceof Uint16Array) {
      if (want !== 'float16' && want !== 'bfloat16') {
        throw new TorchError('a Uint16Array holds raw float16/bfloat16 bits: pass { dtype: "float16" } or { dtype: "bfloat16" }', 'tensor');
      }
      natural = want;
    } else {
      const d = dtypeOfArray(data);
      if (d === undefined) throw new TorchError(`unsupported TypedArray ${data.constructor.name}`, 'tensor');
      natural = d;
    }
    h = native.fromBuffer(data, shape, natural);
  } else {
    const shape = inferShape(data);
    const flat: (number | boolean | bigint)[] = [];
    flatten(data, shape, 0, flat);
    const kind = flat.length > 0 ? typeof flat[0] : 'number';
    if (!flat.every((x) => typeof x === kind)) throw new TorchError('tensor data mixes numbers, booleans and bigints', 'tensor');
    let buf: ArrayBufferView;
    if (kind === 'boolean') { natural = 'bool'; buf = Uint8Array.from(flat as boolean[], (b) => (b ? 1 : 0)); }
    else if (kind === 'bigint' && (want === 'float64' || want === 'float32' || want === 'float16' || want === 'bfloat16')) {
      // As PyTorch: big integers to a float dtype are rounded, not refused.
      natural = 'float64'; buf = Float64Array.from(flat as bigint[], Number);
    } else if (kind === 'bigint') {
      // BigInt64Array.from keeps the low 64 bits (2n**70n -> 0): refuse what the dtype cannot hold.
      checkIntRange(flat as bigint[], isIntDType(want) ? want : 'int64', 'tensor');
      natural = 'int64'; buf = BigInt64Array.from(flat as bigint[]);
    }
    else if (want === 'float64') { natural = 'float64'; buf = Float64Array.from(flat as number[]); }
    else if (isIntDType(want)) {
      const frac = (flat as number[]).find((x) => !Number.isInteger(x));
      if (frac !== undefined) throw new TorchError(`integer dtype ${want} needs integer data, got ${frac}`, 'tensor');
      checkIntRange(flat as number[], want, 'tensor');
      natural = 'int64'; buf = BigInt64Array.from(flat as number[], (x) => BigInt(x));
    } else { natural = 'float32'; buf = Float32Array.from(flat as number[]); }
    const s = opts.shape === undefined ? shape : checkShape(opts.shape, 'tensor');
    h = native.fromBuffer(buf, s, natural);
  }
  let t = new Tensor(h);
  if (want !== undefined && want !== natural) {
    const converted = t.to(want);
    t.dispose();
    t = converted;
  }
  return finish(t, opts);
}

/** Creation functions take f(3) or f([2, 3]); sizes are checked here (see shape.ts). */
const dims = (shape: number | number[], name: string) => checkShape(shape, name);
const O = {
  zeros: op('zeros'), ones: op('ones'), full: op('full'), empty: op('empty', 'memory_format'),
  arange: op('arange', 'start_step'), linspace: op('linspace'), eye: op('eye', 'm'),
  rand: op('rand'), randn: op('randn'), randint: op('randint', 'low'),
  zerosLike: op('zeros_like'), onesLike: op('ones_like'), randnLike: op('randn_like'), fullLike: op('full_like'),
};

function factory(o: ReturnType<typeof op>, pre: unknown[], opts: FactoryOptions, defaultDtype: DType | null = 'float32'): Tensor {
  const dtype = opts.dtype === undefined ? defaultDtype : checkDtype(opts.dtype);
  const t = new Tensor(call(o.id, ...pre, dtype, null, opts.device ?? null, null));
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

export const zeros = (shape: number | number[], opts: FactoryOptions = {}) => factory(O.zeros, [dims(shape, 'zeros')], opts);
export const ones = (shape: number | number[], opts: FactoryOptions = {}) => factory(O.ones, [dims(shape, 'ones')], opts);
/**
 * Filled with value; float32 for a number unless opts.dtype says otherwise (JS has no int/float
 * distinction), bool for a boolean, int64 for a bigint (exact; refused beyond int64).
 */
export const full = (shape: number | number[], value: number | boolean | bigint, opts: FactoryOptions = {}) =>
  factory(O.full, [dims(shape, 'full'), value], opts, typeof value === 'boolean' ? 'bool' : typeof value === 'bigint' ? 'int64' : 'float32');
export const empty = (shape: number | number[], opts: FactoryOptions = {}) => {
  const dtype = opts.dtype === undefined ? 'float32' : checkDtype(opts.dtype);
  const t = new Tensor(call(O.empty.id, dims(shape, 'empty'), dtype, null, opts.device ?? null, null, null));
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
};
/**
 * arange(end) or arange(start, end, step); int64 when every bound is an integer (a whole number
 * or a bigint), as PyTorch; bigints beyond int64 are refused.
 */
export function arange(start: number | bigint, end?: number | bigint, step: number | bigint = 1, opts: FactoryOptions = {}): Tensor {
  if (end === undefined) { end = start; start = 0; }
  if (step === 0 || step === 0n) throw new TorchError('arange: step must be non-zero', 'arange');
  const bounds = [start, end, step];
  const bigs = bounds.filter((b): b is bigint => typeof b === 'bigint');
  if (bigs.length > 0) checkIntRange(bigs, 'int64', 'arange');
  const ints = bounds.every((b) => typeof b === 'bigint' || Number.isInteger(b));
  return factory(O.arange, bounds, opts, ints ? 'int64' : 'float32');
}
export const linspace = (start: number, end: number, steps: number, opts: FactoryOptions = {}) =>
  factory(O.linspace, [start, end, steps], opts);
export const eye = (n: number, m?: number, opts: FactoryOptions = {}) => factory(O.eye, [n, m ?? n], opts);
export const rand = (shape: number | number[], opts: FactoryOptions = {}) => factory(O.rand, [dims(shape, 'rand')], opts);
export const randn = (shape: number | number[], opts: FactoryOptions = {}) => factory(O.randn, [dims(shape, 'randn')], opts);
/** Integers uniformly drawn from [low, high); int64 by default. */
export const randint = (low: number, high: number, shape: number | number[], opts: FactoryOptions = {}) =>
  factory(O.randint, [low, high, dims(shape, 'randint')], opts, 'int64');

function like(o: ReturnType<typeof op>, t: Tensor, pre: unknown[], opts: FactoryOptions): Tensor {
  const out = new Tensor(call(o.id, handleOf(t, o.name, 'self'), ...pre, opts.dtype === undefined ? null : checkDtype(opts.dtype), null, opts.device ?? null, null, null));
  if (opts.requiresGrad) out.requiresGrad = true;
  return out;
}
export const zerosLike = (t: Tensor, opts: FactoryOptions = {}) => like(O.zerosLike, t, [], opts);
export const onesLike = (t: Tensor, opts: FactoryOptions = {}) => like(O.onesLike, t, [], opts);
export const randnLike = (t: Tensor, opts: FactoryOptions = {}) => like(O.randnLike, t, [], opts);
export const fullLike = (t: Tensor, value: number, opts: FactoryOptions = {}) => like(O.fullLike, t, [value], opts);
