// `unimrg doctor`: which native binary is loaded (and why), the libtorch the probe finds, and
// what the loaded libtorch reports: backend, CUDA, threads, the allocator. Works, and explains,
// even when no binary can be loaded.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { probeLibtorch } from '../native/probe';
import { resolveBinary } from '../native/resolve';
import { describeTorch, mismatch, type BinaryCandidate, type LibtorchFound } from '../native/variant';

const root = path.resolve(__dirname, '..', '..');

export interface DoctorReport {
  package: { name: string; version: string; root: string; node: string; platform: string };
  /** The binary loaded, or null with the reason. */
  binary: { file: string; kind: BinaryCandidate['kind']; variant: string; builtFor: string; note: string } | null;
  error: string | null;
  /** The libtorch in effect (the probe's first find) and any others found. */
  libtorch: LibtorchFound[];
  candidates: { label: string; variant: string; builtFor: string; fits: string }[];
  backend: {
    torch: string; built: string; cuda: string | null; cudnn: boolean; threads: number; cpuGemm: string; cxx11Abi: boolean;
    cudaAvailable: boolean; cudaDevices: number;
    memory: { tensors: number; bytes: number; allocator: Record<string, unknown> };
  } | null;
}

export function doctor(): DoctorReport {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  const res = resolveBinary(root);
  // Every libtorch, not only the one in effect (the loader stops at the first).
  const runpath = res.candidates.filter((c) => c.kind === 'build' && c.torchLibDir)
    .map((c) => ({ dir: c.torchLibDir!, via: 'RUNPATH of build/Release' }));
  const all = probeLibtorch({ runpath, firstOnly: false }).found;
  const rt = all[0] ?? null;
  const report: DoctorReport = {
    package: { name: pkg.name, version: pkg.version, root, node: process.version, platform: `${process.platform}-${process.arch}` },
    binary: null,
    error: null,
    libtorch: all,
    candidates: res.candidates.map((c) => ({
      label: c.label, variant: c.variant, builtFor: describeTorch(c),
      fits: rt ? (mismatch(c, rt) ?? 'yes') : 'unknown (no libtorch found)',
    })),
    backend: null,
  };
  try {
    // Loaded only now, so that a binary that cannot load still gets the report above.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { native, loadedBinary } = require('../native/binding') as typeof import('../native/binding');
    const { torch } = require('../torch') as typeof import('../torch');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const c = loadedBinary.candidate;
    report.binary = { file: c.file, kind: c.kind, variant: c.variant, builtFor: describeTorch(c), note: loadedBinary.note };
    const b = torch.backend();
    const m = torch.memory();
    report.backend = {
      torch: b.torch, built: b.built.torch, cuda: b.cuda, cudnn: b.cudnn, threads: b.threads, cpuGemm: b.cpuGemm, cxx11Abi: b.cxx11Abi,
      cudaAvailable: native.cudaIsAvailable(), cudaDevices: native.cudaDeviceCount(),
      memory: { tensors: m.tensors, bytes: m.bytes, allocator: { ...m.allocator } },
    };
  } catch (e) {
    report.error = (e as Error).message;
  }
  return report;
}

const bytes = (n: unknown) => (typeof n === 'number' ? (n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`) : '-');

/** The report as the lines the command prints. */
export function formatDoctor(r: DoctorReport): string {
  const lines = [`${r.package.name} ${r.package.version} (node ${r.package.node}, ${r.package.platform}) in ${r.package.root}`];
  if (r.binary) {
    lines.push(`binary:   ${path.relative(r.package.root, r.binary.file) || r.binary.file} (${r.binary.kind}, variant ${r.binary.variant})`);
    lines.push(`built for ${r.binary.builtFor}; ${r.binary.note}`);
  } else {
    lines.push('binary:   none loaded');
  }
  if (r.libtorch.length === 0) lines.push('libtorch: none found');
  r.libtorch.forEach((l, i) => lines.push(`${i === 0 ? 'libtorch:' : '  also:  '} ${describeTorch(l)} in ${l.dir} (via ${l.via})${i === 0 ? ', in effect' : ''}`));
  for (const c of r.candidates) lines.push(`present:  ${c.label}: ${c.builtFor}; fits: ${c.fits}`);
  if (r.backend) {
    const b = r.backend;
    lines.push(`backend:  libtorch ${b.torch} loaded (built against ${b.built}), ${b.cxx11Abi ? 'C++11' : 'pre-C++11'} ABI, ${b.threads} threads, float32 GEMMs on ${b.cpuGemm === 'onednn' ? 'oneDNN' : "libtorch's BLAS"}`);
    lines.push(`cuda:     ${b.cuda ? `built with CUDA ${b.cuda}${b.cudnn ? ' and cuDNN' : ''}` : 'CPU-only build'}; available: ${b.cudaAvailable}, devices: ${b.cudaDevices}`);
    const a = b.memory.allocator;
    lines.push(`memory:   ${b.memory.tensors} tensors, ${bytes(b.memory.bytes)}; caching allocator ${a.caching ? `on (in use ${bytes(a.inUse)}, cached ${bytes(a.cached)}, peak ${bytes(a.peakInUse)})` : 'off'}`);
  }
  if (r.error) lines.push(`error:    ${r.error}`);
  return lines.join('\n');
}
