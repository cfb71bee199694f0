// The binaries a package holds (build/Release and prebuilds/<platform>-<arch>/) and the choice
// among them for the libtorch the probe finds. Loads nothing native: the install script uses it
// before any addon exists, the loader and `unimrg doctor` after.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { probeLibtorch, type ProbeResult } from './probe';
import { parseVariantFile, selectBinary, variantTag, type BinaryCandidate, type Selection, type TorchFacts } from './variant';

// node-gyp-build's own tag rules (runtime, N-API, libc, arch): a prebuild must pass them first.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ngb = require('node-gyp-build') as {
  parseTuple(name: string): { name: string; platform: string; architectures: string[] } | undefined;
  matchTuple(platform: string, arch: string): (t: unknown) => boolean;
  parseTags(file: string): { file: string } | undefined;
  matchTags(runtime: string, abi: string): (t: unknown) => boolean;
};

interface BuildJson { torch?: string; cuda?: string; cxx11Abi?: boolean; torchLibDir?: string; source?: string; variant?: string }
const readJson = (file: string): BuildJson | null => {
  try { return JSON.parse(fs.readFileSync(file, 'utf8')) as BuildJson; } catch { return null; }
};
const factsOf = (j: BuildJson): TorchFacts => ({
  torch: j.torch ?? '', cuda: j.cuda ?? '', cxx11Abi: typeof j.cxx11Abi === 'boolean' ? j.cxx11Abi : null,
});

/** The sidecar of a prebuild: the same name with .json for .node. */
export const sidecarOf = (nodeFile: string): string => nodeFile.replace(/\.node$/, '.json');

function fromFacts(file: string, label: string, kind: BinaryCandidate['kind'], j: BuildJson | null): BinaryCandidate {
  const parsed = parseVariantFile(path.basename(file));
  const facts = j ? factsOf(j) : parsed ?? { torch: '', cuda: '', cxx11Abi: null };
  return { file, label, kind, ...facts, variant: j?.variant ?? parsed?.variant ?? variantTag(facts), torchLibDir: j?.torchLibDir, source: j?.source };
}

/** build/Release/unimrg.node, described by the unimrg-build.json CMake writes beside it. */
export function localBuild(root: string): BinaryCandidate | null {
  const file = path.join(root, 'build', 'Release', 'unimrg.node');
  if (!fs.existsSync(file)) return null;
  return fromFacts(file, 'build/Release/unimrg.node', 'build', readJson(path.join(root, 'build', 'Release', 'unimrg-build.json')));
}

/** The prebuilds for this platform, arch, runtime and libc (node-gyp-build's rules), with their facts. */
export function prebuilds(root: string, platform: string = process.platform, arch: string = process.arch): BinaryCandidate[] {
  const base = path.join(root, 'prebuilds');
  let tuples: string[];
  try { tuples = fs.readdirSync(base); } catch { return []; }
  const runtime = process.versions.electron ? 'electron' : 'node';
  const out: BinaryCandidate[] = [];
  for (const t of tuples.map(ngb.parseTuple).filter(ngb.matchTuple(platform, arch))) {
    const dir = path.join(base, t!.name);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.node'));
    for (const tags of files.map(ngb.parseTags).filter(ngb.matchTags(runtime, process.versions.modules))) {
      const file = path.join(dir, tags!.file);
      out.push(fromFacts(file, path.relative(root, file), 'prebuild', readJson(sidecarOf(file))));
    }
  }
  return out.sort((a, b) => a.label.localeCompare(b.label));
}

export interface Resolution {
  selection: Selection;
  candidates: BinaryCandidate[];
  probe: ProbeResult;
}

/**
 * Which binary to load for the libtorch in effect. UNIMRG_BINARY=/path/to/unimrg.node forces
 * one (its sidecar JSON or build json beside it describes it, if any).
 */
export function resolveBinary(root: string, env: NodeJS.ProcessEnv = process.env): Resolution {
  const build = localBuild(root);
  const candidates = [...(build ? [build] : []), ...prebuilds(root)];
  if (env.UNIMRG_BINARY) {
    const file = path.resolve(env.UNIMRG_BINARY);
    const j = readJson(sidecarOf(file)) ?? readJson(path.join(path.dirname(file), 'unimrg-build.json'));
    candidates.unshift(fromFacts(file, file, 'override', j));
  }
  // A local build finds its libtorch through its RUNPATH before the linker cache does.
  const runpath = build?.torchLibDir && !env.UNIMRG_BINARY ? [{ dir: build.torchLibDir, via: 'RUNPATH of build/Release' }] : [];
  const probe = probeLibtorch({ env, runpath });
  return { selection: selectBinary(candidates, probe.found[0] ?? null), candidates, probe };
}
