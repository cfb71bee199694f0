// Data-parallel throughput: the same training step (a tiny decoder LM: 2 layers, d = 128, 4 heads,
// vocabulary 1024, sequence 64; forward, cross-entropy, backward, DDP gradient all-reduce over
// Gloo, AdamW) on 1 process and on 2 processes (one thread each, launched by lib/cli/launch.ts on
// loopback), per-rank batch fixed (weak scaling). Rounds alternate 1 and 2 processes so machine
// noise hits both alike; medians reported. Scaling efficiency = samples/s(2) / (2 × samples/s(1)).
//   npx tsx bench/ddp.ts [--rounds 3] [--steps 8]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { distributed, nn, optim, torch, Tensor } from '../lib';
import { launch } from '../lib/cli/launch';
import { median, printTable, writeResult } from './lib/report';

const CONFIG = { vocabSize: 1024, dim: 128, numLayers: 2, numHeads: 4, hiddenDim: 344 };
const B = 4, T = 64, WARMUP = 2;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

// ---- one rank (started by launch with RANK / WORLD_SIZE set) ------------------------------
async function rank(): Promise<void> {
  const steps = Number(process.env.BENCH_STEPS);
  torch.setNumThreads(1);
  const group = await distributed.initProcessGroup();
  torch.manualSeed(1);
  const lm = new nn.DecoderLM(CONFIG);
  const ddp = await distributed.DistributedDataParallel.create(lm, group);
  const opt = new optim.AdamW(lm.parameters(), { lr: 3e-4 });
  const ids = Array.from({ length: B * (T + 1) }, (_, i) => (i * 7919 + group.rank * 104729) % CONFIG.vocabSize);
  const batch = torch.tensor(ids, { dtype: 'int64' }).reshape([B, T + 1]);
  const inp = batch.narrow(1, 0, T).contiguous(), tgt = batch.narrow(1, 1, T).contiguous().reshape(-1);
  let syncMs = 0, overlapped = 0, buckets = 0;
  const step = async (): Promise<void> => {
    torch.tidy(() => {
      const logits = lm.forward(inp);
      const loss = torch.ops.aten.cross_entropy_loss(logits.reshape(-1, CONFIG.vocabSize), tgt) as Tensor;
      loss.backward();
    });
    const s0 = performance.now();
    const st = await ddp.syncGradients();
    syncMs += performance.now() - s0;
    overlapped += st.overlapped; buckets += st.buckets;
    opt.step();
    opt.zeroGrad();
  };
  for (let i = 0; i < WARMUP; i++) await step();
  await group.barrier();
  syncMs = 0; overlapped = 0; buckets = 0;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await step();
  const ms = performance.now() - t0;
  fs.writeFileSync(`${process.env.BENCH_OUT}.${group.rank}`, JSON.stringify({ ms, syncMs, overlapped, buckets }));
  group.destroy();
}

// ---- driver -------------------------------------------------------------------------------
async function runJob(nproc: number, steps: number): Promise<{ samplesPerSec: number; syncMsPerStep: number; overlapped: string }> {
  const out = path.join(os.tmpdir(), `unimrg-bench-ddp-${process.pid}-${nproc}`);
  const code = await launch({ nproc, masterPort: 0, env: { BENCH_STEPS: String(steps), BENCH_OUT: out, OMP_NUM_THREADS: '1', UNIMRG_NUM_THREADS: '1' } },
    [__filename, '--rank']);
  if (code !== 0) throw new Error(`the ${nproc}-process run failed (exit ${code})`);
  const ranks = Array.from({ length: nproc }, (_, r) => JSON.parse(fs.readFileSync(`${out}.${r}`, 'utf8')));
  ranks.forEach((_, r) => fs.unlinkSync(`${out}.${r}`));
  const ms = Math.max(...ranks.map((r) => r.ms));
  return {
    samplesPerSec: (nproc * B * steps) / (ms / 1000),
    syncMsPerStep: median(ranks.map((r) => r.syncMs / steps)),
    overlapped: `${ranks[0].overlapped}/${ranks[0].buckets}`,
  };
}

async function main(): Promise<void> {
  const rounds = arg('rounds', 3), steps = arg('steps', 8);
  const one: number[] = [], two: number[] = [], sync1: number[] = [], sync2: number[] = [];
  let overlap = '';
  for (let r = 0; r < rounds; r++) {
    const a = await runJob(1, steps);
    const b = await runJob(2, steps);
    one.push(a.samplesPerSec); two.push(b.samplesPerSec); sync1.push(a.syncMsPerStep); sync2.push(b.syncMsPerStep);
    overlap = b.overlapped;
    console.log(`round ${r + 1}: 1 proc ${a.samplesPerSec.toFixed(1)} samples/s, 2 procs ${b.samplesPerSec.toFixed(1)} samples/s`);
  }
  const s1 = median(one), s2 = median(two);
  const rows = [
    { processes: 1, 'samples/s': s1, 'sync ms/step': median(sync1), efficiency: 1 },
    { processes: 2, 'samples/s': s2, 'sync ms/step': median(sync2), efficiency: s2 / (2 * s1) },
  ];
  printTable(rows);
  writeResult('ddp', {
    config: { ...CONFIG, batchPerRank: B, seq: T, steps, rounds, threadsPerRank: 1, backend: 'gloo', transport: 'loopback' },
    rows, samplesPerSec: { one, two }, scalingEfficiency: s2 / (2 * s1), bucketsLaunchedDuringBackward: overlap,
  });
}

if (process.argv.includes('--rank')) {
  rank().catch((e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
} else {
  main().catch((e) => { console.error(e); process.exit(1); });
}
