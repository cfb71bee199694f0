// Plots and the raster under them: tick choice, text in the bitmap font, the line positions of
// known series, bar heights in proportion to their values, and PNG round trips through sharp.
import sharp from 'sharp';
import type { ImageU8 } from '../../../lib/data';
import { barChart, Canvas, encodePng, fitText, formatTick, glyph, linePlot, niceTicks, PALETTE, textWidth } from '../../../lib/unimrg/eval';

const pixel = (img: ImageU8, x: number, y: number) => {
  const [, h, w] = img.shape;
  return [0, 1, 2].map((k) => img.data[k * h * w + y * w + x]);
};
const is = (img: ImageU8, x: number, y: number, c: readonly number[]) => pixel(img, x, y).every((v, k) => v === c[k]);
/** Rows of column x holding colour c. */
const rowsOf = (img: ImageU8, x: number, c: readonly number[]) => {
  const out: number[] = [];
  for (let y = 0; y < img.shape[1]; y++) if (is(img, x, y, c)) out.push(y);
  return out;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('raster', () => {
  test('text draws the 5x7 glyphs (lower case as upper case), one column apart', () => {
    const c = new Canvas(20, 9, [255, 255, 255]);
    c.text(1, 1, 'a0', [0, 0, 0]);
    const img = c.toImage();
    for (const [k, ch] of ['A', '0'].entries()) {
      glyph(ch).forEach((row, gy) => row.forEach((ink, gx) => expect([ch, gx, gy, is(img, 1 + 6 * k + gx, 1 + gy, [0, 0, 0])]).toEqual([ch, gx, gy, ink])));
    }
    expect(glyph('~')).toEqual(glyph('?'));
    expect(textWidth('ab')).toBe(11);
    expect(textWidth('ab', 2)).toBe(22);
    expect(fitText('understanding', 40)).toBe('unde..'); // 6 characters: 35 px; 'under..' would be 41
    expect(fitText('short', 40)).toBe('short');
    expect(textWidth(fitText('understanding', 40))).toBeLessThanOrEqual(40);
  });

  test('lines join their end points; thickness widens them', () => {
    const c = new Canvas(10, 10, [255, 255, 255]);
    c.line(1, 1, 8, 5, [255, 0, 0]);
    const img = c.toImage();
    expect(is(img, 1, 1, [255, 0, 0]) && is(img, 8, 5, [255, 0, 0])).toBe(true);
    for (let x = 1; x <= 8; x++) expect(rowsOf(img, x, [255, 0, 0]).length).toBe(1); // one pixel per column
    c.line(0, 8, 9, 8, [0, 0, 255], 3);
    expect(rowsOf(c.toImage(), 4, [0, 0, 255])).toEqual([7, 8, 9]);
    expect(() => new Canvas(0, 5)).toThrow(/positive integers/);
  });

  test('niceTicks and formatTick', () => {
    expect(niceTicks(0, 1)).toMatchObject({ lo: 0, hi: 1, step: 0.2 });
    expect(niceTicks(0, 1).ticks.map((v) => formatTick(v, 0.2))).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
    expect(niceTicks(0.13, 3.7)).toMatchObject({ lo: 0, hi: 4, step: 1, ticks: [0, 1, 2, 3, 4] });
    // a flat range is widened by 10 % each way, then to whole steps of 0.2
    expect(niceTicks(5, 5)).toMatchObject({ lo: 4.4, hi: 5.6, step: 0.2, ticks: [4.4, 4.6, 4.8, 5, 5.2, 5.4, 5.6] });
    expect(formatTick(2000, 500)).toBe('2000');
    expect(formatTick(0.25, 0.05)).toBe('0.25');
    expect(formatTick(3e-5, 1e-5)).toBe('3.0e-5');
    expect(() => niceTicks(0, Infinity)).toThrow(/finite/);
  });
});

describe('linePlot', () => {
  const series = [
    { name: 'a', y: [1, 1, 1, 1, 1] },
    { name: 'b', y: [3, 3, 3, 3, 3] },
    { name: 'c', y: [2, 2, 2, 2, 2] },
    { name: 'd', y: [2.5, 2.5, NaN, 2.5, 2.5] },
  ];
  const img = linePlot({ series, title: 'loss', xLabel: 'step', yLabel: 'loss', width: 400, height: 300 });

  test('size, and the lines at heights in proportion to their values', () => {
    expect(img.shape).toEqual([3, 300, 400]);
    const x = 130;
    const [ya, yb, yc] = [0, 1, 2].map((k) => mean(rowsOf(img, x, PALETTE[k])));
    expect(ya).toBeGreaterThan(yc);
    expect(yc).toBeGreaterThan(yb);
    expect(Math.abs(yc - (ya + yb) / 2)).toBeLessThanOrEqual(1);
  });

  test('a NaN breaks its line; the legend shows every colour', () => {
    // the extent of 'a' (x = 0 .. 4) gives where x = 2 is drawn
    const cols: number[] = [];
    for (let x = 0; x < 400; x++) if (rowsOf(img, x, PALETTE[0]).length > 0) cols.push(x);
    const x0 = cols[0], x4 = cols.filter((x) => x < 300).pop()!; // legend swatches sit further right
    const mid = Math.round((x0 + x4) / 2);
    expect(rowsOf(img, mid, PALETTE[3])).toEqual([]);
    expect(rowsOf(img, Math.round(x0 + (x4 - x0) / 8), PALETTE[3]).length).toBeGreaterThan(0);
    for (let k = 0; k < 4; k++) {
      let right = 0;
      for (let x = 300; x < 400; x++) right += rowsOf(img, x, PALETTE[k]).length;
      expect(right).toBeGreaterThan(0);
    }
  });

  test('bad input is refused', () => {
    expect(() => linePlot({ series: [] })).toThrow(/no series/);
    expect(() => linePlot({ series: [{ name: 'x', x: [0, 1], y: [1] }] })).toThrow(/2 x values and 1 y values/);
    expect(() => linePlot({ series: [{ name: 'x', y: [NaN] }] })).toThrow(/no finite points/);
    expect(() => linePlot({ series, width: 50 })).toThrow(/at least 120x80/);
  });
});

describe('barChart', () => {
  test('bar heights in proportion to the values; a NaN bar is left out', () => {
    const img = barChart({ groups: ['g1', 'g2'], series: [{ name: 'one', values: [0.25, NaN] }, { name: 'two', values: [1, 0.5] }], yMin: 0, yMax: 1, width: 400, height: 300 });
    expect(img.shape).toEqual([3, 300, 400]);
    // per colour: the longest vertical run in each column (the legend swatches are 5 px tall)
    const runs = (c: readonly number[]) => {
      const out: { x: number; run: number }[] = [];
      for (let x = 0; x < 400; x++) {
        const ys = rowsOf(img, x, c);
        if (ys.length > 6) out.push({ x, run: ys.length });
      }
      return out;
    };
    const one = runs(PALETTE[0]), two = runs(PALETTE[1]);
    expect(one.every((r) => r.x < 200)).toBe(true); // group 2 has no bar of series one
    const hOne = Math.max(...one.map((r) => r.run));
    const twoLeft = two.filter((r) => r.x < 200), twoRight = two.filter((r) => r.x >= 200);
    const hTwo = Math.max(...twoLeft.map((r) => r.run)), hHalf = Math.max(...twoRight.map((r) => r.run));
    expect(Math.abs(hTwo - 4 * hOne)).toBeLessThanOrEqual(4);
    expect(Math.abs(hTwo - 2 * hHalf)).toBeLessThanOrEqual(2);
  });

  test('bad input is refused', () => {
    expect(() => barChart({ groups: [], series: [{ name: 'x', values: [] }] })).toThrow(/at least one group/);
    expect(() => barChart({ groups: ['a', 'b'], series: [{ name: 'x', values: [1] }] })).toThrow(/1 values for 2 groups/);
  });
});

test('plots encode to PNGs that decode to their size and pixels', async () => {
  const img = barChart({ groups: ['depth', 'count'], series: [{ name: 'base', values: [0.5, 0.7] }, { name: 'unimrg', values: [0.6, 0.65] }], yMin: 0, yMax: 1, title: 'accuracy' });
  const buf = await encodePng(img);
  expect(buf.subarray(1, 4).toString('ascii')).toBe('PNG');
  const { data, info } = await sharp(buf).raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height, info.channels]).toEqual([640, 360, 3]);
  let same = 0;
  for (let y = 0; y < 360; y++) for (let x = 0; x < 640; x++) if ([0, 1, 2].every((k) => data[(y * 640 + x) * 3 + k] === pixel(img, x, y)[k])) same++;
  expect(same).toBe(640 * 360);
});
