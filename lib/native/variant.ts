// Which libtorch a native binary was built for, and which binary suits the libtorch present at
// run time. Pure functions over plain descriptions: the loader, the install script, the prebuild
// script and `unimrg doctor` share them, and the tests drive them with fixtures.

/** What decides whether a binary can run on a libtorch: version, CUDA flavour, C++ ABI. */
export interface TorchFacts {
  /** libtorch version, e.g. '1.13.0' or '2.9.0+cu130'; major.minor must agree (the C++ ABI changes between minors). */
  torch: string;
  /** CUDA version ('13.0'; 'unknown' when only the flavour is known), or '' for a CPU-only libtorch. */
  cuda: string;
  /** _GLIBCXX_USE_CXX11_ABI of the libtorch; null when it could not be told. */
  cxx11Abi: boolean | null;
}

/** A native binary that could be loaded: build/Release/unimrg.node or a prebuild. */
export interface BinaryCandidate extends TorchFacts {
  /** Absolute path of the .node file. */
  file: string;
  /** How to name it to a user (a path relative to the package). */
  label: string;
  kind: 'build' | 'prebuild' | 'override';
  /** The variant tag, e.g. 'torch-1.13.cpu.cxx11'. */
  variant: string;
  /** The folder of the libtorch it was linked against on the machine that built it (its RUNPATH). */
  torchLibDir?: string;
  /** How that build found libtorch ('system', 'LIBTORCH=…', …). */
  source?: string;
}

/** A libtorch installation found by the probe. */
export interface LibtorchFound extends TorchFacts {
  /** The folder that holds libtorch_cpu.so*. */
  dir: string;
  /** How the probe found it: LIBTORCH, LIBTORCH_USE_PYTORCH, LD_LIBRARY_PATH, RUNPATH of build/Release, ld.so.conf, system. */
  via: string;
}

export type Selection =
  | { ok: true; candidate: BinaryCandidate; runtime: LibtorchFound | null; note: string }
  | { ok: false; message: string };

/** The prebuild file name for a variant: unimrg.napi.glibc.<variant>.node (node-gyp-build tags first). */
export const prebuildFileName = (variant: string): string => `unimrg.napi.glibc.${variant}.node`;

const VERSION = /^(\d+)\.(\d+)/;
export function majorMinor(version: string): string | null {
  const m = VERSION.exec(version);
  return m ? `${m[1]}.${m[2]}` : null;
}
const cudaMajor = (cuda: string): string | null => /^(\d+)/.exec(cuda)?.[1] ?? null;

/**
 * The variant tag of a build: torch-<major.minor>.<cpu|cu<major>|cuda>.<cxx11|precxx11>. It avoids
 * the tags node-gyp-build interprets (napi, abi…, uv…, armv…, glibc, musl, node, electron).
 */
export function variantTag(f: TorchFacts): string {
  const mm = majorMinor(f.torch) ?? 'unknown';
  const flavour = !f.cuda ? 'cpu' : cudaMajor(f.cuda) ? `cu${cudaMajor(f.cuda)}` : 'cuda';
  return `torch-${mm}.${flavour}.${f.cxx11Abi === false ? 'precxx11' : 'cxx11'}`;
}

/** The facts a prebuild's file name carries (used when its JSON sidecar is missing), or null. */
export function parseVariantFile(file: string): TorchFacts & { variant: string } | null {
  const m = /(?:^|\.)(torch-(\d+\.\d+)\.(cpu|cu(\d+)|cuda)\.(cxx11|precxx11))\.node$/.exec(file);
  if (!m) return null;
  const cuda = m[3] === 'cpu' ? '' : m[4] ?? 'unknown';
  return { variant: m[1], torch: m[2], cuda, cxx11Abi: m[5] === 'cxx11' };
}

/** "libtorch 1.13.0 (CPU, C++11 ABI)". */
export function describeTorch(f: TorchFacts): string {
  const flavour = f.cuda ? (f.cuda === 'unknown' ? 'CUDA' : `CUDA ${f.cuda}`) : 'CPU';
  const abi = f.cxx11Abi === null ? '' : f.cxx11Abi ? ', C++11 ABI' : ', pre-C++11 ABI';
  return `libtorch ${f.torch || 'of unknown version'} (${flavour}${abi})`;
}

/** Why a binary built as `built` cannot run on `runtime`, or null when it can. */
export function mismatch(built: TorchFacts, runtime: TorchFacts): string | null {
  const b = majorMinor(built.torch);
  const r = majorMinor(runtime.torch);
  if (!b) return 'its libtorch version is not recorded';
  if (r && b !== r) return `libtorch ${b} against ${r}`;
  if (Boolean(built.cuda) !== Boolean(runtime.cuda)) return built.cuda ? 'CUDA against a CPU-only libtorch' : 'CPU-only against a CUDA libtorch';
  const bc = cudaMajor(built.cuda);
  const rc = cudaMajor(runtime.cuda);
  if (bc && rc && bc !== rc) return `CUDA ${bc} against CUDA ${rc}`;
  if (built.cxx11Abi !== null && runtime.cxx11Abi !== null && built.cxx11Abi !== runtime.cxx11Abi) {
    return `${built.cxx11Abi ? 'C++11' : 'pre-C++11'} ABI against ${runtime.cxx11Abi ? 'C++11' : 'pre-C++11'} ABI`;
  }
  return null;
}

const BUILD_HINT =
  'Build one from source against it: `UNIMRG_BUILD_FROM_SOURCE=1 npm rebuild unimrg` (needs cmake and a C++ compiler; ' +
  'LIBTORCH=/path/to/libtorch or LIBTORCH_USE_PYTORCH=1 chooses the libtorch, see the README).';

const whereFound = (rt: LibtorchFound): string => `${describeTorch(rt)} in ${rt.dir} (via ${rt.via})`;
const listed = (cs: BinaryCandidate[], rt: LibtorchFound | null): string =>
  cs.map((c) => {
    const why = rt ? mismatch(c, rt) : null;
    return `${c.label} (${describeTorch(c)}${why ? `: ${why}` : ''})`;
  }).join('; ');

/**
 * Picks the binary to load for the libtorch in effect (`runtime`, the probe's first find).
 * A matching local build wins (it was made for this machine), then the matching prebuild of the
 * closest version. With no libtorch found, build/Release is still tried (its RUNPATH may find
 * one; the loader checks the loaded libtorch afterwards). Otherwise one message: what exists,
 * what was found, how to build from source.
 */
export function selectBinary(candidates: BinaryCandidate[], runtime: LibtorchFound | null): Selection {
  const override = candidates.find((c) => c.kind === 'override');
  if (override) return { ok: true, candidate: override, runtime, note: 'chosen by UNIMRG_BINARY' };
  if (!runtime) {
    const build = candidates.find((c) => c.kind === 'build');
    if (build) return { ok: true, candidate: build, runtime, note: 'no libtorch found by the probe; trying the local build' };
    return {
      ok: false,
      message: 'unimrg: no libtorch was found on this machine (searched LIBTORCH, LIBTORCH_USE_PYTORCH=1, LD_LIBRARY_PATH, ' +
        'the dynamic linker cache and the system library folders)' +
        (candidates.length ? `; binaries present: ${listed(candidates, null)}` : '') +
        '. Install one (Debian/Ubuntu: sudo apt-get install libtorch-dev; or unpack a libtorch from pytorch.org and set ' +
        'LIBTORCH and LD_LIBRARY_PATH; or LIBTORCH_USE_PYTORCH=1 for the PyTorch of python3), then run `npm rebuild unimrg`.',
    };
  }
  const exact = (c: BinaryCandidate) => (c.torch.split('+')[0] === runtime.torch.split('+')[0] ? 0 : 1);
  const rank = (c: BinaryCandidate) => (c.kind === 'build' ? 0 : 2) + exact(c);
  const fits = candidates.filter((c) => !mismatch(c, runtime))
    .sort((a, b) => rank(a) - rank(b) || a.label.localeCompare(b.label));
  if (fits.length) {
    return { ok: true, candidate: fits[0], runtime, note: `matches ${whereFound(runtime)}` };
  }
  const present = candidates.length
    ? `Binaries present: ${listed(candidates, runtime)}.`
    : 'No binary is installed (no prebuilt binary for this platform and no build/Release/unimrg.node).';
  return { ok: false, message: `unimrg: no native binary fits the libtorch found here, ${whereFound(runtime)}. ${present} ${BUILD_HINT}` };
}

/** The facts the addon reports about itself once loaded (subset of BackendInfo). */
export interface LoadedFacts {
  built: { torch: string; cuda: string; source: string };
  runtime: { torch: string; cuda: boolean };
}

/**
 * Why the loaded libtorch cannot serve an addon built against another, or null (checked after
 * loading, from what the addon and the loaded libtorch say of themselves). Versions must agree in
 * major.minor and in CUDA flavour.
 */
export function compatibilityProblem(b: LoadedFacts): string | null {
  if (b.runtime.torch && majorMinor(b.runtime.torch) !== majorMinor(b.built.torch)) {
    return `the native addon was built against libtorch ${b.built.torch} but libtorch ${b.runtime.torch} is loaded.`;
  }
  if (b.runtime.cuda !== Boolean(b.built.cuda)) {
    return `the native addon was built against a ${b.built.cuda ? 'CUDA' : 'CPU-only'} libtorch but the loaded libtorch is ${b.runtime.cuda ? 'a CUDA' : 'CPU-only'} build.`;
  }
  return null;
}
