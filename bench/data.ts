// The data layer's throughput: embedded scenes rendered per second, image files decoded per
// second, and the streaming loader with worker threads against building batches on the main
// thread (the baseline, same run).
//   npx tsx bench/data.ts [--rounds 2] [--batches 24]       -> bench/results/data.json
//
// scenes/s      one scene (render, depth, masks, boundaries, questions) on one thread
// images/s      LLaVA records read from a temp folder: JPEG 512 px image + PNG depth + PNG mask
// loader        mixed-mode batches of 8 (one row per task, 256 px condition and target images),
//               (rows/s); then with a training step between batches that keeps the main
//               thread busy for `step` ms (as libtorch calls do), as long as building one batch
//               takes on the main thread: wait/batch is how long each step then waits for its
//               batch, and steps/s the pace of training. With 0 workers every batch is built
//               between steps; workers build them during the steps. 6 warm-up batches first.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { data } from '../lib';
import { median, printTable, writeResult } from './lib/report';

const argv = process.argv.slice(2);
const arg = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? Number(argv[i + 1]) : undefined; };
const rounds = arg('--rounds') ?? 2;
const BATCHES = arg('--batches') ?? 24;
const WARMUP = 6;
const B = 8;

/** A training step that holds the main thread, as synchronous libtorch calls do. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* compute */ }
}

function scenesPerSecond(size: number, n: number, offset: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) data.scenes.scene(offset + i, { size });
  return n / ((performance.now() - t0) / 1000);
}

async function recordsPerSecond(ds: data.LlavaDataset, concurrency: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < ds.length) await ds.get(next++);
  }));
  return ds.length / ((performance.now() - t0) / 1000);
}

async function loaderRun(spec: data.LoaderSpec, workers: number, stepMs: number): Promise<{ batchesPerS: number; waitMs: number }> {
  const l = await data.createLoader(spec, { workers, end: WARMUP + BATCHES });
  try {
    // warm-up batches: worker start-up and JIT are not part of the steady state
    for (let i = 0; i < WARMUP; i++) await l.nextHost();
    let wait = 0;
    const t0 = performance.now();
    for (let i = 0; i < BATCHES; i++) {
      const w0 = performance.now();
      await l.nextHost();
      wait += performance.now() - w0;
      if (stepMs > 0) busy(stepMs);
    }
    const s = (performance.now() - t0) / 1000;
    return { batchesPerS: BATCHES / s, waitMs: wait / BATCHES };
  } finally {
    await l.close();
  }
}

async function main(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  const results: Record<string, unknown> = {};

  // --- scenes/s
  scenesPerSecond(128, 5, 0); // warm-up
  for (const size of [128, 256, 512]) {
    const n = size === 512 ? 8 : 24;
    const v = median(Array.from({ length: rounds }, (_, r) => scenesPerSecond(size, n, 1000 + r * n)));
    results[`scenes_per_s_${size}`] = v;
    rows.push({ case: `scenes/s, ${size} px, 1 thread`, value: v });
  }

  // --- images/s from a LLaVA folder
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-bench-'));
  try {
    const N = 48;
    const entries = [];
    const base = Array.from({ length: 6 }, (_, i) => data.scenes.scene(i, { size: 512 }));
    for (let i = 0; i < N; i++) {
      const s = base[i % base.length];
      await data.writeImage(path.join(root, 'images', `${i}.jpg`), s.image, { quality: 90 });
      await data.writeImage(path.join(root, 'depth', `${i}.png`), data.targetToImage(data.depthTarget(s.depth)));
      await data.writeImage(path.join(root, 'mask', `${i}.png`), data.ndarray('uint8', [1, 512, 512], s.boundaries.data));
      entries.push({ id: String(i), image: `${i}.jpg`, conversations: [{ from: 'human', value: '<image>\nIs there a cube?' }, { from: 'gpt', value: 'yes' }] });
    }
    const json = path.join(root, 'data.json');
    fs.writeFileSync(json, JSON.stringify(entries));
    const open = (labels: boolean) => data.LlavaDataset.open({ json, imageRoot: path.join(root, 'images'), ...(labels ? { depthRoot: path.join(root, 'depth'), maskRoot: path.join(root, 'mask') } : {}) });
    await recordsPerSecond(await open(false), 4); // warm-up
    for (const [labels, conc] of [[false, 1], [false, 4], [true, 4]] as const) {
      const v = median(await Promise.all(Array.from({ length: 1 }, async () => {
        const xs: number[] = [];
        for (let r = 0; r < rounds; r++) xs.push(await recordsPerSecond(await open(labels), conc));
        return median(xs);
      })));
      const key = `images_per_s_${labels ? 'with_labels' : 'image_only'}_c${conc}`;
      results[key] = v;
      rows.push({ case: `images/s, 512 px JPEG${labels ? ' + depth + mask PNG' : ''}, ${conc} in flight`, value: v });
    }

    // --- the loader: workers against the main thread (baseline), same run
    const batch = { batchSize: B, mode: 'mixed' as const, conditionSize: 256, generationSize: 256, seed: 1 };
    const specs: [string, data.LoaderSpec][] = [
      ['scenes 256 px', { source: { kind: 'scenes', count: 10_000, size: 256 }, tokenizer: { kind: 'scenes' }, batch }],
      ['LLaVA folder', { source: { kind: 'llava', json, imageRoot: path.join(root, 'images'), depthRoot: path.join(root, 'depth'), maskRoot: path.join(root, 'mask') }, tokenizer: { kind: 'scenes' }, batch }],
    ];
    const loader: Record<string, unknown>[] = [];
    for (const [name, spec] of specs) {
      const step = Math.round(1000 / (await loaderRun(spec, 0, 0)).batchesPerS); // main-thread cost of one batch
      const per: Record<number, { rows: number; wait: number; steps: number }> = {};
      for (const workers of [0, 1, 2]) {
        const free: number[] = [], wait: number[] = [], steps: number[] = [];
        for (let r = 0; r < rounds; r++) {
          free.push((await loaderRun(spec, workers, 0)).batchesPerS * B);
          const w = await loaderRun(spec, workers, step);
          wait.push(w.waitMs);
          steps.push(w.batchesPerS);
        }
        per[workers] = { rows: median(free), wait: median(wait), steps: median(steps) };
        loader.push({ source: name, workers, rows_per_s: per[workers].rows, step_ms: step, wait_per_step_ms: per[workers].wait, steps_per_s: per[workers].steps });
        rows.push({ case: `loader, ${name}, ${workers} worker(s): rows/s (no step)`, value: per[workers].rows });
        rows.push({ case: `loader, ${name}, ${workers} worker(s): wait per ${step} ms step`, value: per[workers].wait });
        rows.push({ case: `loader, ${name}, ${workers} worker(s): steps/s`, value: per[workers].steps });
      }
      rows.push({ case: `loader, ${name}: steps/s with 2 workers / with 0 (ratio)`, value: per[2].steps / per[0].steps });
    }
    results.loader = loader;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  printTable(rows);
  writeResult('data', { rounds, batches: BATCHES, batch_size: B, results });
}

main().catch((e) => { console.error(e); process.exit(1); });
