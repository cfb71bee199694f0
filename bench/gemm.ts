// Float32 CPU GEMMs of a small transformer (d = 256, SwiGLU 688, vocabulary 4096, 1024 tokens;
// attention over 32 heads·batch of 128 × 64): unimrg's ops (F.linear = unimrg::linear,
// Tensor.matmul = unimrg::matmul, on oneDNN where libtorch loaded libdnnl) against libtorch's own
// aten::linear / aten::matmul (its BLAS) on the same tensors, in the same process, rounds
// alternating; medians. Forward products only.
//   npx tsx bench/gemm.ts [--rounds 7] [--reps 20]  -> bench/results/gemm.json
import { torch, Tensor } from '../lib';
import { median, printTable, writeResult } from './lib/report';

const argv = process.argv.slice(2);
const arg = (name: string, d: number) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : d);
const rounds = arg('--rounds', 7), reps = arg('--reps', 20);
const aten = torch.ops.aten as unknown as Record<string, (...a: unknown[]) => Tensor>;

interface Case { name: string; flops: number; ours: () => Tensor; theirs: () => Tensor }
const linear = (M: number, K: number, N: number): Case => {
  const x = torch.randn([M, K]), w = torch.randn([N, K]);
  return { name: `linear [${M}, ${K}] · [${N}, ${K}]ᵀ`, flops: 2 * M * K * N, ours: () => torch.nn.functional.linear(x, w), theirs: () => aten.linear(x, w, null) };
};
const batched = (B: number, M: number, K: number, N: number): Case => {
  const a = torch.randn([B, M, K]), b = torch.randn([B, K, N]);
  return { name: `matmul [${B}, ${M}, ${K}] · [${B}, ${K}, ${N}]`, flops: 2 * B * M * K * N, ours: () => a.matmul(b), theirs: () => aten.matmul(a, b) };
};
const cases = [linear(1024, 256, 256), linear(1024, 256, 688), linear(1024, 688, 256), linear(1024, 256, 4096), batched(32, 128, 64, 128), batched(32, 128, 128, 64)];

function msPerCall(f: () => Tensor): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) f().dispose();
  return Number(process.hrtime.bigint() - t0) / 1e6 / reps;
}

const samples = cases.map(() => ({ ours: [] as number[], theirs: [] as number[] }));
for (const c of cases) { msPerCall(c.ours); msPerCall(c.theirs); } // warm-up
for (let r = 0; r < rounds; r++) {
  cases.forEach((c, i) => {
    const first = r % 2 === 0;
    if (first) samples[i].ours.push(msPerCall(c.ours));
    samples[i].theirs.push(msPerCall(c.theirs));
    if (!first) samples[i].ours.push(msPerCall(c.ours));
  });
}
const b = torch.backend();
const rows = cases.map((c, i) => {
  const ours = median(samples[i].ours), theirs = median(samples[i].theirs);
  return { case: c.name, unimrg_ms: ours, aten_ms: theirs, unimrg_gflops: c.flops / ours / 1e6, aten_gflops: c.flops / theirs / 1e6, speedup: theirs / ours };
});
printTable(rows);
writeResult('gemm', {
  command: `npx tsx bench/gemm.ts --rounds ${rounds} --reps ${reps}`,
  threads: b.threads, cpuGemm: b.cpuGemm, openblasCoretype: process.env.OPENBLAS_CORETYPE ?? null, rounds, reps, rows, samples,
});
