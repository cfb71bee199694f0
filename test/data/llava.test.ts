// LLaVA-style datasets: JPEG / PNG / WebP images and label maps written to a temp folder, read
// back with sharp; corrupt, missing and malformed inputs are reported, counted and skipped.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { data } from '../../lib';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-llava-'));
const dirs = { images: path.join(root, 'images'), depth: path.join(root, 'depth'), mask: path.join(root, 'mask') };
const scenes = [0, 1, 2, 3].map((s) => data.scenes.scene(s, { size: 64 }));
const conv = (q: string, a: string) => [{ from: 'human', value: `<image>\n${q}` }, { from: 'gpt', value: a }];

const entries: unknown[] = [
  { id: 'jpg', image: 'a/0.jpg', conversations: conv('How many cubes are there?', '2') },
  { id: 'png', image: 'a/1.png', conversations: [...conv('What color is the cube?', 'red'), { from: 'human', value: 'Is it big?' }, { from: 'gpt', value: 'no' }] },
  { id: 'webp', image: 'b/2.webp', conversations: conv('Is there a cone?', 'yes') },
  { id: 'corrupt', image: 'c/bad.png', conversations: conv('?', 'x') },
  { id: 'missing', image: 'c/gone.jpg', conversations: conv('?', 'x') },
  { id: 'grey', image: 'c/grey.png', conversations: conv('What is this?', 'ground') },
  { id: 'text-only', conversations: conv('Hello', 'hi') },
  { id: 'no-conv', image: 'a/0.jpg' },
  { id: 'bad-turns', image: 'a/0.jpg', conversations: [{ from: 'gpt', value: 'x' }] },
  'not an object',
];

const problems: data.Problem[] = [];
let ds: data.LlavaDataset;

beforeAll(async () => {
  await data.writeImage(path.join(dirs.images, 'a/0.jpg'), scenes[0].image);
  await data.writeImage(path.join(dirs.images, 'a/1.png'), scenes[1].image);
  await data.writeImage(path.join(dirs.images, 'b/2.webp'), scenes[2].image);
  fs.mkdirSync(path.join(dirs.images, 'c'), { recursive: true });
  fs.writeFileSync(path.join(dirs.images, 'c/bad.png'), Buffer.from('\x89PNG\r\n\x1a\n this is not a png'));
  await data.writeImage(path.join(dirs.images, 'c/grey.png'), data.ndarray('uint8', [1, 8, 8], new Uint8Array(64).fill(90)));
  // depth: 8-bit near-bright PNG for a/0, a 16-bit disparity PNG for a/1, none for b/2, corrupt for c/grey
  await data.writeImage(path.join(dirs.depth, 'a/0.png'), data.targetToImage(data.depthTarget(scenes[0].depth)));
  const disp16 = Uint16Array.from(scenes[1].depth.data, (d) => Math.round(60000 / d));
  await data.writeImage(path.join(dirs.depth, 'a/1.png'), data.ndarray('uint16', [1, 64, 64], disp16));
  fs.mkdirSync(path.join(dirs.depth, 'c'), { recursive: true });
  fs.writeFileSync(path.join(dirs.depth, 'c/grey.png'), 'garbage');
  // masks: boundary maps for a/0, a/1, b/2 (same stem, .png next to a .webp image)
  for (const [i, rel] of [[0, 'a/0.png'], [1, 'a/1.png'], [2, 'b/2.png']] as const) {
    await data.writeImage(path.join(dirs.mask, rel), data.ndarray('uint8', [1, 64, 64], scenes[i].boundaries.data));
  }
  fs.writeFileSync(path.join(root, 'data.json'), JSON.stringify(entries));
  ds = await data.LlavaDataset.open({
    json: path.join(root, 'data.json'), imageRoot: dirs.images, depthRoot: dirs.depth, maskRoot: dirs.mask,
    onProblem: (p) => problems.push(p),
  });
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const meanAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
};

test('malformed and text-only entries are reported when the JSON is opened, and left out', () => {
  expect(ds.length).toBe(6);
  expect(ds.counts()['bad-entry']).toBe(3);
  expect(ds.counts()['no-image']).toBe(1);
  expect(problems.map((p) => p.id).sort()).toEqual(['9', 'bad-turns', 'no-conv', 'text-only']);
});

test('PNG and WebP images round-trip exactly, JPEG closely; conversations are parsed into turns', async () => {
  const png = (await ds.get(1))!;
  expect(png.image.shape).toEqual([3, 64, 64]);
  expect(Buffer.from(png.image.data).equals(Buffer.from(scenes[1].image.data))).toBe(true);
  expect(png.conversation).toEqual([{ user: '<image>\nWhat color is the cube?', assistant: 'red' }, { user: 'Is it big?', assistant: 'no' }]);
  const webp = (await ds.get(2))!;
  expect(Buffer.from(webp.image.data).equals(Buffer.from(scenes[2].image.data))).toBe(true);
  const jpg = (await ds.get(0))!;
  expect(meanAbs(jpg.image.data, scenes[0].image.data)).toBeLessThan(3);
  const grey = (await ds.get(5))!;
  expect(grey.image.shape).toEqual([3, 8, 8]);
  expect(grey.image.data.every((v) => v === 90)).toBe(true);
});

test('depth maps: 8-bit near-bright and 16-bit disparity files become [-1, 1] targets', async () => {
  const r0 = (await ds.get(0))!;
  const want0 = data.depthTarget(scenes[0].depth);
  expect(r0.depth!.shape).toEqual([3, 64, 64]);
  // the 8-bit file quantises to 1/127.5 before the min-max
  expect(Math.max(...Array.from(r0.depth!.data, (v, i) => Math.abs(v - want0.data[i])))).toBeLessThan(2 / 127.5 + 1e-6);
  const r1 = (await ds.get(1))!;
  const disp = Float32Array.from(scenes[1].depth.data, (d) => Math.round(60000 / d));
  const want1 = data.depthTarget(data.ndarray('float32', [64, 64], disp), { kind: 'disparity' });
  expect(Array.from(r1.depth!.data)).toEqual(Array.from(want1.data));
  const r2 = (await ds.get(2))!;
  expect(r2.depth).toBeUndefined();
  expect(ds.counts()['missing-depth']).toBe(1);
});

test('boundary masks are found by stem and read back exactly', async () => {
  for (const i of [0, 1, 2]) {
    const r = (await ds.get(i))!;
    expect(r.segmentation!.shape).toEqual([1, 64, 64]);
    expect(Buffer.from(r.segmentation!.data as Uint8Array).equals(Buffer.from(scenes[i].boundaries.data))).toBe(true);
  }
});

test('corrupt and missing files give null or a record without that target, counted once', async () => {
  expect(await ds.get(3)).toBeNull();
  expect(await ds.get(3)).toBeNull();
  expect(await ds.get(4)).toBeNull();
  const grey = (await ds.get(5))!;
  expect(grey.depth).toBeUndefined();
  expect(grey.segmentation).toBeUndefined();
  const c = ds.counts();
  expect(c['corrupt-image']).toBe(1);
  expect(c['missing-image']).toBe(1);
  expect(c['corrupt-depth']).toBe(1);
  expect(c['missing-mask']).toBe(1);
  const bad = ds.problems.find((p) => p.kind === 'corrupt-image')!;
  expect(bad.path).toBe(path.join(dirs.images, 'c/bad.png'));
  expect(bad.message.length).toBeGreaterThan(0);
});

test('a record read for one task leaves out the labels that task does not use', async () => {
  const u = (await ds.get(0, 'understanding'))!;
  expect(u.depth).toBeUndefined();
  expect(u.segmentation).toBeUndefined();
  expect(u.conversation).toHaveLength(1);
  const d = (await ds.get(0, 'depth'))!;
  expect(d.depth!.shape).toEqual([3, 64, 64]);
  expect(d.segmentation).toBeUndefined();
  const s = (await ds.get(0, 'segmentation'))!;
  expect(s.depth).toBeUndefined();
  expect(s.segmentation!.shape).toEqual([1, 64, 64]);
});

test('instance-id mask files become boundary maps', async () => {
  const sub = path.join(root, 'inst');
  const ids = Uint8Array.from(data.int32Of(scenes[1].instances));
  await data.writeImage(path.join(sub, 'a/1.png'), data.ndarray('uint8', [1, 64, 64], ids));
  const d = await data.LlavaDataset.open({ json: [entries[1]], imageRoot: dirs.images, maskRoot: sub, maskFiles: 'instances' });
  const r = (await d.get(0))!;
  expect(Buffer.from(r.segmentation!.data as Uint8Array).equals(Buffer.from(scenes[1].boundaries.data))).toBe(true);
});

test('a training run over the folder never crashes: bad records are passed over', async () => {
  const tok = data.sceneTokenizer();
  const b = new data.TaskBatcher(ds, tok, { batchSize: 4, mode: 'mixed', conditionSize: 32, generationSize: 32, seed: 1 });
  for (let i = 0; i < 6; i++) {
    const h = await b.hostBatch(i);
    expect(h.ids.every((id) => ['jpg', 'png', 'webp', 'grey'].includes(id))).toBe(true);
    const rows = data.int32Of(h.rowTasks);
    h.ids.forEach((id, j) => { if (rows[j] === data.TASK_ID.depth) expect(['jpg', 'png']).toContain(id); });
  }
  expect(b.skipped.understanding + b.skipped.depth + b.skipped.segmentation).toBeGreaterThan(0);
});

test('unreadable JSON is a clear error', async () => {
  const f = path.join(root, 'broken.json');
  fs.writeFileSync(f, '[{"id": 1,');
  await expect(data.LlavaDataset.open({ json: f, imageRoot: root })).rejects.toThrow(/cannot parse/);
  await expect(data.LlavaDataset.open({ json: { a: 1 } as never, imageRoot: root })).rejects.toThrow(/JSON list/);
  await expect(data.LlavaDataset.open({ json: path.join(root, 'none.json'), imageRoot: root })).rejects.toThrow(/cannot open .*none\.json: no such file/);
});
