// Label teachers: tiny TorchScript teachers defined in C++ (torch.jit.define + save, no Python)
// whose outputs are known functions of the input, run over an image folder; the written PNGs
// are checked against the normalised depth and the boundary map computed here from the pixels.
// Resumability, corrupt images, the resize path, bad teachers, the CLI, and that the labelled
// folder trains as a LLaVA dataset.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../lib/cli';
import { data } from '../../lib';
import { labelImages, type LabelProblem, type LabelProgress } from '../../lib/data/label';
import { torch } from '../../lib/torch';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-label-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const S = 28;
const MEAN = [0.485, 0.456, 0.406], STD = [0.229, 0.224, 0.225];
const buffers = () => ({
  mean: torch.tensor(Float32Array.from(MEAN), { shape: [1, 3, 1, 1] }),
  std: torch.tensor(Float32Array.from(STD), { shape: [1, 3, 1, 1] }),
});
// Each teacher undoes the ImageNet normalisation and rounds back to the 0..255 pixel, so its
// output is an exact function of the file's pixels (a wrong normalisation breaks it).
const PIXELS = 'p = torch.round((x * self.std + self.mean) * 255.0)';
const DEPTH_SRC = `
def forward(self, x):
    ${PIXELS}
    return p[:, 0] + 2.0 * p[:, 1] + 0.5 * p[:, 2]
`;
// Instances are the rectangles painted with red 60, 120 and 180; masks as SAM logits (+-10) in a dict.
const SEG_SRC = `
def forward(self, x):
    ${PIXELS}
    r = p[:, 0]
    masks = torch.stack([r == 60.0, r == 120.0, r == 180.0], 1).float() * 20.0 - 10.0
    return {"masks": masks, "scores": masks.mean([2, 3])}
`;
const disparity = (r: number, g: number, b: number) => r + 2 * g + 0.5 * b;
// [x0, y0, x1, y1] inclusive, red value; one touches the left border, one the bottom border.
const RECTS: [number, number, number, number, number][] = [[0, 3, 9, 12, 60], [14, 2, 25, 8, 120], [12, 17, 20, 27, 180]];

/** A seeded image: noisy background (red < 50), the rectangles painted with their red value. */
function picture(seed: number): data.ImageU8 {
  const rng = new data.Rng(seed);
  const img = new Uint8Array(3 * S * S);
  for (let i = 0; i < S * S; i++) {
    img[i] = Math.floor(rng.next() * 50);
    img[S * S + i] = Math.floor(rng.next() * 256);
    img[2 * S * S + i] = Math.floor(rng.next() * 256);
  }
  for (const [x0, y0, x1, y1, red] of RECTS) for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) img[y * S + x] = red;
  return data.ndarray('uint8', [3, S, S], img);
}

/** The boundary map of the rectangles: a rectangle pixel is an edge when it lies on a side of
 * the rectangle that does not touch the image border. */
function rectangleOutlines(h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w);
  for (const [x0, y0, x1, y1] of RECTS) {
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        if ((y === y0 && y0 > 0) || (y === y1 && y1 < h - 1) || (x === x0 && x0 > 0) || (x === x1 && x1 < w - 1)) out[y * w + x] = 255;
      }
    }
  }
  return out;
}

/** The 16-bit depth PNG expected for decoded pixels: per-image min-max of the disparity, near white. */
function expectedDepth16(img: data.ImageU8): Uint16Array {
  const n = img.shape[1] * img.shape[2];
  const d = Array.from({ length: n }, (_, i) => disparity(img.data[i], img.data[n + i], img.data[2 * n + i]));
  const lo = Math.min(...d), hi = Math.max(...d);
  // the target is stored as float32 in [-1, 1] before it is quantised
  return Uint16Array.from(d, (v) => Math.round(((Math.fround((2 * (v - lo)) / (hi - lo) - 1) + 1) / 2) * 65535));
}

const files = {
  depth: path.join(root, 'depth-teacher.pt'),
  seg: path.join(root, 'seg-teacher.pt'),
};
beforeAll(() => {
  torch.tidy(() => {
    const d = torch.jit.define(DEPTH_SRC, { buffers: buffers() });
    d.save(files.depth);
    d.dispose();
    const s = torch.jit.define(SEG_SRC, { buffers: buffers() });
    s.save(files.seg);
    s.dispose();
  });
});

describe('labelling a folder', () => {
  const base = path.join(root, 'set');
  const images = path.join(base, 'images');
  const good = ['a/0.png', 'a/1.png', 'b/2.webp'];
  const opts = { images, depthTeacher: files.depth, segTeacher: files.seg, batchSize: 2, device: 'cpu', size: S, segSize: S };

  beforeAll(async () => {
    for (let i = 0; i < good.length; i++) await data.writeImage(path.join(images, good[i]), picture(i));
    fs.writeFileSync(path.join(images, 'b/bad.jpg'), Buffer.from('\xff\xd8\xff\xe0 not really a jpeg'));
    fs.writeFileSync(path.join(images, 'notes.txt'), 'not an image');
  });

  test('depth and boundary PNGs mirror the image paths and hold the expected values', async () => {
    const problems: LabelProblem[] = [];
    const progress: LabelProgress[] = [];
    const r = await labelImages({ ...opts, onProblem: (p) => problems.push(p), onProgress: (p) => progress.push(p) });
    expect(r).toMatchObject({ total: 4, labelled: 3, skipped: 0, failed: 1, depthRoot: path.join(base, 'depth'), maskRoot: path.join(base, 'mask') });
    expect(problems).toEqual([expect.objectContaining({ image: 'b/bad.jpg', kind: 'corrupt-image' })]);
    expect(progress[progress.length - 1]).toEqual({ done: 4, total: 4, labelled: 3, skipped: 0, failed: 1 });
    expect(progress.map((p) => p.done)).toEqual([0, 2, 4]); // one report at the start, one per batch
    const outline = rectangleOutlines(S, S);
    expect(outline.filter((v) => v === 255).length).toBeGreaterThan(50);
    for (const rel of good) {
      const stem = rel.replace(/\.\w+$/, '');
      const img = await data.readImage(path.join(images, rel));
      const depth = await data.readLabel(path.join(base, 'depth', `${stem}.png`));
      expect(depth.dtype).toBe('uint16');
      expect(depth.shape).toEqual([1, S, S]);
      expect(Array.from(depth.data)).toEqual(Array.from(expectedDepth16(img)));
      const mask = await data.readLabel(path.join(base, 'mask', `${stem}.png`));
      expect(mask.dtype).toBe('uint8');
      expect(Array.from(mask.data)).toEqual(Array.from(outline));
    }
    expect(fs.existsSync(path.join(base, 'depth', 'b/bad.png'))).toBe(false);
    expect(fs.readdirSync(path.join(base, 'depth', 'a')).sort()).toEqual(['0.png', '1.png']); // no temporary files left
  });

  test('a second run skips every finished image; a missing output is redone alone', async () => {
    const mtime = (f: string) => fs.statSync(path.join(base, f)).mtimeMs;
    const before = good.map((g) => mtime(`mask/${g.replace(/\.\w+$/, '.png')}`));
    const r = await labelImages(opts);
    expect(r).toMatchObject({ total: 4, labelled: 0, skipped: 3, failed: 1 });
    fs.rmSync(path.join(base, 'depth', 'a/1.png'));
    const r2 = await labelImages(opts);
    expect(r2).toMatchObject({ labelled: 1, skipped: 2, failed: 1 });
    expect(fs.existsSync(path.join(base, 'depth', 'a/1.png'))).toBe(true);
    expect(good.map((g) => mtime(`mask/${g.replace(/\.\w+$/, '.png')}`))).toEqual(before); // masks untouched
    const again = await data.readLabel(path.join(base, 'depth', 'a/1.png'));
    expect(Array.from(again.data)).toEqual(Array.from(expectedDepth16(await data.readImage(path.join(images, 'a/1.png')))));
  });

  test('the labelled folder loads as a LLaVA dataset with depth and segmentation targets', async () => {
    const entries = good.map((image, i) => ({ id: String(i), image, conversations: [{ from: 'human', value: '<image>\nWhat is it?' }, { from: 'gpt', value: 'boxes' }] }));
    const ds = await data.LlavaDataset.open({ json: entries, imageRoot: images, depthRoot: path.join(base, 'depth'), maskRoot: path.join(base, 'mask') });
    const outline = rectangleOutlines(S, S);
    for (let i = 0; i < good.length; i++) {
      const rec = (await ds.get(i))!;
      expect(rec.depth!.shape).toEqual([3, S, S]);
      const want = expectedDepth16(await data.readImage(path.join(images, good[i])));
      for (let p = 0; p < S * S; p++) expect(Math.abs(rec.depth!.data[p] - (want[p] / 65535) * 2 + 1)).toBeLessThan(1e-6);
      expect(Array.from(rec.segmentation!.data)).toEqual(Array.from(outline));
    }
    expect(ds.problems).toEqual([]);
  });
});

describe('teacher outputs at another resolution', () => {
  test('depth [B, 1, h, w] and an id map [B, h, w] are resized back to each image', async () => {
    const dir = path.join(root, 'resize');
    const images = path.join(dir, 'photos');
    await data.writeImage(path.join(images, 'wide.png'), data.ndarray('uint8', [3, 20, 36], new Uint8Array(3 * 20 * 36).fill(100)));
    await data.writeImage(path.join(images, 'tall.png'), data.ndarray('uint8', [3, 30, 12], new Uint8Array(3 * 30 * 12).fill(100)));
    const depthFile = path.join(dir, 'ramp.pt'), segFile = path.join(dir, 'ids.pt');
    // a horizontal ramp 0..13 whatever the input; instance 1 on the left half
    const d = torch.jit.define('def forward(self, x):\n    return torch.arange(14).float().view(1, 1, 1, 14).expand(x.size(0), 1, 14, 14)\n');
    d.save(depthFile); d.dispose();
    const s = torch.jit.define('def forward(self, x):\n    return (torch.arange(14) < 7).long().view(1, 1, 14).expand(x.size(0), 14, 14)\n');
    s.save(segFile); s.dispose();
    const out = path.join(dir, 'labels');
    const r = await labelImages({ images, out, depthTeacher: depthFile, segTeacher: segFile, size: 14, segSize: 14, depthBits: 8, device: 'cpu' });
    expect(r).toMatchObject({ labelled: 2, failed: 0 });
    for (const [name, h, w] of [['wide', 20, 36], ['tall', 30, 12]] as const) {
      const depth = await data.readLabel(path.join(out, 'depth', `${name}.png`));
      expect(depth).toMatchObject({ dtype: 'uint8', shape: [1, h, w] });
      // bilinear with align_corners keeps a ramp linear: x / (w - 1) after min-max
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) expect(Math.abs(depth.data[y * w + x] - (x / (w - 1)) * 255)).toBeLessThanOrEqual(0.5 + 1e-3);
      const mask = await data.readLabel(path.join(out, 'mask', `${name}.png`));
      // nearest resize: column x reads source column floor(x * 14 / w); the last column of instance 1 is the edge
      const last = Math.max(...Array.from({ length: w }, (_, x) => x).filter((x) => Math.floor((x * 14) / w) < 7));
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) expect(mask.data[y * w + x]).toBe(x === last ? 255 : 0);
    }
  });
});

describe('a teacher traced with a fixed batch size', () => {
  test('the last, short batch is padded to the batch size; the copies are dropped', async () => {
    const dir = path.join(root, 'fixed');
    const images = path.join(dir, 'images');
    for (let i = 0; i < 3; i++) await data.writeImage(path.join(images, `${i}.png`), picture(20 + i));
    const file = path.join(dir, 'two.pt');
    const m = torch.jit.define(`
def forward(self, x):
    assert x.size(0) == 2
    ${PIXELS}
    return p[:, 0] + 2.0 * p[:, 1] + 0.5 * p[:, 2]
`, { buffers: buffers() });
    m.save(file); m.dispose();
    const o = { images, depthTeacher: file, batchSize: 2, size: S, device: 'cpu' };
    await expect(labelImages({ ...o, padLastBatch: false })).rejects.toThrow(/AssertionError/);
    fs.rmSync(path.join(dir, 'depth'), { recursive: true, force: true });
    expect(await labelImages(o)).toMatchObject({ total: 3, labelled: 3, failed: 0 });
    const last = await data.readLabel(path.join(dir, 'depth', '2.png'));
    expect(Array.from(last.data)).toEqual(Array.from(expectedDepth16(await data.readImage(path.join(images, '2.png')))));
    expect(fs.readdirSync(path.join(dir, 'depth')).sort()).toEqual(['0.png', '1.png', '2.png']);
  });
});

describe('bad teachers and options', () => {
  const images = path.join(root, 'bad', 'images');
  beforeAll(async () => { await data.writeImage(path.join(images, 'x.png'), picture(7)); });

  test('a teacher with the wrong output, a file that is not TorchScript, no teacher at all', async () => {
    const wrong = path.join(root, 'bad', 'wrong.pt');
    const m = torch.jit.define('def forward(self, x):\n    return x\n'); // [B, 3, H, W]: not a depth map
    m.save(wrong); m.dispose();
    await expect(labelImages({ images, depthTeacher: wrong, size: S, device: 'cpu' })).rejects.toThrow(/depth teacher returned shape \[4,3,28,28\] for 4 images/);
    const tuple = path.join(root, 'bad', 'tuple.pt');
    const t = torch.jit.define('def forward(self, x):\n    return (x.sum(1) > 0).float()\n'); // float [B, H, W]: neither masks nor ids
    t.save(tuple); t.dispose();
    await expect(labelImages({ images, segTeacher: tuple, segSize: S, device: 'cpu' })).rejects.toThrow(/expected masks \[B, K, H, W\] or an integer instance-id map/);
    const txt = path.join(root, 'bad', 'teacher.txt');
    fs.writeFileSync(txt, 'nope');
    await expect(labelImages({ images, depthTeacher: txt, device: 'cpu' })).rejects.toThrow(/is not a TorchScript file/);
    await expect(labelImages({ images })).rejects.toThrow(RangeError);
    await expect(labelImages({ images: path.join(root, 'nowhere'), depthTeacher: files.depth })).rejects.toThrow(/no such image folder/);
    expect(fs.existsSync(path.join(root, 'bad', 'depth'))).toBe(false); // nothing half-written
  });
});

describe('unimrg label', () => {
  async function run(...args: string[]): Promise<{ code: number; err: string; out: string }> {
    const err: string[] = [], out: string[] = [];
    const e = jest.spyOn(console, 'error').mockImplementation((...a) => { err.push(a.join(' ')); });
    const l = jest.spyOn(console, 'log').mockImplementation((...a) => { out.push(a.join(' ')); });
    const w = jest.spyOn(process.stderr, 'write').mockImplementation((s) => { err.push(String(s)); return true; });
    try {
      return { code: await main(['node', 'unimrg', 'label', ...args]), err: err.join('\n'), out: out.join('\n') };
    } finally {
      e.mockRestore(); l.mockRestore(); w.mockRestore();
    }
  }

  test('labels a folder, then finds it done; usage errors exit 2', async () => {
    const images = path.join(root, 'cli', 'images');
    await data.writeImage(path.join(images, 'one.png'), picture(11));
    const args = [images, '--depth-teacher', files.depth, '--seg-teacher', files.seg, '--size', String(S), '--seg-size', String(S), '--device', 'cpu', '--progress', 'lines'];
    const first = await run(...args);
    expect(first).toMatchObject({ code: 0, out: expect.stringMatching(/labelled 1, skipped 0 already done, 0 failed, of 1 images/) });
    expect(first.err).toMatch(/label 1\/1/);
    expect(fs.existsSync(path.join(root, 'cli', 'depth', 'one.png')) && fs.existsSync(path.join(root, 'cli', 'mask', 'one.png'))).toBe(true);
    expect(await run(...args)).toMatchObject({ code: 0, out: expect.stringMatching(/labelled 0, skipped 1 already done/) });
    expect(await run(images)).toMatchObject({ code: 2, err: expect.stringMatching(/give --depth-teacher, --seg-teacher, or both/) });
    expect(await run(images, '--depth-teacher', path.join(root, 'none.pt'))).toMatchObject({ code: 2, err: expect.stringMatching(/--depth-teacher: no such file/) });
    expect(await run(images, '--depth-teacher', files.depth, '--batch-size', '0')).toMatchObject({ code: 2, err: expect.stringMatching(/--batch-size must be an integer >= 1/) });
    expect(await run(images, '--depth-teacher', files.depth, '--depth-bits', '12')).toMatchObject({ code: 2, err: expect.stringMatching(/--depth-bits must be 8 or 16/) });
    expect(await run(path.join(root, 'cli', 'nothing'), '--depth-teacher', files.depth)).toMatchObject({ code: 2, err: expect.stringMatching(/no such image folder/) });
  });
});
