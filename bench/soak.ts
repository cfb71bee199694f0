// Memory over a long run: a tiny UniMRG training run (autoregressive-vq, all four tasks, mixed batches of 8,
// a loader thread, a checkpoint every 1000 steps) for 10,000 steps, sampling the process's
// resident set, the caching allocator's bytes, live tensor bytes and V8's heap every 100 steps.
// Flat after warm-up is the goal; the baseline is the same run's own level at the end of warm-up,
// and the result is the growth per 1000 steps after it (a least-squares slope) and the ratio of
// the last quarter's median to the warm-up level.
//   npx tsx bench/soak.ts [--steps 10000] [--warmup 1000] [--every 100]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prepareCodec } from '../lib/unimrg/experiment';
import { Trainer, type StepMetrics } from '../lib/unimrg/trainer';
import { median, printTable, writeResult } from './lib/report';

function flag(name: string, d: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? d : Number(process.argv[i + 1]);
}

interface Sample { step: number; seconds: number; residentBytes: number; allocatorBytes: number | null; tensorBytes: number; heapUsed: number }

/** Least-squares slope of y against x. */
function slope(xs: number[], ys: number[]): number {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => { num += (x - mx) * (ys[i] - my); den += (x - mx) ** 2; });
  return num / den;
}

async function main(): Promise<void> {
  const steps = flag('steps', 10_000);
  const warmup = flag('warmup', 1000);
  const every = flag('every', 100);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-soak-'));
  try {
    const codec = await prepareCodec('autoregressive-vq', 'tiny', path.join(dir, 'codec.safetensors'), 50, () => {});
    const trainer = new Trainer({ codec, out: path.join(dir, 'run'), steps, checkpointEvery: 1000, batch: { size: 8, mode: 'mixed' }, data: { count: 4000, workers: 1 } });
    const samples: Sample[] = [];
    const t0 = performance.now();
    await trainer.run({
      onEvent: (e) => {
        if (e.type !== 'step' || (e.metrics.step % every !== 0 && e.metrics.step !== 1)) return;
        const m: StepMetrics = e.metrics;
        samples.push({ step: m.step, seconds: (performance.now() - t0) / 1000, residentBytes: m.residentBytes, allocatorBytes: m.allocatorBytes, tensorBytes: m.tensorBytes, heapUsed: process.memoryUsage().heapUsed });
        if (m.step % (every * 10) === 0) process.stderr.write(`step ${m.step}/${steps}: resident ${(m.residentBytes / 2 ** 20).toFixed(1)} MiB, allocator ${((m.allocatorBytes ?? 0) / 2 ** 20).toFixed(1)} MiB\n`);
      },
    });
    trainer.dispose();

    const after = samples.filter((s) => s.step >= warmup);
    const lastQuarter = after.filter((s) => s.step >= warmup + 0.75 * (steps - warmup));
    const atWarmup = after[0];
    const row = (name: string, get: (s: Sample) => number) => {
      const perK = slope(after.map((s) => s.step), after.map(get)) * 1000;
      const end = median(lastQuarter.map(get));
      return {
        quantity: name, 'at warm-up MiB': (get(atWarmup) / 2 ** 20).toFixed(1), 'last quarter median MiB': (end / 2 ** 20).toFixed(1),
        'max - min after warm-up MiB': ((Math.max(...after.map(get)) - Math.min(...after.map(get))) / 2 ** 20).toFixed(1),
        'slope KiB / 1000 steps': (perK / 1024).toFixed(1), 'end / warm-up': (end / get(atWarmup)).toFixed(3),
      };
    };
    const table = [
      row('resident set', (s) => s.residentBytes),
      row('caching allocator', (s) => s.allocatorBytes ?? 0),
      row('live tensors', (s) => s.tensorBytes),
      row('V8 heap used', (s) => s.heapUsed),
    ];
    printTable(table);
    const seconds = (performance.now() - t0) / 1000;
    console.log(`${steps} steps in ${(seconds / 60).toFixed(1)} min`);
    const file = writeResult('soak', { command: `npx tsx bench/soak.ts --steps ${steps} --warmup ${warmup} --every ${every}`, steps, warmup, seconds, table, samples });
    console.log(`wrote ${file}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
