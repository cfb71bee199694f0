// The fused multitask cross-entropy against the unfused ATen composition, same run, same data.
//   npx tsx bench/loss.ts                  CPU, float32, T = 4 -> bench/results/loss-cpu.json
//   npx tsx bench/loss.ts --device cuda    GPU, bfloat16       -> bench/results/loss-cuda.json
// Options: --reps N (timed repetitions of the fused op; the slow baselines run fewer).
//
// Timed: forward + backward (loss.backward() into a leaf's .grad), medians, rounds interleaved so
// machine noise hits every variant alike. Unfused = log_softmax + gather + ignore mask + per-task
// scatter_add sums / counts + weighted sum, then autograd's backward of all that.
// CPU memory: peak RSS growth of one forward + backward (VmHWM after resetting it through
// /proc/self/clear_refs, minus VmRSS before), the final gradient included: the fused op should
// add about one N x V gradient, the in-place one nothing, the unfused composition several.
// GPU: time, and bandwidth counting 6 bytes per bfloat16 logit (read, read again, write the
// gradient) against a device-to-device copy (clone: 4 bytes per logit) timed in the same run;
// the linear variant against the three bare GEMMs it cannot avoid (logits, grad hidden, grad weight).
import * as fs from 'node:fs';
import { losses, torch, Tensor } from '../lib';
import type { DType } from '../lib';
import { median, printTable, writeResult } from './lib/report';

const argv = process.argv.slice(2);
const arg = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const device = (arg('--device') ?? 'cpu') as 'cpu' | 'cuda';
const repsArg = Number(arg('--reps')) || 0;
const T = 4;

const sync = () => { if (device === 'cuda') torch.cuda.synchronize(); };

/** Milliseconds of one call of fn (synchronised on a GPU); setup runs untimed before it. */
function timeOnce(fn: () => void, setup?: () => void): number {
  setup?.();
  sync();
  const t0 = process.hrtime.bigint();
  fn();
  sync();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

// ---- memory (CPU): peak RSS growth of one call -----------------------------------------------
function status(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of fs.readFileSync('/proc/self/status', 'utf8').split('\n')) {
    const m = /^(VmHWM|VmRSS):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]] = Number(m[2]) * 1024;
  }
  return out;
}
function peakExtraBytes(fn: () => void): number | null {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
  } catch {
    return null;
  }
  const base = status().VmRSS;
  fn();
  return status().VmHWM - base;
}

// ---- the two ways of computing the loss ----------------------------------------------------
interface Data { x: Tensor; src: Tensor; y: Tensor; t: Tensor; ySafe: Tensor; valid: Tensor; w: Tensor; N: number; V: number }

function makeData(N: number, V: number, dtype: DType): Data {
  return torch.tidy(() => {
    torch.manualSeed(0);
    const src = torch.randn([N, V], { dtype, device }).mul(2);
    const x = src.clone();
    x.requiresGrad = true;
    const y = torch.randint(0, V, [N], { device });
    const ignored = torch.rand([N], { device }).lt(0.05);
    const yi = torch.where(ignored, -100, y);
    const valid = yi.ne(-100);
    const ySafe = torch.where(valid, yi, 0).unsqueeze(1);
    const t = torch.randint(0, T, [N], { device });
    const w = torch.tensor([1, 0.5, 0.25, 2], { device });
    return { x: torch.keep(x), src: torch.keep(src), y: torch.keep(yi), t: torch.keep(t), ySafe: torch.keep(ySafe), valid: torch.keep(valid.to(dtype)), w: torch.keep(w), N, V };
  });
}

function freeData(d: Data): void { torch.dispose([d.x, d.src, d.y, d.t, d.ySafe, d.valid, d.w]); }

function fused(d: Data, inplace = false): void {
  torch.tidy(() => {
    const r = losses.multitaskCrossEntropy(d.x, d.y, d.t, { weights: d.w, inplace });
    r.loss.backward();
  });
}

function unfused(d: Data): void {
  torch.tidy(() => {
    const lsm = d.x.logSoftmax(1);
    const nll = lsm.gather(1, d.ySafe).squeeze(1).neg().mul(d.valid);
    const S = torch.zeros([T], { dtype: nll.dtype, device }).scatterAdd(0, d.t, nll);
    const C = torch.zeros([T], { dtype: nll.dtype, device }).scatterAdd(0, d.t, d.valid);
    S.div(C).mul(d.w.to(nll.dtype)).sum().backward();
  });
}

const clearGrad = (d: Data) => () => { d.x.grad = null; };
const refill = (d: Data) => () => { d.x.grad = null; torch.noGrad(() => { d.x.copy_(d.src); }); };

function withEnv<R>(key: string, value: string, fn: () => R): R {
  const prev = process.env[key];
  process.env[key] = value;
  try { return fn(); } finally { if (prev === undefined) delete process.env[key]; else process.env[key] = prev; }
}

/** Interleaved rounds; variants[k] runs reps[k] times in total. */
function measure(variants: Record<string, { run: () => void; setup?: () => void; reps: number }>): Record<string, number[]> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (const v of Object.values(variants)) timeOnce(v.run, v.setup); // warm-up
  const rounds = Math.max(...Object.values(variants).map((v) => v.reps));
  for (let r = 0; r < rounds; r++) {
    for (const [k, v] of Object.entries(variants)) if (r < v.reps) samples[k].push(timeOnce(v.run, v.setup));
  }
  return samples;
}

// ---- CPU -------------------------------------------------------------------------------------
function cpuBench(): void {
  const shapes: [number, number, number, number][] = [[4096, 16384, repsArg || 10, 5], [2048, 151936, repsArg ? Math.max(2, repsArg >> 1) : 4, 3]];
  const rows: Record<string, unknown>[] = [];
  const all: Record<string, unknown>[] = [];
  for (const [N, V, repsFused, repsSlow] of shapes) {
    const d = makeData(N, V, 'float32');
    const samples = measure({
      fused: { run: () => fused(d), setup: clearGrad(d), reps: repsFused },
      fused_inplace: { run: () => fused(d, true), setup: refill(d), reps: repsFused },
      fused_no_cache: { run: () => withEnv('UNIMRG_CE_GRAD_CACHE', '0', () => fused(d)), setup: clearGrad(d), reps: repsFused },
      fused_no_hugepages: { run: () => withEnv('UNIMRG_CE_HUGEPAGES', '0', () => fused(d)), setup: clearGrad(d), reps: repsSlow },
      unfused: { run: () => unfused(d), setup: refill(d), reps: repsSlow },
    });
    const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
    refill(d)();
    // With the gradient cache off: the cache would hand back the previous step's buffer, which is
    // already resident, and hide the N x V that a step needs.
    const mem = {
      fused: withEnv('UNIMRG_CE_GRAD_CACHE', '0', () => peakExtraBytes(() => fused(d))),
      fused_inplace: (refill(d)(), peakExtraBytes(() => fused(d, true))),
      unfused: (refill(d)(), peakExtraBytes(() => unfused(d))),
    };
    refill(d)();
    const nv = N * V * 4;
    const row = {
      shape: `[${N}, ${V}]`, fused_ms: m.fused, inplace_ms: m.fused_inplace, no_cache_ms: m.fused_no_cache, no_thp_ms: m.fused_no_hugepages,
      unfused_ms: m.unfused,
      speedup: m.unfused / m.fused, speedup_inplace: m.unfused / m.fused_inplace,
      fused_extra_NV: mem.fused === null ? null : mem.fused / nv, inplace_extra_NV: mem.fused_inplace === null ? null : mem.fused_inplace / nv,
      unfused_extra_NV: mem.unfused === null ? null : mem.unfused / nv,
    };
    rows.push(row);
    all.push({ N, V, T, dtype: 'float32', medians_ms: m, samples_ms: samples, peak_extra_bytes: mem, nv_bytes: nv });
    freeData(d);
  }
  printTable(rows);
  writeResult('loss-cpu', {
    command: 'npx tsx bench/loss.ts', device: 'cpu', threads: torch.getNumThreads(),
    goal: '>= 10x faster than unfused (fwd+bwd) at [4096, 16384]; extra memory <= one N x V gradient (none in place)',
    method: {
      time: 'median ms of forward + backward into a leaf .grad; rounds interleaved',
      memory: 'peak RSS growth of one forward + backward (VmHWM after /proc/self/clear_refs, minus VmRSS before), in units of N x V float32 (the gradient itself included); the fused op measured with UNIMRG_CE_GRAD_CACHE=0 so that the cached buffer of the previous step does not hide the step\'s N x V',
      fused: 'default: the gradient buffer reused from the previous step (a cache of one huge-page mapping)',
      fused_no_cache: 'UNIMRG_CE_GRAD_CACHE=0: a fresh mapping advised for transparent huge pages every step',
      fused_no_hugepages: 'UNIMRG_CE_HUGEPAGES=0: the gradient from libtorch\'s allocator in 4 KiB pages (first-touch page faults dominate on this VM)',
    },
    rows, cases: all,
  });
}

// ---- GPU -------------------------------------------------------------------------------------
function gpuBench(): void {
  if (!torch.cuda.isAvailable()) {
    console.error(`bench/loss: --device cuda asked, but torch.cuda.isAvailable() is false (libtorch ${torch.backend().torch}, cuda ${torch.backend().cuda})`);
    process.exit(1);
  }
  const reps = repsArg || 10;
  const shapes: [number, number, number][] = [[8192, 151936, 1536], [16384, 16384, 2048]];
  const rows: Record<string, unknown>[] = [];
  const linRows: Record<string, unknown>[] = [];
  const all: Record<string, unknown>[] = [];
  for (const [N, V, H] of shapes) {
    const d = makeData(N, V, 'bfloat16');
    const dst = torch.zerosLike(d.src);
    const samples = measure({
      clone: { run: () => torch.tidy(() => { d.src.clone(); }), reps },
      copy: { run: () => { dst.copy_(d.src); }, reps }, // into a preallocated buffer: no allocator in the way
      fused: { run: () => fused(d), setup: clearGrad(d), reps },
      fused_inplace: { run: () => fused(d, true), setup: refill(d), reps },
      fused_forward_only: { run: () => torch.tidy(() => { torch.noGrad(() => losses.multitaskCrossEntropy(d.x, d.y, d.t, { weights: d.w })); }), reps },
      unfused: { run: () => unfused(d), setup: refill(d), reps: Math.max(3, reps >> 1) },
    });
    refill(d)();
    dst.dispose();
    const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
    const nv = N * V;
    const gbs = (bytes: number, ms: number) => bytes / ms / 1e6;
    rows.push({
      shape: `[${N}, ${V}] bf16`, fused_ms: m.fused, inplace_ms: m.fused_inplace, fwd_only_ms: m.fused_forward_only, clone_ms: m.clone,
      copy_ms: m.copy, unfused_ms: m.unfused, fused_GBps_6B: gbs(6 * nv, m.fused), inplace_GBps_6B: gbs(6 * nv, m.fused_inplace),
      clone_GBps_4B: gbs(4 * nv, m.clone), copy_GBps_4B: gbs(4 * nv, m.copy),
      inplace_vs_copy_bw: gbs(6 * nv, m.fused_inplace) / gbs(4 * nv, Math.min(m.clone, m.copy)), speedup_vs_unfused: m.unfused / m.fused,
    });
    freeData(d);

    // Linear variant: hidden [N, H] x weight [V, H], against the three GEMMs.
    const lin = torch.tidy(() => {
      torch.manualSeed(1);
      const h = torch.randn([N, H], { dtype: 'bfloat16', device });
      const W = torch.randn([V, H], { dtype: 'bfloat16', device }).mul(0.02);
      h.requiresGrad = true;
      W.requiresGrad = true;
      const y = torch.randint(0, V, [N], { device });
      const t = torch.randint(0, T, [N], { device });
      const G = torch.randn([N, V], { dtype: 'bfloat16', device });
      const hd = h.detach(), Wd = W.detach();
      const clear = () => { h.grad = null; W.grad = null; };
      const s = measure({
        gemm3: { run: () => torch.tidy(() => { hd.matmul(Wd.t()); G.matmul(Wd); G.t().matmul(hd); }), reps },
        linear_fused: { run: () => torch.tidy(() => { losses.multitaskLinearCrossEntropy(h, W, y, t, { numTasks: T }).loss.backward(); }), setup: clear, reps },
        linear_unfused: {
          run: () => torch.tidy(() => {
            const lsm = h.matmul(W.t()).logSoftmax(1);
            const nll = lsm.gather(1, y.unsqueeze(1)).squeeze(1).neg();
            const S = torch.zeros([T], { dtype: nll.dtype, device }).scatterAdd(0, t, nll);
            const C = torch.zeros([T], { dtype: nll.dtype, device }).scatterAdd(0, t, torch.onesLike(nll));
            S.div(C).sum().backward();
          }),
          setup: clear, reps: Math.max(3, reps >> 1),
        },
      });
      clear();
      return s;
    });
    const lm = Object.fromEntries(Object.entries(lin).map(([k, v]) => [k, median(v)]));
    linRows.push({
      shape: `N=${N} H=${H} V=${V} bf16`, linear_fused_ms: lm.linear_fused, gemm3_ms: lm.gemm3, linear_unfused_ms: lm.linear_unfused,
      fused_over_gemms: lm.linear_fused / lm.gemm3, speedup_vs_unfused: lm.linear_unfused / lm.linear_fused,
    });
    all.push({ N, V, H, T, dtype: 'bfloat16', medians_ms: m, samples_ms: samples, linear_medians_ms: lm, linear_samples_ms: lin });
  }
  printTable(rows);
  printTable(linRows);
  writeResult('loss-cuda', {
    command: 'npx tsx bench/loss.ts --device cuda', device: 'cuda',
    method: {
      time: 'median ms of forward + backward (torch.cuda.synchronize() around each), rounds interleaved',
      bandwidth: '6 bytes per bfloat16 logit (read twice, gradient written once) over the time; clone and copy_ into a preallocated buffer: 4 bytes per logit (the faster of the two is the reference)',
      linear: 'multitask_linear_cross_entropy forward + backward against the three GEMMs (h W^T, G W, G^T h) on the same sizes',
    },
    rows, linear: linRows, cases: all,
  });
}

if (device === 'cuda') gpuBench(); else cpuBench();
