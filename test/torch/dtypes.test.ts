// Every dtype through toArray() bit for bit, float16/bfloat16 bits and rounding against a JS
// reference, int64 beyond 2^53, and printing against strings PyTorch 1.13 prints.
import { torch, Tensor, TorchError } from '../../lib';
import type { DType } from '../../lib';
import { prng } from '../helpers/gradcheck';

const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const randomBytes = (n: number, seed: number) => {
  const r = prng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
};

// ---- JS references for the 16-bit float formats -------------------------------------------
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOfF32 = (x: number) => { f32[0] = x; return u32[0]; };

/** float16 bits -> value, from the IEEE 754 binary16 definition. */
function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
/** bfloat16 bits -> value: the upper half of a float32. */
function bf16ToNumber(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

function roundHalfEven(n: number): number {
  const f = Math.floor(n);
  const d = n - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Rounds a finite value to a binary format with `mant` stored bits (round to nearest, ties to even). */
function roundToFormat(v: number, mant: number, minExp: number, maxFinite: number): number {
  if (v === 0 || !Number.isFinite(v)) return v;
  const a = Math.abs(v);
  let e = Math.floor(Math.log2(a));
  while (2 ** e > a) e--;
  while (2 ** (e + 1) <= a) e++;
  e = Math.max(e, minExp);
  const q = 2 ** (e - mant);
  const r = roundHalfEven(a / q) * q;
  return Math.sign(v) * (r > maxFinite ? Infinity : r);
}
const toHalf = (v: number) => roundToFormat(v, 10, -14, 65504);
const toBf16 = (v: number) => roundToFormat(v, 7, -126, (2 - 2 ** -7) * 2 ** 127);

describe('raw round trips: tensor(typedArray, { dtype }) then toArray() gives identical bits', () => {
  const N = 4096;
  const cases: [DType, (n: number, seed: number) => ArrayBufferView][] = [
    ['float32', (n, s) => new Float32Array(randomBytes(4 * n, s).buffer)],
    ['float64', (n, s) => new Float64Array(randomBytes(8 * n, s).buffer)],
    ['float16', (n, s) => new Uint16Array(randomBytes(2 * n, s).buffer)],
    ['bfloat16', (n, s) => new Uint16Array(randomBytes(2 * n, s).buffer)],
    ['int64', (n, s) => new BigInt64Array(randomBytes(8 * n, s).buffer)],
    ['int32', (n, s) => new Int32Array(randomBytes(4 * n, s).buffer)],
    ['int16', (n, s) => new Int16Array(randomBytes(2 * n, s).buffer)],
    ['int8', (n, s) => new Int8Array(randomBytes(n, s).buffer)],
    ['uint8', (n, s) => randomBytes(n, s)],
    ['bool', (n, s) => Uint8Array.from(randomBytes(n, s), (b) => b & 1)],
  ];
  cases.forEach(([dtype, make], k) => {
    it(`${dtype}`, () => torch.tidy(() => {
      const data = make(N, 100 + k);
      const t = torch.tensor(data, { dtype, shape: [16, N / 16] });
      expect(t.dtype).toBe(dtype);
      expect(t.shape).toEqual([16, N / 16]);
      const out = t.toArray();
      expect(out.constructor).toBe(data.constructor);
      expect(Buffer.compare(bytes(out), bytes(data))).toBe(0);
      // and through a non-contiguous view and back
      const back = t.transpose(0, 1).contiguous().transpose(0, 1);
      expect(Buffer.compare(bytes(back.toArray()), bytes(data))).toBe(0);
    }));
  });

  it('every float16 and bfloat16 bit pattern survives (NaN payloads included)', () => torch.tidy(() => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    for (const dtype of ['float16', 'bfloat16'] as const) {
      expect(Buffer.compare(bytes(torch.tensor(all, { dtype }).toArray()), bytes(all))).toBe(0);
    }
  }));

  it('a typed array that views part of a larger buffer is read from its own offset', () => torch.tidy(() => {
    const buf = new Float32Array([9, 1, 2, 3, 9]);
    const t = torch.tensor(buf.subarray(1, 4));
    expect(Array.from(t.toArray() as Float32Array)).toEqual([1, 2, 3]);
  }));

  it('a typed array without a dtype keeps its own dtype (Uint8ClampedArray is uint8)', () => torch.tidy(() => {
    expect(torch.tensor(new Int16Array([1, -2])).dtype).toBe('int16');
    expect(torch.tensor(new Float64Array([1])).dtype).toBe('float64');
    expect(torch.tensor(new BigInt64Array([1n])).dtype).toBe('int64');
    expect(torch.tensor(new Uint8ClampedArray([255])).dtype).toBe('uint8');
  }));

  it('data whose length does not fit the shape throws TorchError', () => {
    expect(() => torch.tensor(new Float32Array(5), { shape: [2, 3] })).toThrow(TorchError);
  });
});

describe('float16 and bfloat16 bits', () => {
  const bitsOf = (values: number[], dtype: 'float16' | 'bfloat16') => torch.tidy(() => Array.from(torch.tensor(values, { dtype }).toArray() as Uint16Array));

  it('known bit patterns', () => {
    expect(bitsOf([1, -2, 0.5, 0, -0], 'bfloat16')).toEqual([0x3f80, 0xc000, 0x3f00, 0x0000, 0x8000]);
    expect(bitsOf([1, -2, 0.5, 0, -0], 'float16')).toEqual([0x3c00, 0xc000, 0x3800, 0x0000, 0x8000]);
    expect(bitsOf([65504, Infinity, -Infinity], 'float16')).toEqual([0x7bff, 0x7c00, 0xfc00]);
    expect(bitsOf([2 ** -24, 2 ** -14], 'float16')).toEqual([0x0001, 0x0400]); // smallest subnormal, smallest normal
    expect(bitsOf([Infinity, 2 ** -126], 'bfloat16')).toEqual([0x7f80, 0x0080]);
  });

  it('round to nearest even at the edges', () => {
    // bf16 keeps 7 mantissa bits: ulp(1) = 2^-7
    expect(bitsOf([1 + 2 ** -9, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20], 'bfloat16')).toEqual([0x3f80, 0x3f80, 0x3f82, 0x3f81]);
    // fp16: 65519 rounds down to the max, 65520 (the tie) rounds to infinity
    expect(bitsOf([65519, 65520, 1e6], 'float16')).toEqual([0x7bff, 0x7c00, 0x7c00]);
    // fp16: 2^-25 is a tie between 0 and the smallest subnormal (even: 0); 3 * 2^-26 rounds up
    expect(bitsOf([2 ** -25, 3 * 2 ** -26, 1 + 2 ** -11, 1 + 3 * 2 ** -11], 'float16')).toEqual([0x0000, 0x0001, 0x3c00, 0x3c02]);
  });

  it('NaN stays NaN in both formats', () => torch.tidy(() => {
    const h = Array.from(torch.tensor([NaN], { dtype: 'float16' }).toArray() as Uint16Array);
    const b = Array.from(torch.tensor([NaN], { dtype: 'bfloat16' }).toArray() as Uint16Array);
    expect(halfToNumber(h[0])).toBeNaN();
    expect(bf16ToNumber(b[0])).toBeNaN();
  }));

  it('float16 -> float32 is exact for all 65536 patterns', () => torch.tidy(() => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const got = torch.tensor(all, { dtype: 'float16' }).float().toArray() as Float32Array;
    for (let i = 0; i < 65536; i++) {
      const want = halfToNumber(i);
      if (Number.isNaN(want)) expect(got[i]).toBeNaN();
      else if (got[i] !== want || Object.is(got[i], -0) !== Object.is(want, -0)) throw new Error(`float16 0x${i.toString(16)}: got ${got[i]}, want ${want}`);
    }
  }));

  it('bfloat16 -> float32 is exact for all 65536 patterns', () => torch.tidy(() => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const got = new Uint32Array((torch.tensor(all, { dtype: 'bfloat16' }).float().toArray() as Float32Array).buffer);
    for (let i = 0; i < 65536; i++) {
      if (Number.isNaN(bf16ToNumber(i))) continue; // payloads may be quietened
      if (got[i] !== (i << 16) >>> 0) throw new Error(`bfloat16 0x${i.toString(16)}: got bits 0x${got[i].toString(16)}`);
    }
  }));

  // float32 samples: random bit patterns over every exponent, plus values near the rounding edges
  function samples(): Float32Array {
    const r = prng(7);
    const out: number[] = [];
    for (let i = 0; i < 60000; i++) {
      u32[0] = Math.floor(r() * 2 ** 32);
      if (!Number.isNaN(f32[0])) out.push(f32[0]);
    }
    for (let e = -30; e <= 17; e++) {
      for (const m of [1, 1 + 2 ** -11, 1 + 2 ** -10 + 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1.5 + 2 ** -9, 2 - 2 ** -12]) out.push(m * 2 ** e, -m * 2 ** e);
    }
    return Float32Array.from(out);
  }

  it('float32 -> float16 -> float32 matches a JS round-to-nearest-even reference', () => torch.tidy(() => {
    const x = samples();
    const got = torch.tensor(x).half().float().toArray() as Float32Array;
    let bad = 0;
    const msgs: string[] = [];
    for (let i = 0; i < x.length; i++) {
      const want = toHalf(x[i]);
      if (!Object.is(got[i], want)) { bad++; if (msgs.length < 5) msgs.push(`${x[i]} (0x${bitsOfF32(x[i]).toString(16)}): got ${got[i]}, want ${want}`); }
    }
    expect(msgs).toEqual([]);
    expect(bad).toBe(0);
  }));

  it('float32 -> bfloat16 -> float32 matches a JS round-to-nearest-even reference', () => torch.tidy(() => {
    const x = samples();
    const got = torch.tensor(x).bfloat16().float().toArray() as Float32Array;
    const msgs: string[] = [];
    for (let i = 0; i < x.length; i++) {
      const want = toBf16(x[i]);
      if (!Object.is(got[i], want) && msgs.length < 5) msgs.push(`${x[i]} (0x${bitsOfF32(x[i]).toString(16)}): got ${got[i]}, want ${want}`);
    }
    expect(msgs).toEqual([]);
  }));

  it('float16/bfloat16 toNested() and item() give the rounded values as numbers', () => torch.tidy(() => {
    expect(torch.tensor([[1.5, 0.1]], { dtype: 'float16' }).toNested()).toEqual([[1.5, toHalf(0.1)]]);
    expect(torch.tensor([0.1], { dtype: 'bfloat16' }).item()).toBe(toBf16(Math.fround(0.1)));
  }));
});

describe('int64 and BigInt64Array', () => {
  const extremes = [0n, 1n, -1n, 2n ** 53n + 1n, -(2n ** 53n) - 3n, 2n ** 62n + 12345n, 2n ** 63n - 1n, -(2n ** 63n)];

  it('values beyond 2^53 round-trip exactly through BigInt64Array', () => torch.tidy(() => {
    const t = torch.tensor(BigInt64Array.from(extremes));
    expect(t.dtype).toBe('int64');
    expect(Array.from(t.toArray() as BigInt64Array)).toEqual(extremes);
  }));

  it('nested bigint arrays make exact int64 tensors', () => torch.tidy(() => {
    const t = torch.tensor([[2n ** 60n + 1n, -5n], [7n, 2n ** 63n - 1n]]);
    expect(t.dtype).toBe('int64');
    expect(t.shape).toEqual([2, 2]);
    expect(Array.from(t.toArray() as BigInt64Array)).toEqual([2n ** 60n + 1n, -5n, 7n, 2n ** 63n - 1n]);
  }));

  it('int64 arithmetic stays exact beyond 2^53', () => torch.tidy(() => {
    const t = torch.tensor(BigInt64Array.from([2n ** 53n, 2n ** 60n]));
    const u = t.add(torch.tensor(BigInt64Array.from([1n, 3n])));
    expect(Array.from(u.toArray() as BigInt64Array)).toEqual([2n ** 53n + 1n, 2n ** 60n + 3n]);
  }));

  it('integer numbers with an integer dtype; non-integers are refused', () => torch.tidy(() => {
    const t = torch.tensor([1, -2, 2 ** 40], { dtype: 'int64' });
    expect(Array.from(t.toArray() as BigInt64Array)).toEqual([1n, -2n, 2n ** 40n]);
    const s = torch.tensor([[1, 2], [3, 4]], { dtype: 'int16' });
    expect(s.dtype).toBe('int16');
    expect(Array.from(s.toArray() as Int16Array)).toEqual([1, 2, 3, 4]);
    expect(() => torch.tensor([1.5], { dtype: 'int32' })).toThrow(TorchError);
  }));
});

describe('toNested() and item()', () => {
  it('toNested gives nested numbers, booleans for bool, a number for 0-d', () => torch.tidy(() => {
    expect(torch.tensor([[1, 2, 3], [4, 5, 6]]).toNested()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(torch.tensor([[[1n]], [[2n]]]).toNested()).toEqual([[[1]], [[2]]]);
    expect(torch.tensor([[true, false]]).toNested()).toEqual([[true, false]]);
    expect(torch.tensor(2.5).toNested()).toBe(2.5);
    expect(torch.zeros([2, 0]).toNested()).toEqual([[], []]);
    // non-contiguous input is read in logical order
    expect(torch.tensor([[1, 2], [3, 4]]).t().toNested()).toEqual([[1, 3], [2, 4]]);
    expect(torch.tensor([0.1], { dtype: 'float64' }).toNested()).toEqual([0.1]);
    expect(torch.tensor([0.1]).toNested()).toEqual([Math.fround(0.1)]);
  }));

  it('item() returns numbers and booleans; more than one element throws', () => torch.tidy(() => {
    expect(torch.tensor(3.25).item()).toBe(3.25);
    expect(torch.tensor([7n]).item()).toBe(7);
    expect(torch.tensor([-3], { dtype: 'int8' }).item()).toBe(-3);
    expect(torch.tensor([200], { dtype: 'uint8' }).item()).toBe(200);
    expect(torch.tensor(true).item()).toBe(true);
    expect(torch.tensor([[0.1]], { dtype: 'float64' }).item()).toBe(0.1);
    expect(() => torch.tensor([1, 2]).item()).toThrow(TorchError);
  }));
});

describe('toString() prints like PyTorch 1.13', () => {
  // Each expected string is what repr() printed in PyTorch 1.13 for the same tensor.
  const cases: [string, () => Tensor, string][] = [
    ['2-D float32', () => torch.tensor([[1, 2], [3, 4]]), 'tensor([[1., 2.],\n        [3., 4.]])'],
    ['fractions with a sign', () => torch.tensor([0.1, 2.5, -3.25]), 'tensor([ 0.1000,  2.5000, -3.2500])'],
    ['scientific for a wide range', () => torch.tensor([1e-5, 1, 1000]), 'tensor([1.0000e-05, 1.0000e+00, 1.0000e+03])'],
    ['negative scientific', () => torch.tensor([-1e-5, 2]), 'tensor([-1.0000e-05,  2.0000e+00])'],
    ['integral floats beyond 1e8', () => torch.tensor([1e9, 1]), 'tensor([1.0000e+09, 1.0000e+00])'],
    ['integral floats at ratio 1000', () => torch.tensor([1, 1000]), 'tensor([   1., 1000.])'],
    ['small fixed', () => torch.tensor([0.001, 0.002]), 'tensor([0.0010, 0.0020])'],
    ['zero and negative fraction', () => torch.tensor([0, -0.5]), 'tensor([ 0.0000, -0.5000])'],
    ['int64', () => torch.tensor([1n, 2n, 3n]), 'tensor([1, 2, 3])'],
    ['int64 2-D with widths', () => torch.tensor([[-1, 20], [300, 4]], { dtype: 'int64' }), 'tensor([[ -1,  20],\n        [300,   4]])'],
    ['int32', () => torch.tensor([1, 2], { dtype: 'int32' }), 'tensor([1, 2], dtype=torch.int32)'],
    ['uint8', () => torch.tensor([1, 255], { dtype: 'uint8' }), 'tensor([  1, 255], dtype=torch.uint8)'],
    ['float64', () => torch.tensor([1.5, -2], { dtype: 'float64' }), 'tensor([ 1.5000, -2.0000], dtype=torch.float64)'],
    ['float16', () => torch.tensor([1.5, 2], { dtype: 'float16' }), 'tensor([1.5000, 2.0000], dtype=torch.float16)'],
    ['float16 scientific', () => torch.tensor([1e-4, 3], { dtype: 'float16' }), 'tensor([1.0002e-04, 3.0000e+00], dtype=torch.float16)'],
    ['bfloat16', () => torch.tensor([1.5, 2.25], { dtype: 'bfloat16' }), 'tensor([1.5000, 2.2500], dtype=torch.bfloat16)'],
    ['0-d float', () => torch.tensor(3.5), 'tensor(3.5000)'],
    ['0-d int64', () => torch.tensor(7n), 'tensor(7)'],
    ['0-d bool', () => torch.tensor(true), 'tensor(True)'],
    ['bool of equal widths', () => torch.tensor([true, true]), 'tensor([True, True])'],
    ['nan and -inf among fractions', () => torch.tensor([1.5, NaN, -Infinity]), 'tensor([1.5000,    nan,   -inf])'],
    ['only nan', () => torch.tensor([NaN]), 'tensor([nan])'],
    ['empty', () => torch.zeros(0), 'tensor([])'],
    ['empty 2-D', () => torch.zeros([2, 0]), 'tensor([], size=(2, 0))'],
    ['column', () => torch.tensor([[1.5], [2.5]]), 'tensor([[1.5000],\n        [2.5000]])'],
    ['3-D', () => torch.arange(0, 8, 1, { dtype: 'float32' }).reshape(2, 2, 2), 'tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])'],
    ['int64 3x4', () => torch.arange(12).reshape(3, 4), 'tensor([[ 0,  1,  2,  3],\n        [ 4,  5,  6,  7],\n        [ 8,  9, 10, 11]])'],
    ['line wrapping at 80 columns', () => torch.arange(0, 30, 1, { dtype: 'float32' }),
      'tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n        28., 29.])'],
    // formerly known bugs of format.ts (fixed): bool padding, nan/inf widths, int-mode scientific, the ' ...' ellipsis, -0.
    ['bool padded to a common width', () => torch.tensor([true, false]), 'tensor([ True, False])'],
    ['nan and inf do not widen integral columns', () => torch.tensor([1, NaN, Infinity]), 'tensor([1., nan, inf])'],
    ['-inf does not widen integral columns', () => torch.tensor([1, -Infinity]), 'tensor([1., -inf])'],
    ['integral floats with max/min > 1000 are scientific', () => torch.tensor([1, 2000]), 'tensor([1.0000e+00, 2.0000e+03])'],
    ['summarised int64 (the ellipsis is padded)', () => torch.arange(2000), 'tensor([   0,    1,    2,  ..., 1997, 1998, 1999])'],
    ['summarised integral floats', () => torch.arange(0, 1001, 1, { dtype: 'float32' }), 'tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.])'],
    ['summarised floats in scientific notation, wrapped', () => torch.arange(0, 2000, 1, { dtype: 'float32' }),
      'tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])'],
    ['negative zero', () => torch.tensor([-0, 1]), 'tensor([-0., 1.])'],
    ['summarised 40x50 (rows and columns)', () => torch.arange(0, 2000, 1, { dtype: 'float32' }).reshape(40, 50),
      'tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 4.7000e+01, 4.8000e+01,\n         4.9000e+01],\n        [5.0000e+01, 5.1000e+01, 5.2000e+01,  ..., 9.7000e+01, 9.8000e+01,\n         9.9000e+01],\n        [1.0000e+02, 1.0100e+02, 1.0200e+02,  ..., 1.4700e+02, 1.4800e+02,\n         1.4900e+02],\n        ...,\n        [1.8500e+03, 1.8510e+03, 1.8520e+03,  ..., 1.8970e+03, 1.8980e+03,\n         1.8990e+03],\n        [1.9000e+03, 1.9010e+03, 1.9020e+03,  ..., 1.9470e+03, 1.9480e+03,\n         1.9490e+03],\n        [1.9500e+03, 1.9510e+03, 1.9520e+03,  ..., 1.9970e+03, 1.9980e+03,\n         1.9990e+03]])'],
    ['requires_grad leaf', () => torch.tensor([1, 2], { requiresGrad: true }), 'tensor([1., 2.], requires_grad=True)'],
    ['grad_fn', () => torch.tensor([1, 2], { requiresGrad: true }).mul(torch.tensor([2, 2])), 'tensor([2., 4.], grad_fn=<MulBackward0>)'],
  ];
  for (const [name, make, expected] of cases) {
    it(name, () => torch.tidy(() => { expect(make().toString()).toBe(expected); }));
  }

  it('a disposed tensor prints as disposed', () => {
    const t = torch.tensor([1]);
    t.dispose();
    expect(t.toString()).toBe('tensor(<disposed>)');
  });
});

describe('dtype names', () => {
  it('bad dtype strings throw TorchError naming the dtype', () => {
    const bad = 'float8' as DType;
    expect(() => torch.zeros(2, { dtype: bad })).toThrow(TorchError);
    expect(() => torch.zeros(2, { dtype: bad })).toThrow(/float8/);
    expect(() => torch.tensor([1, 2], { dtype: 'int' as DType })).toThrow(TorchError);
    expect(() => torch.tensor(new Float32Array(2), { dtype: 'Float32' as DType })).toThrow(TorchError);
    expect(() => torch.ones(2).to('complex32' as DType)).toThrow(TorchError);
    expect(() => torch.arange(3, undefined, 1, { dtype: '' as DType })).toThrow(TorchError);
  });

  it('to(dtype) converts and reports the new dtype for every dtype', () => torch.tidy(() => {
    const all: DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'];
    const x = torch.tensor([0, 1, 2, 3]);
    for (const d of all) {
      const y = x.to(d);
      expect(y.dtype).toBe(d);
      expect(y.toNested()).toEqual(d === 'bool' ? [false, true, true, true] : [0, 1, 2, 3]);
    }
  }));
});
