// `unimrg doctor`: the loaded binary and its variant, the libtorch found, backend, CUDA, threads,
// memory — checked against what the loader and the addon report independently.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { doctor, formatDoctor } from '../../lib/cli/doctor';
import { program } from '../../lib/cli';
import { loadedBinary } from '../../lib/native/binding';
import { torch } from '../../lib';

describe('unimrg doctor', () => {
  it('reports the loaded binary, its variant and the libtorch in effect', () => {
    const x = torch.ones([256, 256]); // 256 KiB live, so the memory line has something to say
    const r = doctor();
    expect(r.error).toBeNull();
    expect(r.binary).toMatchObject({ file: loadedBinary.candidate.file, kind: loadedBinary.candidate.kind, variant: loadedBinary.candidate.variant });
    expect(fs.existsSync(r.binary!.file)).toBe(true);
    const b = torch.backend();
    expect(r.binary!.variant).toMatch(new RegExp(`^torch-${b.built.torch.split('.').slice(0, 2).join('\\.')}\\.(cpu|cu\\d+|cuda)\\.(cxx11|precxx11)$`));
    expect(r.libtorch[0].torch.split('.').slice(0, 2)).toEqual(b.runtime.torch.split('.').slice(0, 2));
    expect(Boolean(r.libtorch[0].cuda)).toBe(b.runtime.cuda);
    expect(r.candidates.find((c) => c.label === loadedBinary.candidate.label)?.fits).toBe('yes');
    expect(r.backend).toMatchObject({ torch: b.torch, threads: b.threads, cpuGemm: b.cpuGemm, cudaAvailable: torch.cuda.isAvailable() });
    expect(r.backend!.memory.tensors).toBeGreaterThanOrEqual(1);
    expect(r.backend!.memory.bytes).toBeGreaterThanOrEqual(256 * 256 * 4);
    expect(typeof r.backend!.memory.allocator.caching).toBe('boolean');
    x.dispose();

    const text = formatDoctor(r);
    expect(text).toContain(`binary:   ${path.relative(r.package.root, r.binary!.file)} (${r.binary!.kind}, variant ${r.binary!.variant})`);
    expect(text).toMatch(/^libtorch: libtorch \d+\.\d+\S* \((CPU|CUDA[^,)]*)(, [^)]*)?\) in \/\S+ \(via [^)]+\), in effect$/m);
    expect(text).toMatch(/^backend: {2}libtorch \S+ loaded \(built against \S+\), (C\+\+11|pre-C\+\+11) ABI, \d+ threads, float32 GEMMs on (oneDNN|libtorch's BLAS)$/m);
    expect(text).toMatch(/^cuda: {5}/m);
    expect(text).toMatch(/^memory: {3}\d+ tensors, /m);
  });

  it('is a command of the CLI, with --json', async () => {
    const out: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((s: string) => { out.push(s); });
    try {
      await program().exitOverride().parseAsync(['node', 'unimrg', 'doctor', '--json']);
    } finally {
      log.mockRestore();
    }
    const r = JSON.parse(out.join('\n'));
    expect(r.binary.variant).toBe(loadedBinary.candidate.variant);
    expect(r.package.name).toBe('unimrg');
  });

  it('an unknown command is refused with a message', async () => {
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await expect(program().exitOverride().parseAsync(['node', 'unimrg', 'doctr'])).rejects.toThrow(/unknown command 'doctr'/);
    } finally {
      err.mockRestore();
    }
  });
});
