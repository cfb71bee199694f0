// The node-gyp route to the addon, as prebuildify (and node-gyp-build's install fallback, and
// electron-rebuild) take it: `npm run prebuildify` → prebuildify → `node-gyp rebuild` →
// binding.gyp → the CMake build, from nothing, in a scratch copy of the working tree. The
// binary it makes must be the addon of build/Release: the same build facts, the same exports,
// the same results. node-gyp must not reach for nodejs.org (this machine has no route there):
// scripts/prebuild.js points it at the headers of the Node that runs it.
// Slow (a cold native build: ≈ 3–6 min on 2 cores); UNIMRG_SKIP_NODE_GYP=1 skips it.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prebuildFileName, variantTag } from '../../lib/native/variant';

const root = path.resolve(__dirname, '..', '..');
const skip = process.env.UNIMRG_SKIP_NODE_GYP === '1';
if (skip) console.warn('node-gyp: skipped (UNIMRG_SKIP_NODE_GYP=1)');
const gtest = skip ? it.skip : it;
const MINUTES = 60_000;

/** What a binary exports and computes, seen from a fresh process (`require('unimrg')` on it). */
function probe(binary: string): { exports: string[]; built: unknown; loss: number; grad: number[] } {
  const code = `
    const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(binary)});
    const { torch, losses } = require(${JSON.stringify(path.join(root, 'lib'))});
    const logits = torch.tensor([[2, 0, -1], [0.5, 0.5, 0], [0, 1, 3]], { requiresGrad: true });
    const { loss } = losses.multitaskCrossEntropy(logits, torch.tensor([0, 1, 2], { dtype: 'int64' }),
      torch.tensor([0, 0, 1], { dtype: 'int64' }), { weights: [1, 0.5] });
    loss.backward();
    console.log(JSON.stringify({ exports: Object.keys(m.exports).sort(), built: torch.backend().built,
      loss: loss.item(), grad: Array.from(logits.grad.toArray()) }));`;
  const out = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', code], {
    cwd: root, encoding: 'utf8', timeout: 2 * MINUTES, env: { ...process.env, UNIMRG_BINARY: binary },
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('node-gyp rebuild through binding.gyp (prebuildify)', () => {
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-node-gyp-'));
  });
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  gtest('builds from nothing, offline, an addon equivalent to build/Release', () => {
    const release = path.join(root, 'build', 'Release');
    expect(fs.existsSync(path.join(release, 'unimrg.node'))).toBe(true);
    // The working tree as `git` sees it (tracked and new files, nothing ignored: no build/).
    const tree = path.join(work, 'tree');
    fs.mkdirSync(tree);
    const files = execFileSync('git', ['ls-files', '-z', '-co', '--exclude-standard'], { cwd: root })
      .toString().split('\0').filter((f) => f && fs.existsSync(path.join(root, f)));
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(tree, f)), { recursive: true });
      fs.copyFileSync(path.join(root, f), path.join(tree, f));
    }
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(tree, 'node_modules'));
    fs.cpSync(path.join(root, 'dist'), path.join(tree, 'dist'), { recursive: true }); // variant naming

    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (/^npm_config_nodedir$/i.test(k)) delete env[k];
    const out = path.join(work, 'out');
    const r = spawnSync(process.execPath, [path.join(tree, 'scripts', 'prebuild.js'), '--out', out], {
      cwd: tree, env, encoding: 'utf8', timeout: 20 * MINUTES,
    });
    const log = `${r.stdout}${r.stderr}`;
    if (r.status !== 0) throw new Error(`prebuild failed (exit ${r.status}):\n${log.slice(-4000)}`);
    expect(log).toContain('gyp info ok');
    expect(log).not.toMatch(/gyp http GET/); // no header download
    expect(log).toContain('building the native addon from source (cmake-js)'); // binding.gyp → CMake

    const facts = JSON.parse(fs.readFileSync(path.join(release, 'unimrg-build.json'), 'utf8'));
    const made = path.join(out, 'prebuilds', `${process.platform}-${process.arch}`, prebuildFileName(variantTag(facts)));
    expect(fs.existsSync(made)).toBe(true);
    const sidecar = JSON.parse(fs.readFileSync(made.replace(/\.node$/, '.json'), 'utf8'));
    expect(sidecar).toMatchObject({ torch: facts.torch, cuda: facts.cuda, cxx11Abi: facts.cxx11Abi, madeBy: 'prebuildify' });

    const ours = probe(path.join(release, 'unimrg.node'));
    const theirs = probe(made);
    expect(theirs.exports.length).toBeGreaterThan(50);
    expect(theirs.exports).toEqual(ours.exports);
    expect(theirs.built).toEqual(ours.built);
    expect(theirs.loss).toBe(ours.loss);
    expect(theirs.grad).toEqual(ours.grad);
  }, 25 * MINUTES);
});
