// Sample grids: layout, pixel values of every cell, grey and float inputs, blank cells, and the
// PNG written through sharp decoding back to the same pixels.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import * as data from '../../../lib/data';
import { encodePng, GRID_COLUMNS, sampleGrid, type SampleRow, writeSampleGrid } from '../../../lib/unimrg/eval';

const solid = (c: number[], h: number, w: number) => {
  const out = new Uint8Array(c.length * h * w);
  c.forEach((v, k) => out.fill(v, k * h * w, (k + 1) * h * w));
  return data.ndarray('uint8', [c.length, h, w], out);
};
const pixel = (img: data.ImageU8, x: number, y: number) => {
  const [, h, w] = img.shape;
  return [0, 1, 2].map((k) => img.data[k * h * w + y * w + x]);
};

// Six distinct cells: RGB uint8, grey float [-1, 1] ([1, H, W]), [H, W] uint8, ...
const row: SampleRow = {
  input: solid([200, 10, 30], 8, 8),
  trueDepth: data.ndarray('float32', [1, 8, 8], new Float32Array(64).fill(0)), // → 128 (round(127.5))
  generatedDepth: data.ndarray('float32', [3, 4, 4], new Float32Array(48).fill(-1)), // 4 px: upscaled
  trueBoundaries: data.ndarray('uint8', [8, 8], new Uint8Array(64).fill(255)),
  generatedBoundaries: null,
  reconstruction: data.ndarray('float32', [3, 8, 8], new Float32Array(192).fill(2)), // clamped to 255
};
const want = [[200, 10, 30], [128, 128, 128], [0, 0, 0], [255, 255, 255], [235, 235, 235], [255, 255, 255]];

describe('sampleGrid', () => {
  test('size and the colour of every cell (header off)', () => {
    const g = sampleGrid([row, { ...row, input: solid([1, 2, 3], 8, 8) }], { gap: 2, header: false, background: [9, 9, 9] });
    expect(g.shape).toEqual([3, 2 + 2 * 10, 2 + GRID_COLUMNS.length * 10]); // cells of 8 (largest side), gaps of 2
    for (let j = 0; j < 6; j++) {
      for (const [dx, dy] of [[0, 0], [7, 7], [3, 5]]) expect(pixel(g, 2 + j * 10 + dx, 2 + dy)).toEqual(want[j]);
    }
    expect(pixel(g, 2 + 0 * 10 + 4, 12 + 4)).toEqual([1, 2, 3]); // the second row's own input
    expect(pixel(g, 0, 0)).toEqual([9, 9, 9]); // gap
    expect(pixel(g, 10, 5)).toEqual([9, 9, 9]); // gap between columns 0 and 1
  });

  test('the header adds a title band with dark text; cellSize rescales', () => {
    const g = sampleGrid([row], { gap: 4, cellSize: 40 });
    expect(g.shape).toEqual([3, 4 + 11 + 44, 4 + 6 * 44]);
    let ink = 0;
    for (let y = 4; y < 11; y++) for (let x = 4; x < 44; x++) if (pixel(g, x, y)[0] === 0) ink++;
    expect(ink).toBeGreaterThan(10); // "INPUT"
    expect(pixel(g, 4 + 44 * 2 + 20, 15 + 20)).toEqual([0, 0, 0]); // the 4 px map, upscaled to 40
  });

  test('bad input is refused', () => {
    expect(() => sampleGrid([])).toThrow(/no rows/);
    expect(() => sampleGrid([{ input: data.ndarray('uint8', [2, 2, 2, 2]) }])).toThrow(/\[H, W\] or \[C, H, W\]/);
    expect(() => sampleGrid([row], { cellSize: 0 })).toThrow(/cellSize/);
  });
});

describe('PNG files', () => {
  test('encodePng and writeSampleGrid give a PNG that decodes to the same pixels', async () => {
    const g = sampleGrid([row], { gap: 3 });
    const buf = await encodePng(g);
    expect(Array.from(buf.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-eval-'));
    try {
      const file = path.join(dir, 'sub', 'grid.png');
      await writeSampleGrid(file, [row], { gap: 3 });
      const { data: raw, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([g.shape[2], g.shape[1], 3]);
      const back = data.fromInterleaved(new Uint8Array(raw), info.height, info.width, 3);
      expect(Buffer.from(back.data).equals(Buffer.from(g.data))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
