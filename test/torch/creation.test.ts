// Factories and torch.tensor(): shapes, dtypes, requiresGrad, seeding, shape inference.
import { torch, Tensor, TorchError } from '../../lib';

const values = (t: Tensor) => Array.from(t.toArray() as ArrayLike<number | bigint>, Number);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('factories', () => {
  it('zeros and ones: shape from a number or an array, float32 by default, dtype and requiresGrad options', () => torch.tidy(() => {
    const z = torch.zeros([2, 3]);
    expect(z.shape).toEqual([2, 3]);
    expect(z.dtype).toBe('float32');
    expect(z.requiresGrad).toBe(false);
    expect(values(z)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(torch.zeros(4).shape).toEqual([4]);
    expect(torch.zeros([]).shape).toEqual([]);
    expect(torch.zeros([]).numel).toBe(1);
    const o = torch.ones([3, 1, 2], { dtype: 'int32' });
    expect(o.dtype).toBe('int32');
    expect(o.shape).toEqual([3, 1, 2]);
    expect(values(o)).toEqual([1, 1, 1, 1, 1, 1]);
    const g = torch.ones(2, { dtype: 'float64', requiresGrad: true });
    expect(g.requiresGrad).toBe(true);
    expect(g.isLeaf).toBe(true);
    expect(torch.ones(2, { device: 'cpu' }).device).toBe('cpu');
  }));

  it('full: float32 by default, bool for a boolean, other dtypes on request', () => torch.tidy(() => {
    const f = torch.full([2, 2], 2.5);
    expect(f.dtype).toBe('float32');
    expect(values(f)).toEqual([2.5, 2.5, 2.5, 2.5]);
    const i = torch.full(3, 7, { dtype: 'int64' });
    expect(i.dtype).toBe('int64');
    expect(Array.from(i.toArray() as BigInt64Array)).toEqual([7n, 7n, 7n]);
    const b = torch.full([2], true);
    expect(b.dtype).toBe('bool');
    expect(b.toNested()).toEqual([true, true]);
    expect(torch.full([1], -Infinity).item()).toBe(-Infinity);
  }));

  it('empty: shape and dtype (contents unspecified)', () => torch.tidy(() => {
    const e = torch.empty([4, 5], { dtype: 'float16' });
    expect(e.shape).toEqual([4, 5]);
    expect(e.dtype).toBe('float16');
    expect(e.numel).toBe(20);
    expect(torch.empty(0).numel).toBe(0);
    expect(torch.empty(3, { requiresGrad: true }).requiresGrad).toBe(true);
  }));

  it('arange: int64 for integer bounds, float32 otherwise, shapes of ceil((end - start) / step)', () => torch.tidy(() => {
    expect(torch.arange(5).dtype).toBe('int64');
    expect(torch.arange(5).shape).toEqual([5]);
    expect(torch.arange(2.5).dtype).toBe('float32');
    expect(values(torch.arange(2.5))).toEqual([0, 1, 2]);
    expect(torch.arange(0, 1, 0.3).shape).toEqual([4]);
    expect(values(torch.arange(-3, 3, 2))).toEqual([-3, -1, 1]);
    expect(torch.arange(3, 3).shape).toEqual([0]);
    expect(torch.arange(4, undefined, 1, { dtype: 'float64', requiresGrad: true }).requiresGrad).toBe(true);
    expect(() => torch.arange(0, 1, 0)).toThrow(TorchError);
  }));

  it('linspace and eye: shapes, dtypes and values', () => torch.tidy(() => {
    const l = torch.linspace(-1, 1, 5);
    expect(l.shape).toEqual([5]);
    expect(l.dtype).toBe('float32');
    expect(values(l)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(values(torch.linspace(2, 2, 1))).toEqual([2]);
    expect(torch.linspace(0, 1, 0).shape).toEqual([0]);
    const e = torch.eye(3, 2, { dtype: 'float64' });
    expect(e.shape).toEqual([3, 2]);
    expect(e.toNested()).toEqual([[1, 0], [0, 1], [0, 0]]);
    expect(torch.eye(2).dtype).toBe('float32');
  }));

  it('rand: uniform in [0, 1), shape, dtype', () => torch.tidy(() => {
    torch.manualSeed(1);
    const r = torch.rand([100, 100]);
    expect(r.shape).toEqual([100, 100]);
    expect(r.dtype).toBe('float32');
    const v = values(r);
    expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...v)).toBeLessThan(1);
    expect(Math.abs(mean(v) - 0.5)).toBeLessThan(0.02); // sd of the mean is 0.003
    expect(new Set(v).size).toBeGreaterThan(9000);
    expect(torch.rand(3, { dtype: 'float64' }).dtype).toBe('float64');
  }));

  it('randn: mean 0, standard deviation 1', () => torch.tidy(() => {
    torch.manualSeed(2);
    const v = values(torch.randn([10000], { dtype: 'float64' }));
    const m = mean(v);
    const sd = Math.sqrt(mean(v.map((x) => (x - m) ** 2)));
    expect(Math.abs(m)).toBeLessThan(0.05);
    expect(Math.abs(sd - 1)).toBeLessThan(0.05);
    expect(v.some((x) => x < -2) && v.some((x) => x > 2)).toBe(true);
    expect(torch.randn([2, 3], { requiresGrad: true }).requiresGrad).toBe(true);
  }));

  it('randint: int64 in [low, high), every value drawn', () => torch.tidy(() => {
    torch.manualSeed(3);
    const r = torch.randint(-2, 3, [20, 50]);
    expect(r.dtype).toBe('int64');
    expect(r.shape).toEqual([20, 50]);
    const v = values(r);
    expect(new Set(v)).toEqual(new Set([-2, -1, 0, 1, 2]));
    expect(torch.randint(0, 10, 5, { dtype: 'int32' }).dtype).toBe('int32');
  }));

  it('zerosLike, onesLike, randnLike follow shape and dtype unless told otherwise', () => torch.tidy(() => {
    const x = torch.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float64' });
    const z = torch.zerosLike(x);
    expect(z.shape).toEqual([2, 3]);
    expect(z.dtype).toBe('float64');
    expect(values(z)).toEqual([0, 0, 0, 0, 0, 0]);
    const o = torch.onesLike(x, { dtype: 'int8' });
    expect(o.dtype).toBe('int8');
    expect(values(o)).toEqual([1, 1, 1, 1, 1, 1]);
    const r = torch.randnLike(x, { requiresGrad: true });
    expect(r.shape).toEqual([2, 3]);
    expect(r.dtype).toBe('float64');
    expect(r.requiresGrad).toBe(true);
    expect(torch.zerosLike(torch.ones([4], { dtype: 'bfloat16' })).dtype).toBe('bfloat16');
    const f = torch.fullLike(x, 3);
    expect(values(f)).toEqual([3, 3, 3, 3, 3, 3]);
  }));

  it('manualSeed makes rand, randn, randint and randnLike repeat exactly', () => torch.tidy(() => {
    const draw = () => [torch.randn([64]), torch.rand([16]), torch.randint(0, 1000, [16]), torch.randnLike(torch.zeros([8]))].map((t) => Array.from(t.toArray() as ArrayLike<number | bigint>));
    torch.manualSeed(42);
    const a = draw();
    torch.manualSeed(42);
    const b = draw();
    torch.manualSeed(43);
    const c = draw();
    expect(b).toEqual(a);
    expect(c[0]).not.toEqual(a[0]);
    expect(c[1]).not.toEqual(a[1]);
    // successive draws differ
    torch.manualSeed(42);
    const first = values(torch.randn([8]));
    const second = values(torch.randn([8]));
    expect(second).not.toEqual(first);
  }));

  it('manualSeed refuses negative and fractional seeds', () => {
    expect(() => torch.manualSeed(-1)).toThrow(TorchError);
    expect(() => torch.manualSeed(1.5)).toThrow(TorchError);
  });
});

describe('torch.tensor from nested arrays', () => {
  it('infers the shape from the nesting', () => torch.tidy(() => {
    expect(torch.tensor([[1, 2, 3], [4, 5, 6]]).shape).toEqual([2, 3]);
    expect(torch.tensor([[[1], [2]]]).shape).toEqual([1, 2, 1]);
    expect(torch.tensor(5).shape).toEqual([]);
    expect(torch.tensor([]).shape).toEqual([0]);
    expect(torch.tensor([[], []]).shape).toEqual([2, 0]);
    const t = torch.tensor([[1, 2], [3, 4], [5, 6]]);
    expect(values(t)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.stride()).toEqual([2, 1]);
  }));

  it('numbers are float32, booleans bool, bigints int64; dtype converts', () => torch.tidy(() => {
    expect(torch.tensor([1, 2]).dtype).toBe('float32');
    expect(torch.tensor([true, false]).dtype).toBe('bool');
    expect(torch.tensor([1n]).dtype).toBe('int64');
    const d = torch.tensor([0.1], { dtype: 'float64' });
    expect(d.dtype).toBe('float64');
    expect(d.item()).toBe(0.1); // not rounded through float32
    expect(torch.tensor([true, false], { dtype: 'float32' }).toNested()).toEqual([1, 0]);
    expect(torch.tensor([1, 0, 2], { dtype: 'bool' }).toNested()).toEqual([true, false, true]);
  }));

  it('an explicit shape reshapes the data; requiresGrad makes a leaf', () => torch.tidy(() => {
    const t = torch.tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2], requiresGrad: true });
    expect(t.shape).toEqual([3, 2]);
    expect(t.toNested()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(t.requiresGrad).toBe(true);
    expect(t.isLeaf).toBe(true);
    expect(() => torch.tensor([1, 2, 3], { shape: [2, 2] })).toThrow(TorchError);
  }));

  it('ragged arrays throw TorchError', () => {
    expect(() => torch.tensor([[1, 2], [3]])).toThrow(TorchError);
    expect(() => torch.tensor([[1, 2], 3] as never)).toThrow(TorchError);
    expect(() => torch.tensor([1, [2]] as never)).toThrow(TorchError);
    expect(() => torch.tensor([[[1, 2]], [[3, 4], [5, 6]]])).toThrow(/rectangular/);
  });

  it('mixed element kinds and non-numbers throw TorchError', () => {
    expect(() => torch.tensor([1, true])).toThrow(TorchError);
    expect(() => torch.tensor([1n, 2])).toThrow(TorchError);
    expect(() => torch.tensor(['a'] as never)).toThrow(TorchError);
  });

  it('a Uint16Array needs dtype float16 or bfloat16', () => {
    expect(() => torch.tensor(new Uint16Array([1, 2]))).toThrow(TorchError);
    expect(() => torch.tensor(new Uint16Array([1, 2]), { dtype: 'float32' })).toThrow(TorchError);
    expect(() => torch.tensor(new Uint16Array([1, 2]), { dtype: 'int16' })).toThrow(/float16/);
    torch.tidy(() => {
      expect(torch.tensor(new Uint16Array([0x3c00]), { dtype: 'float16' }).item()).toBe(1);
      expect(torch.tensor(new Uint16Array([0x3f80]), { dtype: 'bfloat16' }).item()).toBe(1);
    });
  });

  it('other unsupported typed arrays throw TorchError', () => {
    expect(() => torch.tensor(new Uint32Array([1]))).toThrow(TorchError);
    expect(() => torch.tensor(new DataView(new ArrayBuffer(4)) as never)).toThrow(TorchError);
  });
});
