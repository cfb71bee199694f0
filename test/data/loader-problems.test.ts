// A skipped record never passes in silence: the loader reports each problem once, by default on
// stderr (the first 20 one line each with the file and the reason, then counts, and a summary at
// close()), or to the caller's onProblem instead.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { data } from '../../lib';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-problems-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const conv = [{ from: 'human', value: '<image>\nIs there a cube?' }, { from: 'gpt', value: 'yes' }];
const MISSING = 30;

/** One good image first, then a corrupt one and 30 missing ones: in index order, batch 0 meets them all. */
const spec: data.LoaderSpec = {
  source: { kind: 'llava', json: path.join(root, 'data.json'), imageRoot: path.join(root, 'img') },
  tokenizer: { kind: 'scenes' },
  batch: { batchSize: 2, ratios: { understanding: 1 }, conditionSize: 16, generationSize: 16, shuffle: false },
};

beforeAll(async () => {
  await data.writeImage(path.join(root, 'img/ok.png'), data.scenes.scene(3, { size: 64 }).image);
  fs.writeFileSync(path.join(root, 'img/bad.jpg'), 'not a jpeg');
  const entries = [{ id: 'ok', image: 'ok.png', conversations: conv }, { id: 'bad', image: 'bad.jpg', conversations: conv }];
  for (let i = 0; i < MISSING; i++) entries.push({ id: `gone${i}`, image: `gone${i}.png`, conversations: conv });
  fs.writeFileSync(path.join(root, 'data.json'), JSON.stringify(entries));
});

/** Runs fn with process.stderr.write captured; returns the lines written. */
async function stderrOf(fn: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter((l) => l !== ''));
    return true;
  });
  try { await fn(); } finally { spy.mockRestore(); }
  return lines;
}

test.each([0, 1])('by default on stderr (workers: %i): the first 20 with file and reason, then a count, and a summary at close', async (workers) => {
  let l!: data.DataLoader;
  const lines = await stderrOf(async () => {
    l = await data.createLoader(spec, { workers, end: 2 });
    for (let b = await l.nextHost(); b !== null; b = await l.nextHost()) expect(b.ids).toEqual(['ok', 'ok']);
    await l.close();
  });
  const each = lines.filter((s) => /\) (missing|corrupt)-image[ :]/.test(s));
  expect(each).toHaveLength(20);
  // (reads run in parallel: the order of the lines is the order the reads failed)
  expect(each.find((s) => s.includes('(id bad)'))).toMatch(/^unimrg data: entry 1 \(id bad\) corrupt-image: cannot read image .*bad\.jpg: .+ \(record skipped\)$/);
  expect(each).toContain(`unimrg data: entry 2 (id gone0) missing-image: cannot open ${path.join(root, 'img', 'gone0.png')}: no such file (record skipped)`);
  expect(lines).toContain('unimrg data: 20 problems so far; further ones are counted, not printed');
  expect(lines[lines.length - 1]).toBe(`unimrg data: ${MISSING + 1} problems (${MISSING} missing-image, 1 corrupt-image) in all`);
  expect(l.stats.problems).toHaveLength(MISSING + 1);
  expect(l.problemSummary()).toBe(`unimrg data: ${MISSING + 1} problems (${MISSING} missing-image, 1 corrupt-image)`);
});

test('onProblem takes them instead, each once even when two workers meet the same bad record', async () => {
  const got: data.Problem[] = [];
  let l!: data.DataLoader;
  const lines = await stderrOf(async () => {
    // index order: every batch's rows scan past the same bad records, in both workers
    l = await data.createLoader(spec, { workers: 2, end: 4, onProblem: (p) => got.push(p) });
    for (let b = await l.nextHost(); b !== null; b = await l.nextHost()) expect(b.ids).toEqual(['ok', 'ok']);
    await l.close();
  });
  expect(lines.filter((s) => s.startsWith('unimrg data'))).toEqual([]);
  expect(got).toHaveLength(MISSING + 1);
  expect(new Set(got.map((p) => p.entry)).size).toBe(MISSING + 1);
  const bad = got.find((p) => p.kind === 'corrupt-image')!;
  expect(bad.path).toBe(path.join(root, 'img', 'bad.jpg'));
  expect(bad.message).toContain(bad.path);
});

test('ProblemLog: the count repeats each time the total doubles; formatProblem names the file once', () => {
  const lines: string[] = [];
  const log = new data.ProblemLog({ limit: 2, write: (s) => lines.push(s) });
  const p = (entry: number): data.Problem => ({ entry, id: String(entry), kind: 'missing-depth', path: `/d/${entry}.png`, message: 'no depth map' });
  for (let i = 0; i < 9; i++) log.add(p(i));
  expect(log.add(p(3))).toBe(false); // taken before
  expect(lines).toEqual([
    'unimrg data: entry 0 (id 0) missing-depth /d/0.png: no depth map (record kept without a depth target)',
    'unimrg data: entry 1 (id 1) missing-depth /d/1.png: no depth map (record kept without a depth target)',
    'unimrg data: 2 problems so far; further ones are counted, not printed',
    'unimrg data: 4 problems (4 missing-depth) so far',
    'unimrg data: 8 problems (8 missing-depth) so far',
  ]);
  expect(() => new data.ProblemLog({ limit: -1 })).toThrow(/non-negative integer/);
});
