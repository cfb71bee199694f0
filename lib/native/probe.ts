// Finds the libtorch this process would run on, without loading our addon (or libtorch): the
// folders the user names (LIBTORCH, LIBTORCH_USE_PYTORCH=1), then the dynamic linker's order
// (LD_LIBRARY_PATH, the RUNPATH of a local build, the folders of its cache, the system folders), and reads each
// libtorch's version, CUDA flavour and C++ ABI from the files beside it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LibtorchFound } from './variant';

export interface ProbeOptions {
  env?: NodeJS.ProcessEnv;
  /** Extra folders in the linker's RUNPATH position (the libtorch a local build was linked against). */
  runpath?: { dir: string; via: string }[];
  /** The Python that LIBTORCH_USE_PYTORCH=1 asks where torch lives (default: python3, then python). */
  python?: string;
  /** Read the linker's configured folders, /etc/ld.so.conf (default true). */
  ldconfig?: boolean;
  /** The system folders (default: the multiarch and plain /usr/lib, /lib, /usr/local/lib). */
  systemDirs?: string[];
  /** Stop at the first libtorch found (default true: that is the one in effect). */
  firstOnly?: boolean;
}

export interface ProbeResult {
  /** Every libtorch found, the one in effect first. */
  found: LibtorchFound[];
  /** Where the probe looked, for messages. */
  searched: string[];
}

const CPU_LIB = /^libtorch_cpu\.so(\.\d+)*$/;
const read = (file: string): string | null => {
  try { return fs.readFileSync(file, 'utf8'); } catch { return null; }
};
const list = (dir: string): string[] => {
  try { return fs.readdirSync(dir); } catch { return []; }
};

/** 'cu124' → '12.4', 'cu130' → '13.0'. */
function cudaFromTag(tag: string): string {
  const d = tag.slice(2);
  return d.length >= 3 ? `${d.slice(0, -1)}.${d.slice(-1)}` : d;
}

/** _GLIBCXX_USE_CXX11_ABI from TorchConfig.cmake, else from the mangled names in libc10. */
function cxx11Abi(dir: string, cmakeDirs: string[], files: string[]): boolean | null {
  for (const d of cmakeDirs) {
    const m = /_GLIBCXX_USE_CXX11_ABI=([01])/.exec(read(path.join(d, 'TorchConfig.cmake')) ?? '');
    if (m) return m[1] === '1';
  }
  const c10 = files.find((f) => /^libc10\.so(\.\d+)*$/.test(f));
  if (!c10) return null;
  try {
    const file = path.join(dir, c10);
    if (fs.statSync(file).size > 256 << 20) return null;
    // std::string of the C++11 ABI mangles as std::__cxx11::basic_string; libc10 uses it everywhere.
    return fs.readFileSync(file).includes('St7__cxx11');
  } catch {
    return null;
  }
}

/** The facts of the libtorch whose libraries are in `dir`, or null when there is none. */
export function readLibtorch(dir: string, via: string): LibtorchFound | null {
  const files = list(dir);
  const cpu = files.find((f) => CPU_LIB.test(f));
  if (!cpu) return null;
  const up = path.dirname(dir);
  const cmakeDirs = [path.join(dir, 'cmake', 'Torch'), path.join(up, 'share', 'cmake', 'Torch')];
  let torch = '';
  let cuda: string | null = null;
  // An unpacked libtorch archive: build-version holds e.g. 2.5.1+cu124.
  const buildVersion = read(path.join(up, 'build-version'))?.trim();
  // The PyTorch of a Python: torch/version.py beside torch/lib.
  const versionPy = read(path.join(up, 'version.py'));
  if (buildVersion) {
    torch = buildVersion;
    const tag = /\+(cu\d+)/.exec(buildVersion);
    if (tag) cuda = cudaFromTag(tag[1]);
  } else if (versionPy) {
    torch = /^__version__\s*=\s*['"]([^'"]+)['"]/m.exec(versionPy)?.[1] ?? '';
    cuda = /^cuda(?:\s*:[^=]*)?=\s*['"]([^'"]+)['"]/m.exec(versionPy)?.[1] ?? null;
  }
  if (!torch) {
    for (const d of cmakeDirs) {
      const m = /PACKAGE_VERSION\s+"([^"]+)"/.exec(read(path.join(d, 'TorchConfigVersion.cmake')) ?? '');
      if (m) { torch = m[1]; break; }
    }
  }
  if (!torch) {
    // A versioned soname (Debian: libtorch_cpu.so.1.13 → libtorch_cpu.so.1.13.0).
    let real = cpu;
    try { real = path.basename(fs.realpathSync(path.join(dir, cpu))); } catch { /* keep the name */ }
    torch = /\.so\.(\d+\.\d+(?:\.\d+)?)$/.exec(real)?.[1] ?? /\.so\.(\d+\.\d+(?:\.\d+)?)$/.exec(cpu)?.[1] ?? '';
  }
  if (!torch) {
    const h = read(path.join(up, 'include', 'torch', 'csrc', 'api', 'include', 'torch', 'version.h'));
    torch = /"(\d+\.\d+\.\d+[^"]*)"/.exec(h ?? '')?.[1] ?? '';
  }
  const hasCuda = files.some((f) => /^libtorch_cuda\.so/.test(f));
  if (!hasCuda) cuda = '';
  else if (!cuda) {
    const rt = files.map((f) => /^libcudart.*\.so\.(\d+)/.exec(f)?.[1]).find(Boolean);
    cuda = rt ?? 'unknown';
  }
  return { dir, via, torch, cuda, cxx11Abi: cxx11Abi(dir, cmakeDirs, files) };
}

/** Where torch lives for `python` (without importing torch: find_spec only), or null. */
export function pythonTorchDir(python?: string): string | null {
  const code = "import importlib.util as u; s = u.find_spec('torch'); print(s.submodule_search_locations[0] if s else '')";
  for (const py of python ? [python] : ['python3', 'python']) {
    const r = spawnSync(py, ['-c', code], { encoding: 'utf8', timeout: 20000 });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

/**
 * The folders the dynamic linker's cache is built from: /etc/ld.so.conf and its includes (read
 * directly, no process spawned: this runs at every load of the package, in every worker).
 */
export function ldSoConfDirs(conf = '/etc/ld.so.conf', depth = 0): string[] {
  const dirs: string[] = [];
  for (const raw of (read(conf) ?? '').split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const inc = /^include\s+(\S+)$/.exec(line);
    if (!inc) { if (line.startsWith('/')) dirs.push(line); continue; }
    if (depth > 4) continue;
    const pattern = path.resolve(path.dirname(conf), inc[1]);
    const base = path.basename(pattern);
    const re = new RegExp(`^${base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    for (const f of list(path.dirname(pattern)).filter((n) => re.test(n)).sort()) dirs.push(...ldSoConfDirs(path.join(path.dirname(pattern), f), depth + 1));
  }
  return dirs;
}

function defaultSystemDirs(): string[] {
  const triplet = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[process.arch as string];
  const dirs = triplet ? [`/usr/lib/${triplet}`, `/lib/${triplet}`] : [];
  return [...dirs, '/usr/local/lib', '/usr/lib', '/lib'];
}

/** Every libtorch in the order it takes effect; the first is the one this process would use. */
export function probeLibtorch(opts: ProbeOptions = {}): ProbeResult {
  const env = opts.env ?? process.env;
  const firstOnly = opts.firstOnly ?? true;
  const found: LibtorchFound[] = [];
  const searched: string[] = [];
  const seen = new Set<string>();
  const consider = (given: string, via: string): boolean => {
    let dir = path.resolve(given);
    try { dir = fs.realpathSync(dir); } catch { /* a folder that does not exist */ }
    if (seen.has(dir)) return false;
    seen.add(dir);
    searched.push(`${dir} (${via})`);
    const lt = readLibtorch(dir, via);
    if (lt) found.push(lt);
    return Boolean(lt) && firstOnly;
  };
  const sources: [string, () => string[]][] = [
    ['LIBTORCH', () => (env.LIBTORCH ? [path.join(env.LIBTORCH, 'lib')] : [])],
    ['LIBTORCH_USE_PYTORCH', () => {
      if (env.LIBTORCH_USE_PYTORCH !== '1') return [];
      const t = pythonTorchDir(opts.python);
      if (!t) searched.push('LIBTORCH_USE_PYTORCH=1: python3 has no torch');
      return t ? [path.join(t, 'lib')] : [];
    }],
    ['LD_LIBRARY_PATH', () => (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)],
    ...(opts.runpath ?? []).map((r): [string, () => string[]] => [r.via, () => [r.dir]]),
    ['ld.so.conf', () => (opts.ldconfig ?? true) && os.platform() === 'linux' ? ldSoConfDirs() : []],
    ['system', () => opts.systemDirs ?? defaultSystemDirs()],
  ];
  for (const [via, dirs] of sources) {
    for (const dir of dirs()) if (consider(dir, via)) return { found, searched };
  }
  return { found, searched };
}
