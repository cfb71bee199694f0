// Generation metrics against hand-computed cases: PSNR of a known MSE, Spearman of known
// permutations (with and without ties), AbsRel / δ worked out by hand in both depth spaces,
// boundary F with 1, 2 and 3 px shifts and Euclidean tolerance.
import * as data from '../../../lib/data';
import { averageRanks, boundaryF, depthMetrics, MAX_PSNR, meanMetrics, psnr, spearman, unbatch } from '../../../lib/unimrg/eval';

const f32 = (shape: number[], v: number[]) => data.ndarray('float32', shape, Float32Array.from(v));
const u8 = (shape: number[], v: number[]) => data.ndarray('uint8', shape, Uint8Array.from(v));

describe('psnr', () => {
  test('uint8: a uniform error of 10 levels is 20 log10(255 / 10) dB', () => {
    const a = u8([3, 2, 2], new Array(12).fill(100));
    const b = u8([3, 2, 2], new Array(12).fill(110));
    expect(psnr(a, b)).toBeCloseTo(20 * Math.log10(25.5), 10);
  });

  test('float32 in [-1, 1] is taken to [0, 1]: 0 against 0.5 is an error of 0.25 (MSE 1/16)', () => {
    expect(psnr(f32([1, 2, 2], [0, 0, 0, 0]), f32([1, 2, 2], [0.5, 0.5, 0.5, 0.5]))).toBeCloseTo(10 * Math.log10(16), 10);
    // half the pixels off by 0.5 in [0, 1] (1.0 in [-1, 1]): MSE = 0.125
    expect(psnr(f32([2, 2], [-1, -1, 1, 1]), f32([2, 2], [0, 0, 1, 1]))).toBeCloseTo(10 * Math.log10(8), 10);
  });

  test('mixed scales agree; values beyond [-1, 1] are clamped; identical images score MAX_PSNR', () => {
    const t = [-1, -0.2, 0.4, 1];
    const asU8 = t.map((v) => Math.round((v + 1) * 127.5));
    const p = psnr(f32([1, 2, 2], t), u8([1, 2, 2], asU8));
    expect(p).toBeGreaterThan(45); // only the rounding of 255 levels differs
    expect(psnr(f32([1, 1, 2], [3, -7]), f32([1, 1, 2], [1, -1]))).toBe(MAX_PSNR);
  });

  test('refuses different shapes and other dtypes', () => {
    expect(() => psnr(f32([1, 2, 2], [0, 0, 0, 0]), f32([2, 2, 1], [0, 0, 0, 0]))).toThrow(/shapes differ/);
    expect(() => psnr(data.ndarray('uint16', [1, 1, 1]) as never, u8([1, 1, 1], [0]))).toThrow(/uint16/);
  });
});

describe('Spearman', () => {
  test('average ranks for ties', () => {
    expect(Array.from(averageRanks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
    expect(Array.from(averageRanks([7, 7, 7]))).toEqual([2, 2, 2]);
  });

  test('a permutation without ties matches 1 − 6 Σd² / (n (n² − 1))', () => {
    const y = [2, 1, 4, 3, 5];
    expect(spearman([1, 2, 3, 4, 5], y)).toBeCloseTo(1 - (6 * 4) / (5 * 24), 12); // 0.8
    const x = [3, 9, 1, 7, 5, 2, 8, 6, 4, 10];
    const z = [1, 10, 2, 6, 5, 3, 9, 4, 7, 8];
    const d2 = x.reduce((s, v, i) => s + (v - z[i]) ** 2, 0);
    expect(spearman(x, z)).toBeCloseTo(1 - (6 * d2) / (10 * 99), 12);
  });

  test('ties: Pearson of the average ranks, worked by hand', () => {
    // ranks x = [1, 2.5, 2.5, 4], y = [1, 3, 2, 4]: Σ dev products 4.5, Σ dev² 4.5 and 5
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(4.5 / Math.sqrt(4.5 * 5), 12);
  });

  test('invariant to monotone maps, −1 when reversed, 0 for a constant', () => {
    const x = [0.3, 5, 2, 9, 1];
    expect(spearman(x, x.map((v) => Math.exp(v)))).toBeCloseTo(1, 12);
    expect(spearman(x, x.map((v) => -v * v))).toBeCloseTo(-1, 12);
    expect(spearman(x, [4, 4, 4, 4, 4])).toBe(0);
  });
});

describe('depthMetrics', () => {
  test('hand case in inverse space: depth [1, 2, 4], prediction [1, −1, 0]', () => {
    // 1/d = [1, .5, .25]; normalised prediction [1, 0, .5] → 1/d̂ = [1, .25, .625] → d̂ = [1, 4, 1.6]
    const m = depthMetrics(f32([1, 3], [1, -1, 0]), f32([1, 3], [1, 2, 4]));
    expect(m.absRel).toBeCloseTo((0 + 2 / 2 + 2.4 / 4) / 3, 6);
    expect(m.delta1).toBeCloseTo(1 / 3, 12); // ratios 1, 2, 2.5
    // nearness ranks: predicted [3, 1, 2], true [3, 2, 1] → Σd² = 2 → 1 − 12 / 24
    expect(m.spearman).toBeCloseTo(0.5, 12);
  });

  test('the space matters: a map linear in depth is perfect in linear space only', () => {
    const predImg = f32([1, 3], [1, 0, -1]), depth = f32([1, 3], [2, 4, 6]);
    expect(depthMetrics(predImg, depth, { space: 'linear' }).absRel).toBeCloseTo(0, 6);
    // inverse: 1/d ∈ [1/6, 1/2], prediction [1, .5, 0] → 1/d̂ = [1/2, 1/3, 1/6] → d̂ = [2, 3, 6]
    const inv = depthMetrics(predImg, depth);
    expect(inv.absRel).toBeCloseTo((0 + 1 / 4 + 0) / 3, 6);
    expect(inv.delta1).toBeCloseTo(2 / 3, 12); // ratios 1, 4/3, 1
  });

  test('channels are averaged; invalid true depths (NaN, ≤ 0) are left out, prediction included', () => {
    const hand = depthMetrics(f32([1, 3], [1, -1, 0]), f32([1, 3], [1, 2, 4]));
    const rgb = depthMetrics(f32([2, 1, 3], [1, -1, 0.5, 1, -1, -0.5]), f32([1, 3], [1, 2, 4]));
    expect(rgb.absRel).toBeCloseTo(hand.absRel, 6);
    expect(rgb.spearman).toBeCloseTo(hand.spearman, 12);
    const holes = depthMetrics(f32([1, 5], [1, 5, -1, 0, 7]), f32([1, 5], [1, NaN, 2, 4, 0]));
    expect(holes.absRel).toBeCloseTo(hand.absRel, 6);
    expect(holes.delta1).toBeCloseTo(hand.delta1, 12);
    expect(holes.spearman).toBeCloseTo(hand.spearman, 12);
  });

  test('on a scene: the training target itself is perfect, a flipped one has ρ = −1, uint8 too', () => {
    const s = data.scenes.scene(11, { size: 64 });
    const t = data.depthTarget(s.depth);
    const m = depthMetrics(t, s.depth);
    expect(m.absRel).toBeLessThan(1e-5);
    expect(m.delta1).toBe(1);
    expect(m.spearman).toBeGreaterThan(0.999999);
    const flipped = data.ndarray('float32', t.shape, t.data.map((v) => -v));
    const f = depthMetrics(flipped, s.depth);
    expect(f.spearman).toBeLessThan(-0.999999);
    expect(f.absRel).toBeGreaterThan(0.3);
    const asU8 = depthMetrics(data.targetToImage(t), s.depth);
    expect(asU8.delta1).toBeGreaterThan(0.99);
    expect(asU8.spearman).toBeGreaterThan(0.99);
    // a linear-space target is worse when read as inverse depth, and perfect in its own space
    const lin = data.depthTarget(s.depth, { space: 'linear' });
    expect(depthMetrics(lin, s.depth, { space: 'linear' }).absRel).toBeLessThan(1e-5);
    expect(depthMetrics(lin, s.depth).absRel).toBeGreaterThan(0.01);
  });

  test('a constant prediction maps to the middle of the range and has ρ = 0', () => {
    // 1/d = [1, .5]: middle 0.75 → d̂ = 4/3 for both
    const m = depthMetrics(f32([1, 2], [0.3, 0.3]), f32([1, 2], [1, 2]));
    expect(m.absRel).toBeCloseTo((1 / 3 + (2 / 3) / 2) / 2, 6);
    expect(m.spearman).toBe(0);
  });

  test('bad input: sizes differ, no valid depth, wrong dtypes, unknown space', () => {
    expect(() => depthMetrics(f32([1, 2], [0, 1]), f32([1, 3], [1, 2, 3]))).toThrow(/1x2, depth is 1x3/);
    expect(() => depthMetrics(f32([1, 2], [0, 1]), f32([1, 2], [NaN, -1]))).toThrow(/no pixel/);
    expect(() => depthMetrics(f32([1, 2], [0, 1]), u8([1, 2], [1, 2]) as never)).toThrow(/float32 distances/);
    expect(() => depthMetrics(f32([1, 2], [0, 1]), f32([2, 1, 2], [1, 2, 1, 2]))).toThrow(/one channel/);
    expect(() => depthMetrics(f32([1, 2], [0, 1]), f32([1, 2], [1, 2]), { space: 'log' as never })).toThrow(/space/);
  });
});

describe('boundaryF (2 px Euclidean tolerance)', () => {
  const H = 16, W = 16;
  const map = (pixels: [number, number][], value = 255) => {
    const m = new Uint8Array(H * W);
    for (const [x, y] of pixels) m[y * W + x] = value;
    return data.ndarray('uint8', [H, W], m);
  };
  const column = (x: number, y0 = 0, y1 = H - 1) => Array.from({ length: y1 - y0 + 1 }, (_, k) => [x, y0 + k] as [number, number]);

  test('a vertical line shifted by 1 or 2 px still counts, by 3 px it does not', () => {
    const truth = map(column(5));
    for (const [shift, want] of [[0, 1], [1, 1], [2, 1], [3, 0], [-3, 0]] as const) {
      const s = boundaryF(map(column(5 + shift)), truth);
      expect([shift, s.precision, s.recall, s.f]).toEqual([shift, want, want, want]);
      expect(s.predicted).toBe(16);
      expect(s.actual).toBe(16);
    }
  });

  test('the tolerance is Euclidean: (1, 1) is within 2 px, (2, 1) is not', () => {
    expect(boundaryF(map([[6, 6]]), map([[5, 5]])).f).toBe(1);
    expect(boundaryF(map([[7, 6]]), map([[5, 5]])).f).toBe(0);
    expect(boundaryF(map([[7, 5]]), map([[5, 5]])).f).toBe(1);
    expect(boundaryF(map([[7, 6]]), map([[5, 5]]), { tolerance: 3 }).f).toBe(1);
  });

  test('partial overlap: counts by hand', () => {
    // truth: x = 5, all 16 rows. prediction: x = 6 on rows 0..7, plus a stray pixel at (12, 12)
    const s = boundaryF(map([...column(6, 0, 7), [12, 12]]), map(column(5)));
    expect([s.predicted, s.matchedPredicted, s.actual, s.matchedActual]).toEqual([9, 8, 16, 9]); // rows 0..8: √(1 + 1) ≤ 2 < √(1 + 4)
    expect(s.precision).toBeCloseTo(8 / 9, 12);
    expect(s.recall).toBeCloseTo(9 / 16, 12);
    expect(s.f).toBeCloseTo((2 * (8 / 9) * (9 / 16)) / (8 / 9 + 9 / 16), 12);
  });

  test('thresholds: uint8 >= 128, float32 > 0 (the same cut), channels averaged', () => {
    const truth = map([[3, 3]]);
    expect(boundaryF(map([[3, 3]], 127), truth).predicted).toBe(0);
    expect(boundaryF(map([[3, 3]], 128), truth).predicted).toBe(1);
    const fl = new Float32Array(H * W).fill(-1);
    fl[3 * W + 3] = 0; fl[4 * W + 4] = 0.01;
    const s = boundaryF(data.ndarray('float32', [1, H, W], fl), truth);
    expect([s.predicted, s.matchedPredicted]).toEqual([1, 1]);
    // RGB: mean of (255, 255, 0) = 170 is a boundary, mean of (255, 0, 0) = 85 is not
    const rgb = new Uint8Array(3 * H * W);
    rgb[3 * W + 3] = 255; rgb[H * W + 3 * W + 3] = 255; rgb[9 * W + 9] = 255;
    expect(boundaryF(data.ndarray('uint8', [3, H, W], rgb), truth)).toMatchObject({ predicted: 1, matchedPredicted: 1 });
  });

  test('empty maps: both empty is perfect; one empty scores 0', () => {
    const empty = map([]);
    expect(boundaryF(empty, empty)).toMatchObject({ precision: 1, recall: 1, f: 1 });
    expect(boundaryF(empty, map([[1, 1]]))).toMatchObject({ precision: 1, recall: 0, f: 0 });
    expect(boundaryF(map([[1, 1]]), empty)).toMatchObject({ precision: 0, recall: 1, f: 0 });
  });

  test('a scene’s boundary map against itself and as a [-1, 1] generation target', () => {
    const s = data.scenes.scene(3, { size: 64 });
    const target = data.generationImage(data.toRgb(s.boundaries), { size: 64 });
    const r = boundaryF(target, s.boundaries);
    expect(r.f).toBe(1);
    expect(r.predicted).toBe(s.boundaries.data.filter((v) => v === 255).length);
  });

  test('bad input: sizes differ, negative tolerance', () => {
    expect(() => boundaryF(map([]), data.ndarray('uint8', [8, 8]))).toThrow(/16x16, truth is 8x8/);
    expect(() => boundaryF(map([]), map([]), { tolerance: -1 })).toThrow(/tolerance/);
  });
});

describe('helpers', () => {
  test('meanMetrics averages every numeric field; unbatch splits [N, C, H, W] without copying', () => {
    expect(meanMetrics([{ a: 1, b: 2 }, { a: 3, b: 6 }])).toEqual({ a: 2, b: 4 });
    expect(() => meanMetrics([])).toThrow(/no results/);
    const batch = f32([2, 1, 1, 2], [1, 2, 3, 4]);
    const [x, y] = unbatch(batch);
    expect(x.shape).toEqual([1, 1, 2]);
    expect(Array.from(y.data)).toEqual([3, 4]);
    expect(y.data.buffer).toBe(batch.data.buffer);
    expect(() => unbatch(f32([1, 2], [0, 0]))).toThrow(/\[N, C, H, W\]/);
  });
});
