// The streaming loader: worker threads give the same batches, in the same order, as the main
// thread; problems and errors come back as values; start / end / close behave.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { data, torch } from '../../lib';

const spec: data.LoaderSpec = {
  source: { kind: 'scenes', split: 'train', count: 40, size: 64 },
  tokenizer: { kind: 'scenes' },
  batch: { batchSize: 4, mode: 'mixed', conditionSize: 32, generationSize: 32, seed: 5, conditionTokens: 2 },
};

async function collect(l: data.DataLoader): Promise<data.HostBatch[]> {
  const out: data.HostBatch[] = [];
  for (let b = await l.nextHost(); b !== null; b = await l.nextHost()) out.push(b);
  return out;
}

test('the same batches in the same order with 0, 1 and 2 workers, equal to the batcher\'s own', async () => {
  const runs: data.HostBatch[][] = [];
  for (const workers of [0, 1, 2]) {
    const l = await data.createLoader(spec, { workers, end: 6, prefetch: 3 });
    runs.push(await collect(l));
    expect(l.stats.batches).toBe(6);
    await l.close();
  }
  const direct = (await data.buildPipeline(spec)).batcher;
  for (let i = 0; i < 6; i++) {
    const want = await direct.hostBatch(i);
    for (const r of runs) {
      expect(r[i].index).toBe(i);
      expect(r[i].ids).toEqual(want.ids);
      expect(Array.from(r[i].inputIds.data)).toEqual(Array.from(want.inputIds.data));
      expect(Array.from(r[i].labels.data)).toEqual(Array.from(want.labels.data));
      expect(Array.from(r[i].taskIds.data)).toEqual(Array.from(want.taskIds.data));
      expect(Array.from(r[i].targetImages!.data)).toEqual(Array.from(want.targetImages!.data));
    }
  }
});

test('tensors through the async iterator; start resumes at a batch index', async () => {
  const l = await data.createLoader(spec, { workers: 1, start: 3, end: 5 });
  const seen: number[] = [];
  try {
    for await (const b of l) {
      seen.push(b.index);
      expect(b.inputIds.dtype).toBe('int64');
      expect(b.conditionImages.shape).toEqual([4, 3, 32, 32]);
      expect(torch.tidy(() => b.conditionMask.sum().item())).toBe(8);
      data.disposeBatch(b);
    }
  } finally {
    await l.close();
  }
  expect(seen).toEqual([3, 4]);
  await expect(l.next()).rejects.toThrow(/closed/);
});

test('a LLaVA folder in workers: problems are reported back, bad files skipped', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-loader-'));
  try {
    const img = data.scenes.scene(9, { size: 64 }).image;
    await data.writeImage(path.join(root, 'img/ok.png'), img);
    fs.writeFileSync(path.join(root, 'img/bad.jpg'), 'not a jpeg');
    const conv = [{ from: 'human', value: '<image>\nIs there a cube?' }, { from: 'gpt', value: 'yes' }];
    const json = path.join(root, 'data.json');
    fs.writeFileSync(json, JSON.stringify([
      { id: 'ok', image: 'ok.png', conversations: conv },
      { id: 'bad', image: 'bad.jpg', conversations: conv },
      { id: 'gone', image: 'gone.png', conversations: conv },
    ]));
    const l = await data.createLoader({
      source: { kind: 'llava', json, imageRoot: path.join(root, 'img') },
      tokenizer: { kind: 'scenes' },
      batch: { batchSize: 2, ratios: { understanding: 1, reconstruction: 1 }, conditionSize: 16, generationSize: 16 },
    }, { workers: 1, end: 4 });
    const batches = await collect(l);
    expect(batches).toHaveLength(4);
    for (const b of batches) expect(b.ids).toEqual(['ok', 'ok']);
    expect(l.stats.problems.map((p) => p.kind).sort()).toEqual(['corrupt-image', 'missing-image']);
    expect(l.stats.skipped.understanding + l.stats.skipped.reconstruction).toBeGreaterThan(0);
    await l.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('errors are values: a bad spec fails create(), a failing batch fails next(), the process lives on', async () => {
  await expect(data.createLoader({ ...spec, source: { kind: 'scenes', count: 0 } }, { workers: 1 })).rejects.toThrow(/loader worker: count must be a positive integer/);
  await expect(data.createLoader({ ...spec, source: { kind: 'webdataset' } as never }, { workers: 0 })).rejects.toThrow(/unknown source kind/);
  await expect(data.createLoader(spec, { workers: -1 })).rejects.toThrow(/workers/);
  const l = await data.createLoader({ ...spec, batch: { ...spec.batch, maxLength: 2 } }, { workers: 1, end: 2 });
  await expect(l.nextHost()).rejects.toThrow(/batch 0: .*maxLength is 2/);
  await l.close();
});

test('a loader left open does not keep the process alive once its prefetched batches are in', () => {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const root = path.resolve(__dirname, '..', '..');
  const script = `
    const data = require(${JSON.stringify(path.join(root, 'lib', 'data'))});
    data.createLoader({ source: { kind: 'scenes', count: 4, size: 64 }, tokenizer: { kind: 'scenes' },
      batch: { batchSize: 2, conditionSize: 16, generationSize: 16 } }, { workers: 1 })
      .then((l) => l.nextHost()).then((b) => console.log('got', b.index));`;
  const r = spawnSync(process.execPath, ['-r', require.resolve('tsx/cjs', { paths: [root] }), '-e', script], { encoding: 'utf8', timeout: 60_000, cwd: root });
  expect(r.signal).toBeNull(); // not killed by the timeout
  expect(r.stdout).toContain('got 0');
  expect(r.status).toBe(0);
});
