// Plain typed arrays with a shape: what the data layer produces. They are cheap, need no native
// addon and cross worker_threads boundaries (structured clone or transfer); `toTensor` turns one
// into a libtorch tensor when a batch is assembled.

export type ArrayDType = 'uint8' | 'uint16' | 'int32' | 'int64' | 'float32';

interface DataOf {
  uint8: Uint8Array;
  uint16: Uint16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  float32: Float32Array;
}

export interface NDArray<D extends ArrayDType = ArrayDType> {
  readonly dtype: D;
  readonly shape: number[];
  readonly data: DataOf[D];
}

/** A planar uint8 image [C, H, W] (C = 3 for RGB, 1 for grey). */
export type ImageU8 = NDArray<'uint8'>;
/** A planar float image [C, H, W]. */
export type ImageF32 = NDArray<'float32'>;

const CTORS = {
  uint8: Uint8Array, uint16: Uint16Array, int32: Int32Array, int64: BigInt64Array, float32: Float32Array,
} as const;

export function ndarray<D extends ArrayDType>(dtype: D, shape: number[], data?: DataOf[D]): NDArray<D> {
  const n = shape.reduce((a, b) => a * b, 1);
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw new RangeError(`ndarray: bad shape [${shape}]`);
  }
  const d = data ?? (new CTORS[dtype](n) as DataOf[D]);
  if (d.length !== n) throw new RangeError(`ndarray: shape [${shape}] needs ${n} elements, data has ${d.length}`);
  return { dtype, shape: shape.slice(), data: d };
}

export const numel = (a: { shape: number[] }) => a.shape.reduce((x, y) => x * y, 1);

/** [C, H, W] of a planar image, with a readable error when the array is not one. */
export function chw(img: NDArray, what = 'image'): [number, number, number] {
  if (img.shape.length !== 3) throw new RangeError(`${what} must be [C, H, W], got shape [${img.shape}]`);
  return img.shape as [number, number, number];
}

/** Interleaved HWC bytes (as decoders return them) to a planar [C, H, W] image. */
export function fromInterleaved(src: Uint8Array, height: number, width: number, channels: number): ImageU8 {
  const out = new Uint8Array(channels * height * width);
  const plane = height * width;
  for (let i = 0, p = 0; p < plane; p++) {
    for (let c = 0; c < channels; c++) out[c * plane + p] = src[i++];
  }
  return ndarray('uint8', [channels, height, width], out);
}

/** A planar [C, H, W] image to interleaved HWC bytes (for encoders). */
export function toInterleaved(img: ImageU8): Uint8Array {
  const [c, h, w] = chw(img);
  const plane = h * w;
  const out = new Uint8Array(c * plane);
  for (let p = 0, i = 0; p < plane; p++) {
    for (let k = 0; k < c; k++) out[i++] = img.data[k * plane + p];
  }
  return out;
}

/**
 * An int64 array whose values are small non-negative integers (instance ids) written through an
 * Int32 view of the same memory: element i is `view[2 * i]` (little-endian low word), no BigInt
 * conversion per pixel.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function int64FromInt32(ids: Int32Array | Uint8Array | Uint16Array, shape: number[]): NDArray<'int64'> {
  const out = new BigInt64Array(ids.length);
  if (!LITTLE_ENDIAN) {
    for (let i = 0; i < ids.length; i++) out[i] = BigInt(ids[i]);
    return ndarray('int64', shape, out);
  }
  const view = new Int32Array(out.buffer);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    view[2 * i] = v;
    view[2 * i + 1] = v < 0 ? -1 : 0;
  }
  return ndarray('int64', shape, out);
}

/** The values of an int64 array as an Int32Array (they must fit in 32 bits). */
export function int32Of(a: NDArray<'int64'>): Int32Array {
  if (!LITTLE_ENDIAN) return Int32Array.from(a.data, (v) => Number(v));
  const view = new Int32Array(a.data.buffer, a.data.byteOffset, a.data.length * 2);
  const out = new Int32Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = view[2 * i];
  return out;
}
