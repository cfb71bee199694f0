// Training-step throughput: a small decoder-only transformer (4 layers, d = 256, 4 heads,
// sequence 128, batch 8, vocabulary 4096; Llama layout) — forward, cross-entropy, backward and
// AdamW step — in unimrg (caching CPU allocator and oneDNN GEMMs for linear layers, the
// defaults), in unimrg without the allocator, in unimrg without oneDNN, and in PyTorch from
// Python (bench/peers/train_step.py) on the same libtorch, same thread count, same initial
// weights and batch (handed over in a safetensors file). Where the environment pins OpenBLAS's
// kernels (OPENBLAS_CORETYPE), PyTorch also runs with OpenBLAS choosing for itself. Each runner
// is its own process; rounds alternate between them so machine noise hits all alike; medians.
//   npx tsx bench/train-step.ts [--rounds 5] [--steps 3]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { io, nn, optim, torch, Tensor } from '../lib';
import { PythonPeer, torchPython } from './lib/python';
import { median, printTable, writeResult } from './lib/report';

const CONFIG = { vocabSize: 4096, dim: 256, numLayers: 4, numHeads: 4, hiddenDim: 688 };
const B = 8, T = 128;
const OPTIM = { lr: 3e-4, betas: [0.9, 0.95] as [number, number], eps: 1e-8, weightDecay: 0.1 };

interface RunResult { ms: number[]; losses: number[]; allocator?: unknown }

// ---- worker: one unimrg process (allocator on or off, fixed at load) ----------------------
function worker(): void {
  let step: (() => number) | null = null;
  const rl = require('node:readline').createInterface({ input: process.stdin });
  rl.on('line', (line: string) => {
    const req = JSON.parse(line);
    if (req.cmd === 'init') {
      const t = io.loadSafetensors(req.file);
      const lm = new nn.DecoderLM(CONFIG);
      lm.loadStateDict(Object.fromEntries(Object.entries(t).filter(([k]) => k.startsWith('param.')).map(([k, v]) => [k.slice(6), v])));
      const opt = new optim.AdamW(lm.parameters(), OPTIM);
      const inp = t.batch.narrow(1, 0, T).contiguous(), tgt = t.batch.narrow(1, 1, T).contiguous().reshape(-1);
      step = () => torch.tidy(() => {
        const logits = lm.forward(inp);
        const loss = torch.ops.aten.cross_entropy_loss(logits.reshape(-1, CONFIG.vocabSize), tgt) as Tensor;
        loss.backward();
        opt.step();
        opt.zeroGrad();
        return loss.item() as number;
      });
      const b = torch.backend();
      process.stdout.write(`${JSON.stringify({ ok: true, threads: b.threads, gemm: b.cpuGemm, allocator: torch.memory().allocator.caching })}\n`);
    } else {
      const ms: number[] = [], losses: number[] = [];
      for (let i = 0; i < req.steps; i++) {
        const t0 = process.hrtime.bigint();
        losses.push(step!());
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      process.stdout.write(`${JSON.stringify({ ms, losses, allocator: torch.memory().allocator })}\n`);
    }
  });
}

// ---- orchestrator ------------------------------------------------------------------------
async function main(): Promise<void> {
  const arg = (name: string, d: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : d);
  const rounds = arg('--rounds', 5), steps = arg('--steps', 3);
  const threads = torch.backend().threads;
  // Same initial weights (our PyTorch-default init, seeded) and batch for every runner.
  torch.manualSeed(0);
  const lm = new nn.DecoderLM(CONFIG);
  const nParams = lm.numParameters();
  const batch = torch.randint(0, CONFIG.vocabSize, [B, T + 1]);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-train-step-')), 'init.safetensors');
  io.saveSafetensors(file, { ...Object.fromEntries(Object.entries(lm.stateDict()).map(([k, v]) => [`param.${k}`, v])), batch });
  lm.dispose();

  const tsx = require.resolve('tsx/cli');
  const unimrg = (env: Record<string, string>) => new PythonPeer(process.execPath, tsx, [__filename, '--worker'],
    { UNIMRG_CACHING_ALLOCATOR: '1', UNIMRG_ONEDNN_GEMM: '1', UNIMRG_NUM_THREADS: String(threads), ...env });
  const runners: Record<string, PythonPeer> = {
    unimrg_cached: unimrg({}),
    unimrg_plain: unimrg({ UNIMRG_CACHING_ALLOCATOR: '0' }),
    unimrg_aten_gemm: unimrg({ UNIMRG_ONEDNN_GEMM: '0' }),
  };
  const py = torchPython();
  const pinnedBlas = process.env.OPENBLAS_CORETYPE;
  if (py) {
    const peer = path.join(__dirname, 'peers', 'train_step.py');
    runners.pytorch = new PythonPeer(py, peer, [String(threads)]);
    if (pinnedBlas) runners.pytorch_blas_autodetect = new PythonPeer(py, peer, [String(threads)], { OPENBLAS_CORETYPE: undefined });
  } else console.warn('PyTorch for Python not found: reporting unimrg alone (install python3-torch for the ratio)');
  const info: Record<string, unknown> = {};
  for (const [k, r] of Object.entries(runners)) info[k] = await r.request({ cmd: 'init', file, config: CONFIG, optim: OPTIM });

  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(runners).map((k) => [k, []]));
  const firstLoss: Record<string, number> = {};
  const last: Record<string, RunResult> = {};
  for (const [k, r] of Object.entries(runners)) { // warm-up: 2 steps each; the first loss is the same model's
    const w = await r.request<RunResult>({ cmd: 'run', steps: 2 });
    firstLoss[k] = w.losses[0];
  }
  const names = Object.keys(runners);
  for (let round = 0; round < rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const k of order) {
      const res = await runners[k].request<RunResult>({ cmd: 'run', steps });
      samples[k].push(...res.ms);
      last[k] = res;
    }
    console.error(`round ${round + 1}/${rounds}: ${names.map((k) => `${k} ${median(samples[k]).toFixed(0)} ms`).join(', ')}`);
  }
  for (const r of Object.values(runners)) r.close();
  fs.rmSync(path.dirname(file), { recursive: true, force: true });

  const tokens = B * T;
  const med = Object.fromEntries(names.map((k) => [k, median(samples[k])]));
  const tps = Object.fromEntries(names.map((k) => [k, (tokens / med[k]) * 1e3]));
  const rows = names.map((k) => ({
    runner: k, step_ms: med[k], tokens_per_s: tps[k], vs_pytorch: tps.pytorch ? tps[k] / tps.pytorch : null, first_loss: firstLoss[k],
  }));
  printTable(rows);
  writeResult('train-step', {
    command: `npx tsx bench/train-step.ts --rounds ${rounds} --steps ${steps}`,
    model: { ...CONFIG, batch: B, seq: T, params: nParams, layout: 'Llama (RMSNorm, rotary, SwiGLU, untied head)' },
    optimizer: { name: 'AdamW', ...OPTIM, pytorch: 'torch.optim.AdamW defaults (1.13: per-parameter loop)' },
    threads, python: py, rounds, steps_per_round: steps, openblas_coretype: pinnedBlas ?? null,
    goal: '>= 1.0x PyTorch tokens/s without the caching allocator, >= 1.2x with it',
    ratios: {
      unimrg_plain_vs_pytorch: tps.pytorch ? tps.unimrg_plain / tps.pytorch : null,
      unimrg_cached_vs_pytorch: tps.pytorch ? tps.unimrg_cached / tps.pytorch : null,
      unimrg_cached_vs_pytorch_blas_autodetect: tps.pytorch_blas_autodetect ? tps.unimrg_cached / tps.pytorch_blas_autodetect : null,
      cached_vs_plain: tps.unimrg_cached / tps.unimrg_plain,
      onednn_vs_aten_gemm: tps.unimrg_cached / tps.unimrg_aten_gemm,
    },
    rows, info, allocator: last.unimrg_cached?.allocator, samples_ms: samples,
  });
}

if (process.argv.includes('--worker')) worker();
else main().catch((e) => { console.error(e); process.exit(1); });
