// Preprocessing: grey padding to square, stretching, resampling against PyTorch's own
// (antialiased) interpolation, normalisation per adapter.
import { data, torch } from '../../lib';

function randomImage(c: number, h: number, w: number, seed: number): ReturnType<typeof data.ndarray<'uint8'>> {
  const rng = new data.Rng(seed);
  return data.ndarray('uint8', [c, h, w], Uint8Array.from({ length: c * h * w }, () => rng.int(0, 255)));
}

/** The same resize by PyTorch, on [1, C, H, W] float64. */
function torchResize(img: data.NDArray<'uint8'>, h: number, w: number, mode: 'bilinear' | 'bicubic', aa: boolean): Float64Array {
  return torch.tidy(() => {
    const x = torch.tensor(Float64Array.from(img.data), { shape: [1, ...img.shape] });
    const y = aa
      ? (torch.ops.aten as any)[mode === 'bilinear' ? '_upsample_bilinear2d_aa' : '_upsample_bicubic2d_aa'](x, [h, w], false, null, null)
      : torch.nn.functional.interpolate(x, { size: [h, w], mode, alignCorners: false });
    return y.toArray() as Float64Array;
  });
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('padToSquare', () => {
  test('wide and tall images are centred on grey 127, offsets rounded down', () => {
    const wide = randomImage(3, 2, 5, 1);
    const p = data.padToSquare(wide);
    expect(p.shape).toEqual([3, 5, 5]);
    // top = floor((5 - 2) / 2) = 1: rows 1..2 hold the image
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 5; y++) {
        for (let x = 0; x < 5; x++) {
          const v = p.data[(c * 5 + y) * 5 + x];
          if (y >= 1 && y < 3) expect(v).toBe(wide.data[(c * 2 + y - 1) * 5 + x]);
          else expect(v).toBe(127);
        }
      }
    }
    const tall = randomImage(3, 4, 1, 2);
    const q = data.padToSquare(tall, 0);
    expect(q.shape).toEqual([3, 4, 4]);
    // left = floor(3 / 2) = 1
    for (let y = 0; y < 4; y++) expect(q.data[y * 4 + 1]).toBe(tall.data[y]);
    expect(q.data[0]).toBe(0);
    const sq = randomImage(3, 3, 3, 3);
    expect(data.padToSquare(sq)).toBe(sq);
  });
});

describe('resize', () => {
  test('enlarging, bilinear: equals torch interpolate(bilinear, align_corners=False)', () => {
    const img = randomImage(3, 7, 5, 4);
    const ours = data.resize(img, 16, 11, { filter: 'bilinear' });
    expect(maxDiff(ours.data, torchResize(img, 16, 11, 'bilinear', false))).toBeLessThan(1e-3);
  });

  test('shrinking with antialiasing: equals PyTorch\'s antialiased bilinear and bicubic (Pillow\'s filters)', () => {
    const img = randomImage(3, 37, 53, 5);
    for (const [h, w] of [[10, 16], [5, 7], [20, 50]] as const) {
      expect(maxDiff(data.resize(img, h, w, { filter: 'bilinear' }).data, torchResize(img, h, w, 'bilinear', true))).toBeLessThan(2e-3);
      expect(maxDiff(data.resize(img, h, w, { filter: 'bicubic' }).data, torchResize(img, h, w, 'bicubic', true))).toBeLessThan(2e-3);
    }
  });

  test('without antialiasing, shrinking bilinear equals plain interpolate', () => {
    const img = randomImage(1, 30, 30, 6);
    expect(maxDiff(data.resize(img, 7, 9, { filter: 'bilinear', antialias: false }).data, torchResize(img, 7, 9, 'bilinear', false))).toBeLessThan(1e-3);
  });

  test('a constant image stays constant; the same size is a copy; nearest picks source pixels', () => {
    const c = data.ndarray('uint8', [1, 9, 13], new Uint8Array(117).fill(77));
    for (const f of ['nearest', 'bilinear', 'bicubic'] as const) {
      expect(maxDiff(data.resize(c, 4, 31, { filter: f }).data, new Array(4 * 31).fill(77))).toBeLessThan(1e-3);
    }
    const img = randomImage(2, 4, 6, 7);
    expect(Array.from(data.resize(img, 4, 6).data)).toEqual(Array.from(img.data));
    const nn = data.resize(img, 2, 3, { filter: 'nearest' });
    // output (y, x) takes source (floor((y+0.5)*2), floor((x+0.5)*2)) = (2y+1, 2x+1)
    for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) expect(nn.data[y * 3 + x]).toBe(img.data[(2 * y + 1) * 6 + 2 * x + 1]);
  });

  test('bad sizes and filters are refused', () => {
    const img = randomImage(3, 4, 4, 8);
    expect(() => data.resize(img, 0, 4)).toThrow(/positive integers/);
    expect(() => data.resize(img, 4, 4.5)).toThrow(/positive integers/);
    expect(() => data.resize(img, 4, 5, { filter: 'lanczos' as never })).toThrow(/unknown filter/);
    expect(() => data.resize(data.ndarray('uint8', [4, 4], new Uint8Array(16)) as never, 2, 2)).toThrow(/\[C, H, W\]/);
  });
});

describe('understanding and generation images', () => {
  test('understanding: padded with grey, resized, normalised per adapter', () => {
    const white = data.ndarray('uint8', [3, 10, 20], new Uint8Array(600).fill(255));
    const u = data.understandingImage(white, { size: 20, normalization: 'siglip', filter: 'nearest' });
    expect(u.shape).toEqual([3, 20, 20]);
    // rows 5..14 are the image (+1 in [-1, 1]); the rest the pad grey 127 → 127/127.5 - 1
    expect(u.data[0]).toBeCloseTo(127 / 127.5 - 1, 6);
    expect(u.data[10 * 20 + 3]).toBeCloseTo(1, 6);
    const clip = data.understandingImage(white, { size: 20, normalization: 'clip', filter: 'nearest' });
    const { mean, std } = data.NORMALIZATIONS.clip;
    for (let c = 0; c < 3; c++) expect(clip.data[c * 400 + 10 * 20]).toBeCloseTo((1 - mean[c]) / std[c], 5);
    const custom = data.understandingImage(white, { size: 4, normalization: { mean: [0, 0, 0], std: [2, 2, 2] }, square: 'stretch' });
    expect(custom.data.every((v) => Math.abs(v - 0.5) < 1e-6)).toBe(true);
    expect(() => data.understandingImage(white, { size: 4, normalization: 'vit' as never })).toThrow(/unknown normalization/);
    expect(() => data.understandingImage(data.ndarray('uint8', [1, 2, 2], new Uint8Array(4)), { size: 4 })).toThrow(/RGB/);
  });

  test('generation: stretched to square, uint8 to [-1, 1], float targets kept, grey repeated', () => {
    const img = randomImage(3, 12, 30, 9);
    const g = data.generationImage(img, { size: 16 });
    expect(g.shape).toEqual([3, 16, 16]);
    const want = data.resize(img, 16, 16);
    expect(maxDiff(g.data, Array.from(want.data, (v) => v / 127.5 - 1))).toBeLessThan(1e-5);
    const extremes = data.generationImage(data.ndarray('uint8', [3, 1, 2], Uint8Array.from([0, 255, 0, 255, 0, 255])), { size: 2, filter: 'nearest' });
    expect(Array.from(extremes.data.subarray(0, 2))).toEqual([-1, 1]);
    const depth = data.depthTarget(data.ndarray('float32', [8, 8], Float32Array.from({ length: 64 }, (_, i) => 1 + i)));
    const gd = data.generationImage(depth, { size: 8 });
    expect(Array.from(gd.data)).toEqual(Array.from(depth.data));
    const grey = data.ndarray('uint8', [1, 4, 4], new Uint8Array(16).fill(255));
    const gg = data.generationImage(grey, { size: 2 });
    expect(Array.from(gg.data)).toEqual(new Array(12).fill(1));
  });
});
