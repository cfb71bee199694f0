// Training throughput of each adapter family: samples/s of a full four-task training step
// (forward, fused losses, backward, clipping, AdamW) at the tiny and small presets, with
// `mixed` batches (every batch mixes the four tasks) against `interleave` (one task per batch,
// in turn) — the baseline of each row, measured in the same run. Batches are built in advance
// (the loader's cost is bench/data.ts), the codec is unfitted (its cost does not depend on it).
//   npx tsx bench/adapters.ts [--rounds 3] [--steps 8] [--families a,b] [--presets tiny,small]
//   -> bench/results/adapters.json
import { adapters, data, optim, torch } from '../lib';
import { median, printTable, writeResult } from './lib/report';

const argv = process.argv.slice(2);
const arg = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const rounds = Number(arg('--rounds') ?? 3);
const steps = Number(arg('--steps') ?? 8);
const families = (arg('--families') ?? adapters.FAMILIES.join(',')).split(',') as adapters.Family[];
const presets = (arg('--presets') ?? 'tiny,small').split(',');
const B = 8;

async function batches(a: adapters.Adapter, mode: 'mixed' | 'interleave', n: number): Promise<data.HostBatch[]> {
  const f = a.batchFormat;
  const source = data.sceneSource({ split: 'train', count: 64, size: Math.max(64, f.conditionSize, f.generationSize) });
  const b = new data.TaskBatcher(source, a.tokenizer, {
    batchSize: B, mode, conditionSize: f.conditionSize, generationSize: f.generationSize,
    conditionTokens: f.conditionTokens, generationTokens: f.generationTokens, normalization: f.normalization, template: f.template,
  });
  const out: data.HostBatch[] = [];
  for (let i = 0; i < n; i++) out.push(await b.hostBatch(i));
  return out;
}

/** Samples/s over `steps` steps after one warm-up step. */
function measure(a: adapters.Adapter, opt: optim.AdamW, hosts: data.HostBatch[]): number {
  const params = a.trainableParameters('post-training').map(([, p]) => p);
  const step = (h: data.HostBatch) => {
    const batch = data.toTensors(h);
    try {
      torch.tidy(() => adapters.adapterLoss(a.forward(batch)).loss.backward());
      optim.clipGradNorm(params, 1);
      opt.step();
      opt.zeroGrad();
    } finally {
      data.disposeBatch(batch);
    }
  };
  step(hosts[0]);
  const t0 = performance.now();
  for (let i = 1; i <= steps; i++) step(hosts[i % hosts.length]);
  return (steps * B) / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  for (const family of families) {
    for (const preset of presets) {
      const a = adapters.create(family, preset);
      a.train();
      const opt = new optim.AdamW(a.trainableParameters('post-training').map(([, p]) => p), { lr: 1e-4 });
      // interleave cycles through the four tasks: 4 consecutive batches cover each once
      const mixed = await batches(a, 'mixed', 4);
      const inter = await batches(a, 'interleave', 4);
      const m: number[] = [];
      const il: number[] = [];
      for (let r = 0; r < rounds; r++) {
        m.push(measure(a, opt, mixed));
        il.push(measure(a, opt, inter));
      }
      const row = {
        family, preset, parameters: a.model.numParameters({ trainableOnly: true }),
        'mixed samples/s': median(m), 'interleave samples/s': median(il), 'mixed / interleave': median(m) / median(il),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
      opt.dispose();
      a.dispose();
    }
  }
  printTable(rows);
  writeResult('adapters', { rounds, steps, batchSize: B, rows });
}

main().catch((e) => { console.error(e); process.exit(1); });
