// Per-op overhead of unimrg against PyTorch from Python on the same libtorch, same run:
// add of two 4-element tensors (inside tidy, disposal included) and a 256x256 matmul.
// Rounds alternate between the two so that machine noise hits both alike; medians reported.
//   npx tsx bench/op-overhead.ts [--rounds 15]
import * as path from 'node:path';
import { torch } from '../lib';
import { PythonPeer, torchPython } from './lib/python';
import { median, printTable, writeResult } from './lib/report';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 15;
const ADD_ITERS = 100_000;
const MM_ITERS = 200;
const PER_SCOPE = 100; // ops per tidy() scope in the main case

function timeUs(iters: number, body: () => void): number {
  const t0 = process.hrtime.bigint();
  body();
  return Number(process.hrtime.bigint() - t0) / 1e3 / iters;
}

const a4 = torch.tensor([1, 2, 3, 4]);
const b4 = torch.tensor([1, 2, 3, 4]);
const a256 = torch.randn([256, 256]);
const b256 = torch.randn([256, 256]);

const cases: Record<string, () => number> = {
  // Main case: ops inside a tidy() scope; the scope frees them (disposal included).
  add4: () => timeUs(ADD_ITERS, () => {
    for (let i = 0; i < ADD_ITERS; i += PER_SCOPE) torch.tidy(() => { for (let k = 0; k < PER_SCOPE; k++) a4.add(b4); });
  }),
  // One tidy() per op: the worst case for scope bookkeeping.
  add4_tidy_each: () => timeUs(ADD_ITERS, () => { for (let i = 0; i < ADD_ITERS; i++) torch.tidy(() => { a4.add(b4); }); }),
  // Explicit dispose(), no scope: pays the FinalizationRegistry safety net (register + unregister).
  add4_dispose: () => timeUs(ADD_ITERS, () => { for (let i = 0; i < ADD_ITERS; i++) a4.add(b4).dispose(); }),
  matmul256: () => timeUs(MM_ITERS, () => { for (let i = 0; i < MM_ITERS; i++) torch.tidy(() => { a256.matmul(b256); }); }),
};

async function main(): Promise<void> {
  const threads = torch.backend().threads;
  const py = torchPython();
  const peer = py ? new PythonPeer(py, path.join(__dirname, 'peers', 'op_overhead.py'), [String(threads)]) : null;
  if (!peer) console.warn('PyTorch for Python not found: reporting unimrg alone (install python3-torch for the ratio)');
  const samples: Record<string, number[]> = { add4: [], add4_tidy_each: [], add4_dispose: [], matmul256: [], torch_add4: [], torch_matmul256: [] };
  for (const c of Object.values(cases)) c(); // warm-up (JIT)
  if (peer) { await peer.request({ case: 'add4', iters: ADD_ITERS }); await peer.request({ case: 'matmul256', iters: MM_ITERS }); }
  for (let r = 0; r < rounds; r++) {
    for (const [name, c] of Object.entries(cases)) samples[name].push(c());
    if (peer) {
      samples.torch_add4.push((await peer.request<{ us: number }>({ case: 'add4', iters: ADD_ITERS })).us);
      samples.torch_matmul256.push((await peer.request<{ us: number }>({ case: 'matmul256', iters: MM_ITERS })).us);
    }
  }
  peer?.close();
  const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.length ? median(v) : null]));
  const ratio = (ours: number | null, theirs: number | null) => (ours && theirs ? ours / theirs : null);
  const rows = [
    { case: 'add 4 elems, tidy per 100 ops', unimrg_us: m.add4, pytorch_us: m.torch_add4, ratio: ratio(m.add4, m.torch_add4) },
    { case: 'add 4 elems, tidy per op', unimrg_us: m.add4_tidy_each, pytorch_us: m.torch_add4, ratio: ratio(m.add4_tidy_each, m.torch_add4) },
    { case: 'add 4 elems, dispose()', unimrg_us: m.add4_dispose, pytorch_us: m.torch_add4, ratio: ratio(m.add4_dispose, m.torch_add4) },
    { case: 'matmul 256x256', unimrg_us: m.matmul256, pytorch_us: m.torch_matmul256, ratio: ratio(m.matmul256, m.torch_matmul256) },
  ];
  printTable(rows);
  writeResult('op-overhead', {
    command: 'npx tsx bench/op-overhead.ts', rounds, threads, python: py,
    goal: 'small-op overhead <= 1.0x PyTorch (add4 ratio)',
    medians_us: m, rows, samples_us: samples,
  });
}

main().catch((e) => { console.error(e); process.exit(1); });
