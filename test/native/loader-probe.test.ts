// The probe that finds the libtorch in effect without loading the addon: fixtures of the three
// layouts it reads (an unpacked libtorch, a Python's torch/, versioned Debian sonames), the order
// of its sources, and the Debian system libtorch of this machine checked against what the loaded
// libtorch says of itself and against PyTorch.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ldSoConfDirs, probeLibtorch, readLibtorch } from '../../lib/native/probe';
import { torch } from '../../lib';

let tmp: string;
const write = (file: string, text: string | Buffer = '') => { fs.mkdirSync(path.dirname(file), { recursive: true }); fs.writeFileSync(file, text); };
const none = { ldconfig: false, systemDirs: [] as string[] };

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-probe-'));
  // An unpacked pre-C++11 libtorch 2.4.1 with CUDA 12.1.
  write(path.join(tmp, 'libtorch', 'build-version'), '2.4.1+cu121\n');
  for (const f of ['libtorch_cpu.so', 'libtorch_cuda.so', 'libc10.so']) write(path.join(tmp, 'libtorch', 'lib', f));
  write(path.join(tmp, 'libtorch', 'share', 'cmake', 'Torch', 'TorchConfig.cmake'),
    'if(CMAKE_SYSTEM_NAME STREQUAL "Linux")\n  set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=0")\nendif()\n');
  // A Python's torch 2.9 (CUDA 13), ABI told by libc10's mangled names only.
  const py = path.join(tmp, 'site-packages', 'torch');
  write(path.join(py, 'version.py'), "__version__ = '2.9.0+cu130'\ndebug = False\ncuda: Optional[str] = '13.0'\nhip: Optional[str] = None\n");
  for (const f of ['libtorch_cpu.so', 'libtorch_cuda.so', 'libtorch.so']) write(path.join(py, 'lib', f));
  write(path.join(py, 'lib', 'libc10.so'), Buffer.from('\0_ZN3c105ErrorC2ENSt7__cxx1112basic_string\0'));
  write(path.join(tmp, 'python'), `#!/bin/sh\necho ${path.join(tmp, 'site-packages', 'torch')}\n`);
  fs.chmodSync(path.join(tmp, 'python'), 0o755);
  // A Debian-like folder: versioned sonames, CPU.
  const deb = path.join(tmp, 'debian', 'lib');
  write(path.join(deb, 'libtorch_cpu.so.2.1.0'));
  fs.symlinkSync('libtorch_cpu.so.2.1.0', path.join(deb, 'libtorch_cpu.so.2.1'));
  write(path.join(deb, 'libc10.so.2.1.0'), Buffer.from('old ABI: _ZN3c105ErrorC2ESs'));
  fs.symlinkSync('libc10.so.2.1.0', path.join(deb, 'libc10.so.2.1'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('readLibtorch', () => {
  it('an unpacked libtorch: build-version and TorchConfig.cmake', () => {
    expect(readLibtorch(path.join(tmp, 'libtorch', 'lib'), 'x')).toEqual(
      { dir: path.join(tmp, 'libtorch', 'lib'), via: 'x', torch: '2.4.1+cu121', cuda: '12.1', cxx11Abi: false });
  });
  it("a Python's torch: version.py, the ABI from libc10", () => {
    expect(readLibtorch(path.join(tmp, 'site-packages', 'torch', 'lib'), 'x'))
      .toMatchObject({ torch: '2.9.0+cu130', cuda: '13.0', cxx11Abi: true });
  });
  it('versioned sonames give the version; no libtorch_cuda means CPU', () => {
    expect(readLibtorch(path.join(tmp, 'debian', 'lib'), 'x')).toMatchObject({ torch: '2.1.0', cuda: '', cxx11Abi: false });
  });
  it('a folder without libtorch_cpu is no libtorch', () => {
    expect(readLibtorch(tmp, 'x')).toBeNull();
    expect(readLibtorch(path.join(tmp, 'missing'), 'x')).toBeNull();
  });
});

describe('ldSoConfDirs', () => {
  it('reads /etc/ld.so.conf-style files: folders, comments, globbed includes', () => {
    const etc = path.join(tmp, 'etc');
    write(path.join(etc, 'ld.so.conf'), 'include ld.so.conf.d/*.conf\n/opt/first # trailing comment\n');
    write(path.join(etc, 'ld.so.conf.d', 'b.conf'), '# Multiarch\n/usr/lib/b\n');
    write(path.join(etc, 'ld.so.conf.d', 'a.conf'), '/usr/lib/a\n\n/usr/local/lib/a\n');
    write(path.join(etc, 'ld.so.conf.d', 'ignored.txt'), '/nowhere\n');
    expect(ldSoConfDirs(path.join(etc, 'ld.so.conf'))).toEqual(['/usr/lib/a', '/usr/local/lib/a', '/usr/lib/b', '/opt/first']);
    expect(ldSoConfDirs(path.join(etc, 'missing.conf'))).toEqual([]);
  });
});

describe('probeLibtorch order', () => {
  it('LIBTORCH, then LIBTORCH_USE_PYTORCH, then LD_LIBRARY_PATH, then RUNPATH', () => {
    const all = probeLibtorch({
      ...none, firstOnly: false, python: path.join(tmp, 'python'),
      env: { LIBTORCH: path.join(tmp, 'libtorch'), LIBTORCH_USE_PYTORCH: '1', LD_LIBRARY_PATH: `/nowhere:${path.join(tmp, 'debian', 'lib')}` },
      runpath: [{ dir: path.join(tmp, 'libtorch', 'lib'), via: 'RUNPATH of build/Release' }],
    });
    expect(all.found.map((f) => [f.via, f.torch])).toEqual([
      ['LIBTORCH', '2.4.1+cu121'], ['LIBTORCH_USE_PYTORCH', '2.9.0+cu130'], ['LD_LIBRARY_PATH', '2.1.0'],
    ]); // the RUNPATH folder is the LIBTORCH one, listed once
    expect(all.searched).toContain('/nowhere (LD_LIBRARY_PATH)');
  });
  it('stops at the first find by default, and finds nothing where nothing is', () => {
    const r = probeLibtorch({ ...none, env: { LD_LIBRARY_PATH: path.join(tmp, 'debian', 'lib') } });
    expect(r.found).toHaveLength(1);
    expect(probeLibtorch({ ...none, env: { LIBTORCH: path.join(tmp, 'missing') } }).found).toEqual([]);
  });
  it('LIBTORCH_USE_PYTORCH=1 with a python that has no torch says so', () => {
    const r = probeLibtorch({ ...none, env: { LIBTORCH_USE_PYTORCH: '1' }, python: '/bin/false' });
    expect(r.found).toEqual([]);
    expect(r.searched).toContain('LIBTORCH_USE_PYTORCH=1: python3 has no torch');
  });
});

// This machine: Debian's libtorch-dev (1.13, CPU) where it is installed.
const debian = '/usr/lib/x86_64-linux-gnu';
const hasDebianTorch = fs.existsSync(debian) && fs.readdirSync(debian).some((f) => /^libtorch_cpu\.so\.\d/.test(f));
// UNIMRG_BINARY (scripts/torch2-check.sh) may load an addon built for another libtorch.
const forced = process.env.UNIMRG_BINARY;
const dtest = hasDebianTorch && !forced ? it : it.skip;
if (!hasDebianTorch) console.warn(`loader-probe: skipping the Debian checks: no versioned libtorch_cpu.so in ${debian}`);
else if (forced) console.warn(`loader-probe: skipping the Debian checks: UNIMRG_BINARY=${forced} chooses the libtorch`);

// The python that LIBTORCH_USE_PYTORCH=1 would ask, where one imports torch.
const py = hasDebianTorch ? [process.env.UNIMRG_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean)
  .find((p) => spawnSync(p!, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) : undefined;
const ptest = py ? it : it.skip;
if (hasDebianTorch && !py) console.warn('loader-probe: no python imports torch (UNIMRG_PYTHON, python3, /usr/bin/python3); skipping the PyTorch check');

describe('the Debian system libtorch', () => {
  dtest('is what the probe finds with no settings, and agrees with the loaded libtorch', () => {
    const r = probeLibtorch({ env: {} });
    expect(r.found[0]).toMatchObject({ dir: debian, cuda: '', cxx11Abi: true });
    expect(r.found[0].via).toMatch(/^(ld\.so\.conf|system)$/);
    const b = torch.backend(); // at::show_config() of the libtorch actually loaded
    expect(r.found[0].torch).toBe(b.runtime.torch);
    expect(Boolean(r.found[0].cuda)).toBe(b.runtime.cuda);
    expect(r.found[0].cxx11Abi).toBe(b.cxx11Abi);
  });
  ptest('is found again through python3-torch with LIBTORCH_USE_PYTORCH=1, with the version PyTorch reports', () => {
    const version = spawnSync(py!, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).stdout.trim();
    const r = probeLibtorch({ env: { LIBTORCH_USE_PYTORCH: '1' }, python: py });
    expect(r.found[0]).toMatchObject({ via: 'LIBTORCH_USE_PYTORCH', torch: version, cuda: '', cxx11Abi: true });
    expect(r.found[0].dir).toMatch(/torch\/lib$/);
  });
});
