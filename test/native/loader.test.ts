// The loader's choice of binary: variant names, the match rule, selection against fixtures of
// prebuild folders and libtorch descriptions (match, version mismatch, CUDA against CPU, ABI,
// none), and the whole resolution over a fixture package.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prebuilds, resolveBinary } from '../../lib/native/resolve';
import {
  mismatch, parseVariantFile, prebuildFileName, selectBinary, variantTag,
  type BinaryCandidate, type LibtorchFound,
} from '../../lib/native/variant';

const cpu113: LibtorchFound = { dir: '/usr/lib/x86_64-linux-gnu', via: 'ld.so.conf', torch: '1.13.0', cuda: '', cxx11Abi: true };
const cu13: LibtorchFound = { dir: '/venv/torch/lib', via: 'LIBTORCH_USE_PYTORCH', torch: '2.9.1+cu130', cuda: '13.0', cxx11Abi: true };

function candidate(kind: BinaryCandidate['kind'], torch: string, cuda: string, cxx11Abi: boolean | null = true): BinaryCandidate {
  const variant = variantTag({ torch, cuda, cxx11Abi });
  const label = kind === 'build' ? 'build/Release/unimrg.node' : `prebuilds/linux-x64/${prebuildFileName(variant)}`;
  return { file: `/pkg/${label}`, label, kind, variant, torch, cuda, cxx11Abi };
}
const preCpu = candidate('prebuild', '1.13.0', '');
const preCu13 = candidate('prebuild', '2.9.0', '13.0');
const preCu12 = candidate('prebuild', '2.9.0', '12.8');

describe('variant names', () => {
  it('tags version, CUDA flavour and ABI, and parse back', () => {
    expect(variantTag({ torch: '1.13.0', cuda: '', cxx11Abi: true })).toBe('torch-1.13.cpu.cxx11');
    expect(variantTag({ torch: '2.9.0+cu130', cuda: '13.0', cxx11Abi: true })).toBe('torch-2.9.cu13.cxx11');
    expect(variantTag({ torch: '2.4.1', cuda: '12.1', cxx11Abi: false })).toBe('torch-2.4.cu12.precxx11');
    expect(variantTag({ torch: '2.4.1', cuda: 'unknown', cxx11Abi: null })).toBe('torch-2.4.cuda.cxx11');
    expect(prebuildFileName('torch-1.13.cpu.cxx11')).toBe('unimrg.napi.glibc.torch-1.13.cpu.cxx11.node');
    expect(parseVariantFile('unimrg.napi.glibc.torch-2.4.cu12.precxx11.node'))
      .toEqual({ variant: 'torch-2.4.cu12.precxx11', torch: '2.4', cuda: '12', cxx11Abi: false });
    expect(parseVariantFile('unimrg.napi.glibc.node')).toBeNull();
  });
  it('uses no tag that node-gyp-build interprets as its own', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { parseTags } = require('node-gyp-build') as { parseTags(f: string): Record<string, unknown> };
    const tags = parseTags(prebuildFileName('torch-2.4.cu12.precxx11'));
    expect(tags).toEqual({ file: prebuildFileName('torch-2.4.cu12.precxx11'), specificity: 2, napi: true, libc: 'glibc' });
  });
});

describe('mismatch', () => {
  it('accepts the same major.minor, flavour and ABI (patch and local tags may differ)', () => {
    expect(mismatch(preCpu, { ...cpu113, torch: '1.13.1' })).toBeNull();
    expect(mismatch(preCu13, cu13)).toBeNull();
    expect(mismatch(preCu13, { ...cu13, cuda: 'unknown' })).toBeNull();
    expect(mismatch(preCpu, { ...cpu113, cxx11Abi: null })).toBeNull();
  });
  it('names what differs', () => {
    expect(mismatch(preCpu, { ...cpu113, torch: '2.5.1' })).toBe('libtorch 1.13 against 2.5');
    expect(mismatch(preCu13, { ...cu13, cuda: '' })).toBe('CUDA against a CPU-only libtorch');
    expect(mismatch(candidate('prebuild', '2.9.0', ''), cu13)).toBe('CPU-only against a CUDA libtorch');
    expect(mismatch(preCu12, cu13)).toBe('CUDA 12 against CUDA 13');
    expect(mismatch({ ...preCpu, cxx11Abi: false }, cpu113)).toBe('pre-C++11 ABI against C++11 ABI');
    expect(mismatch({ ...preCpu, torch: '' }, cpu113)).toBe('its libtorch version is not recorded');
  });
});

describe('selectBinary', () => {
  it('picks the prebuild that matches the libtorch found', () => {
    const s = selectBinary([preCu12, preCpu, preCu13], cu13);
    expect(s.ok && s.candidate).toBe(preCu13);
    const t = selectBinary([preCu12, preCpu, preCu13], cpu113);
    expect(t.ok && t.candidate).toBe(preCpu);
    expect(t.ok && t.note).toBe('matches libtorch 1.13.0 (CPU, C++11 ABI) in /usr/lib/x86_64-linux-gnu (via ld.so.conf)');
  });
  it('prefers a matching local build, then the closest version', () => {
    const build = candidate('build', '1.13.1', '');
    expect(selectBinary([preCpu, build], cpu113)).toMatchObject({ ok: true, candidate: build });
    const near = candidate('prebuild', '2.9.1', '13.0');
    expect(selectBinary([preCu13, near], cu13)).toMatchObject({ ok: true, candidate: near });
  });
  it('falls back to build/Release only when it matches', () => {
    const build = candidate('build', '2.9.0', '13.0');
    expect(selectBinary([preCpu, build], cu13)).toMatchObject({ ok: true, candidate: build });
    const s = selectBinary([preCpu, candidate('build', '2.5.0', '')], cu13);
    expect(s.ok).toBe(false);
  });
  it('version mismatch: one message with what exists, what was found and how to build', () => {
    const s = selectBinary([preCpu], { ...cpu113, torch: '2.5.1' });
    expect(s.ok).toBe(false);
    const msg = !s.ok ? s.message : '';
    expect(msg).toContain('no native binary fits the libtorch found here, libtorch 2.5.1 (CPU, C++11 ABI) in /usr/lib/x86_64-linux-gnu (via ld.so.conf)');
    expect(msg).toContain('prebuilds/linux-x64/unimrg.napi.glibc.torch-1.13.cpu.cxx11.node (libtorch 1.13.0 (CPU, C++11 ABI): libtorch 1.13 against 2.5)');
    expect(msg).toContain('UNIMRG_BUILD_FROM_SOURCE=1 npm rebuild unimrg');
    expect(msg.split('\n')).toHaveLength(1);
  });
  it('CUDA against CPU is refused both ways', () => {
    const s = selectBinary([preCu13], { ...cu13, cuda: '' });
    expect(!s.ok && s.message).toContain('CUDA against a CPU-only libtorch');
    const t = selectBinary([preCpu], { ...cpu113, cuda: '12.4' });
    expect(!t.ok && t.message).toContain('CPU-only against a CUDA libtorch');
  });
  it('no binary at all, and no libtorch at all', () => {
    const s = selectBinary([], cpu113);
    expect(!s.ok && s.message).toContain('No binary is installed');
    const t = selectBinary([preCpu], null);
    expect(!t.ok && t.message).toMatch(/no libtorch was found on this machine.*binaries present: prebuilds\/linux-x64\//);
    const build = candidate('build', '1.13.0', '');
    expect(selectBinary([preCpu, build], null)).toMatchObject({ ok: true, candidate: build });
  });
  it('UNIMRG_BINARY overrides the choice', () => {
    const forced: BinaryCandidate = { ...preCu12, kind: 'override', label: '/x/unimrg.node' };
    expect(selectBinary([forced, preCpu], cpu113)).toMatchObject({ ok: true, candidate: forced, note: 'chosen by UNIMRG_BINARY' });
  });
});

describe('prebuild folders and resolution (fixture package)', () => {
  let pkg: string;
  let libtorch: string;
  const write = (file: string, text = '') => { fs.mkdirSync(path.dirname(file), { recursive: true }); fs.writeFileSync(file, text); };
  const sidecar = (variant: string, facts: object) =>
    write(path.join(pkg, 'prebuilds', 'linux-x64', prebuildFileName(variant).replace(/\.node$/, '.json')), JSON.stringify({ variant, ...facts }));
  beforeAll(() => {
    pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-loader-'));
    for (const v of ['torch-1.13.cpu.cxx11', 'torch-2.9.cu13.cxx11', 'torch-2.4.cu12.precxx11']) {
      write(path.join(pkg, 'prebuilds', 'linux-x64', prebuildFileName(v)));
    }
    sidecar('torch-1.13.cpu.cxx11', { torch: '1.13.0', cuda: '', cxx11Abi: true, source: 'system' });
    sidecar('torch-2.9.cu13.cxx11', { torch: '2.9.0', cuda: '13.0', cxx11Abi: true });
    // no sidecar for the cu12 one: its name tells the facts
    write(path.join(pkg, 'prebuilds', 'linux-x64', 'unimrg.napi.musl.torch-1.13.cpu.cxx11.node')); // another libc
    write(path.join(pkg, 'prebuilds', 'linux-arm64', prebuildFileName('torch-1.13.cpu.cxx11'))); // another arch
    write(path.join(pkg, 'prebuilds', 'linux-x64', 'notes.txt'));
    // An unpacked CUDA libtorch 2.9 named by LIBTORCH.
    libtorch = path.join(pkg, 'libtorch');
    write(path.join(libtorch, 'build-version'), '2.9.0+cu130\n');
    for (const f of ['libtorch_cpu.so', 'libtorch_cuda.so', 'libc10.so', 'libtorch.so']) write(path.join(libtorch, 'lib', f));
    write(path.join(libtorch, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), 'set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=1")\n');
  });
  afterAll(() => fs.rmSync(pkg, { recursive: true, force: true }));

  it('lists the prebuilds for this platform, arch and libc with their facts', () => {
    const list = prebuilds(pkg, 'linux', 'x64');
    expect(list.map((c) => c.variant)).toEqual(['torch-1.13.cpu.cxx11', 'torch-2.4.cu12.precxx11', 'torch-2.9.cu13.cxx11']);
    expect(list[0]).toMatchObject({ kind: 'prebuild', torch: '1.13.0', cuda: '', cxx11Abi: true, source: 'system',
      file: path.join(pkg, 'prebuilds', 'linux-x64', prebuildFileName('torch-1.13.cpu.cxx11')) });
    expect(list[1]).toMatchObject({ torch: '2.4', cuda: '12', cxx11Abi: false });
    expect(prebuilds(pkg, 'darwin', 'x64')).toEqual([]);
    expect(prebuilds(path.join(pkg, 'nowhere'))).toEqual([]);
  });
  it('resolves the CUDA 13 prebuild for LIBTORCH=<CUDA 13 libtorch>', () => {
    const r = resolveBinary(pkg, { LIBTORCH: libtorch });
    expect(r.probe.found[0]).toMatchObject({ via: 'LIBTORCH', torch: '2.9.0+cu130', cuda: '13.0', cxx11Abi: true });
    expect(r.selection.ok && r.selection.candidate.variant).toBe('torch-2.9.cu13.cxx11');
  });
  it('a local build matching its RUNPATH libtorch wins; a mismatching one is reported, not loaded', () => {
    write(path.join(pkg, 'build', 'Release', 'unimrg.node'));
    write(path.join(pkg, 'build', 'Release', 'unimrg-build.json'),
      JSON.stringify({ torch: '2.9.0', cuda: '13.0', cxx11Abi: true, torchLibDir: path.join(libtorch, 'lib'), source: 'LIBTORCH' }));
    const r = resolveBinary(pkg, {});
    expect(r.probe.found[0]).toMatchObject({ via: 'RUNPATH of build/Release', dir: fs.realpathSync(path.join(libtorch, 'lib')) });
    expect(r.selection.ok && r.selection.candidate.label).toBe('build/Release/unimrg.node');
    write(path.join(libtorch, 'build-version'), '2.10.0+cu130\n'); // the libtorch was replaced since
    const s = resolveBinary(pkg, {});
    expect(s.selection.ok).toBe(false);
    expect(!s.selection.ok && s.selection.message).toContain('build/Release/unimrg.node (libtorch 2.9.0 (CUDA 13.0, C++11 ABI): libtorch 2.9 against 2.10)');
    write(path.join(libtorch, 'build-version'), '2.9.0+cu130\n');
    fs.rmSync(path.join(pkg, 'build'), { recursive: true });
  });
  it('UNIMRG_BINARY forces a file', () => {
    const file = path.join(pkg, 'prebuilds', 'linux-x64', prebuildFileName('torch-2.4.cu12.precxx11'));
    const r = resolveBinary(pkg, { UNIMRG_BINARY: file, LIBTORCH: libtorch });
    expect(r.selection.ok && r.selection.candidate).toMatchObject({ kind: 'override', file, variant: 'torch-2.4.cu12.precxx11' });
  });
});
