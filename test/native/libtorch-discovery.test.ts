// cmake/FindLibtorch.cmake, run as the build runs it (CMake's configure step, a few seconds
// each): the documented order, one readable paragraph when nothing is found, and no silent
// fallback to another libtorch when the user named one (LIBTORCH, LIBTORCH_USE_PYTORCH=1).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const hasCmake = spawnSync('cmake', ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasCmake) console.warn('libtorch-discovery: skipped: no cmake on PATH');
const ctest = hasCmake ? it : it.skip;
const debianTorch = fs.existsSync('/usr/lib/x86_64-linux-gnu/cmake/Torch/TorchConfig.cmake');
const dtest = hasCmake && debianTorch ? it : it.skip;

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-discovery-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** CMake's configure step of our CMakeLists with this environment; its exit code and output. */
function configure(env: Record<string, string>, name: string): { status: number | null; out: string } {
  const clean: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['LIBTORCH', 'LIBTORCH_USE_PYTORCH', 'Torch_DIR', 'CMAKE_PREFIX_PATH']) delete clean[k];
  const r = spawnSync('cmake', ['-S', root, '-B', path.join(tmp, name), `-DCMAKE_JS_INC=${path.join(root, 'node_modules', 'node-api-headers', 'include')}`,
    '-DUNIMRG_SKIP_CUDA_CHECK=ON'], { encoding: 'utf8', env: { ...clean, ...env }, timeout: 120_000 });
  // CMake wraps messages at 80 columns: join the lines back into sentences.
  return { status: r.status, out: `${r.stdout}${r.stderr}`.replace(/\n {2}/g, ' ').replace(/ {2,}/g, ' ') };
}

/** A folder with a `python3` that prints what a Python with torch would, or fails to import it. */
function fakePython(name: string, script: string): string {
  const bin = path.join(tmp, name);
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'python3'), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return `${bin}:${process.env.PATH}`;
}

describe('finding libtorch (cmake/FindLibtorch.cmake)', () => {
  ctest('LIBTORCH that holds no libtorch: one paragraph naming what was searched and every way out, no fallback', () => {
    const r = configure({ LIBTORCH: path.join(tmp, 'nowhere') }, 'bogus');
    expect(r.status).not.toBe(0);
    expect(r.out).toContain(`unimrg: libtorch was not found. Searched: LIBTORCH=${path.join(tmp, 'nowhere')} (only there`);
    for (const way of ['apt-get install libtorch-dev', 'LIBTORCH=/path/to/libtorch', 'LIBTORCH_USE_PYTORCH=1', 'Torch_DIR', 'npm rebuild unimrg']) {
      expect(r.out).toContain(way);
    }
    expect(r.out).not.toContain('unimrg: libtorch 1.'); // the system's libtorch was not taken instead
  });

  ctest('LIBTORCH_USE_PYTORCH=1 with a python that cannot import torch: refused, not replaced by the system libtorch', () => {
    const r = configure({ LIBTORCH_USE_PYTORCH: '1', PATH: fakePython('no-torch', 'exit 1') }, 'no-torch');
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/Searched: LIBTORCH_USE_PYTORCH=1 \(\S+python3 -c 'import torch' returned 1\)/);
  });

  dtest('LIBTORCH_USE_PYTORCH=1 with a torch that ships no CMake package: refused when the libtorch found is another version', () => {
    const py = fakePython('torch-2.9', `echo ${path.join(tmp, 'torch-2.9', 'share', 'cmake')}; echo 2.9.0+cu130`);
    const r = configure({ LIBTORCH_USE_PYTORCH: '1', PATH: py }, 'mismatch');
    expect(r.status).not.toBe(0);
    expect(r.out).toContain('asks for the libtorch of');
    expect(r.out).toContain('(torch 2.9.0+cu130), but the libtorch found is 1.13');
  });

  dtest('nothing set: the system libtorch (Debian 12: 1.13, CPU)', () => {
    const r = configure({}, 'system');
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/unimrg: libtorch 1\.13\.\d+ from system, cuda='', lib \/usr\/lib\/x86_64-linux-gnu/);
    const facts = JSON.parse(fs.readFileSync(path.join(tmp, 'system', 'generated', 'unimrg-build.json'), 'utf8'));
    expect(facts).toMatchObject({ cuda: '', cxx11Abi: true, source: 'system' });
  });
});
