// The package as a downstream project gets it: `npm pack` (with a prebuild of the addon already
// in build/Release, made by scripts/prebuild.js --from-build: no compilation), installed into a
// fresh project whose PATH holds node, npm and sh only (no cc, c++, gcc, g++, cmake, make, ninja),
// a TypeScript program compiled with `tsc --strict` against our typings and run: a tensor op,
// a backward pass, a fused loss. Then the prebuild is made to lie about its libtorch, and the
// loader and the install script must refuse it with one clear message.
// Slow (≈ 20–60 s: a pack, a registry install of our dependencies); UNIMRG_SKIP_DOWNSTREAM=1 skips it.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { logsumexp, softmax } from '../helpers/reference';
import { prebuildFileName, variantTag } from '../../lib/native/variant';

const root = path.resolve(__dirname, '..', '..');
const skip = process.env.UNIMRG_SKIP_DOWNSTREAM === '1';
if (skip) console.warn('downstream: skipped (UNIMRG_SKIP_DOWNSTREAM=1)');
const dtest = skip ? it.skip : it;
const MINUTES = 60_000;

const COMPILERS = ['cc', 'c++', 'gcc', 'g++', 'clang', 'cmake', 'make', 'ninja'];

/** Our environment without npm's per-script variables, with PATH replaced. */
function cleanEnv(PATH: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_(?!config_(registry|cache|userconfig)$)/i.test(k) || k === 'INIT_CWD') continue;
    env[k] = v;
  }
  return { ...env, PATH };
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): SpawnSyncReturns<string> & { all: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeout ?? 5 * MINUTES, cwd: opts.cwd, env: opts.env ?? process.env });
  const all = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}\n${all}`);
  return Object.assign(r, { all });
}
function ok(r: SpawnSyncReturns<string> & { all: string }, what: string): string {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.all.slice(-4000)}`);
  return r.stdout;
}
/** The real file behind a command on the current PATH. */
function which(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const file = path.join(dir, name);
    try { fs.accessSync(file, fs.constants.X_OK); return fs.realpathSync(file); } catch { /* next */ }
  }
  throw new Error(`${name} is not on PATH`);
}

const PROGRAM = `import { torch, losses, Tensor } from 'unimrg';

// A tensor op.
const a: Tensor = torch.tensor([[1, 2], [3, 4]]);
const product = a.matmul(a).add(1);
// A backward pass: d/dw sum(w * w) = 2w.
const w = torch.tensor([0.5, -1.5, 2], { requiresGrad: true });
w.mul(w).sum().backward();
// A fused loss: two tasks, four tokens, task weights 1 and 0.5.
const logits = torch.tensor(${JSON.stringify([[2, 0, -1], [0.5, 0.5, 0], [0, 1, 3], [-1, 2, 0]])}, { requiresGrad: true });
const targets = torch.tensor([0, 1, 2, 1], { dtype: 'int64' });
const taskIds = torch.tensor([0, 0, 1, 1], { dtype: 'int64' });
const { loss, taskLoss } = losses.multitaskCrossEntropy(logits, targets, taskIds, { weights: [1, 0.5] });
loss.backward();
const grad: Tensor | null = logits.grad;
if (grad === null) throw new Error('no gradient');
console.log(JSON.stringify({
  product: product.toNested(), wGrad: w.grad?.toNested(),
  loss: loss.item(), taskLoss: taskLoss.toNested(), logitsGrad: grad.toNested(),
}));
`;
// Must not compile: proves tsc checks the program against real typings, not `any`.
const WRONG = `import { torch } from 'unimrg';\nconst n: number = torch.tensor([1]);\nconsole.log(n);\n`;

describe('downstream install from the packed tarball, without compilers', () => {
  let work: string;
  let tarball: string;
  let app: string;
  let env: NodeJS.ProcessEnv;
  const buildJson = path.join(root, 'build', 'Release', 'unimrg-build.json');
  const variant = fs.existsSync(buildJson) ? variantTag(JSON.parse(fs.readFileSync(buildJson, 'utf8'))) : 'unbuilt';
  const prebuild = `prebuilds/${process.platform}-${process.arch}/${prebuildFileName(variant)}`;

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-downstream-'));
    // PATH for the downstream project: node, npm and sh, nothing that compiles.
    const bin = path.join(work, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    fs.symlinkSync(which('npm'), path.join(bin, 'npm'));
    fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
    env = cleanEnv(bin);
  });
  afterAll(() => {
    if (work && process.env.UNIMRG_KEEP_DOWNSTREAM !== '1') fs.rmSync(work, { recursive: true, force: true });
  });

  dtest('npm pack carries dist, the typings and the prebuild of build/Release, and no build/', () => {
    expect(fs.existsSync(path.join(root, 'build', 'Release', 'unimrg.node'))).toBe(true);
    // 1. Pack as `npm publish` would (prepare compiles dist/).
    const first = JSON.parse(ok(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: root }), 'npm pack'))[0];
    // 2. Add the prebuild of the addon already built (scripts/prebuild.js --from-build) and pack again.
    const stage = path.join(work, 'stage');
    fs.mkdirSync(stage);
    ok(run('tar', ['xzf', path.join(work, first.filename), '-C', stage], { cwd: work }), 'tar');
    ok(run(process.execPath, [path.join(root, 'scripts', 'prebuild.js'), '--from-build', '--out', path.join(stage, 'package')], { cwd: root }), 'prebuild');
    const dest = path.join(work, 'final');
    fs.mkdirSync(dest);
    const packed = JSON.parse(ok(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], { cwd: path.join(stage, 'package') }), 'npm pack'))[0];
    tarball = path.join(dest, packed.filename);
    const files: string[] = packed.files.map((f: { path: string }) => f.path);
    expect(files.filter((f) => f.startsWith('build/'))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining([
      'dist/index.js', 'dist/index.d.ts', 'dist/native/resolve.js', 'bin/unimrg.js', 'scripts/install.js',
      prebuild, prebuild.replace(/\.node$/, '.json'),
    ]));
    const facts = JSON.parse(fs.readFileSync(path.join(stage, 'package', prebuild.replace(/\.node$/, '.json')), 'utf8'));
    expect(facts).toMatchObject({ variant, napi: 8, libc: 'glibc' });
  }, 4 * MINUTES);

  dtest('npm install picks the prebuild, with no compiler on PATH, and says so', () => {
    expect(tarball).toBeDefined();
    for (const c of COMPILERS) expect(spawnSync('sh', ['-c', `command -v ${c}`], { env }).status).not.toBe(0);
    app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'downstream-app', version: '1.0.0', private: true }));
    const r = run('npm', ['install', tarball, '--foreground-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app, env });
    ok(r, 'npm install');
    expect(r.all).toContain(`unimrg: using the prebuilt binary ${prebuild}, matches libtorch`);
    expect(r.all).not.toContain('building from source');
    expect(fs.existsSync(path.join(app, 'node_modules', 'unimrg', 'build'))).toBe(false);
  }, 5 * MINUTES);

  dtest('a TypeScript program compiles with tsc --strict against our typings and runs', () => {
    expect(app).toBeDefined();
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const config = (files: string[]) => JSON.stringify({
      compilerOptions: { strict: true, module: 'commonjs', target: 'es2022', types: ['node'], typeRoots: [path.join(root, 'node_modules', '@types')] },
      files,
    });
    fs.writeFileSync(path.join(app, 'main.ts'), PROGRAM);
    fs.writeFileSync(path.join(app, 'tsconfig.json'), config(['main.ts']));
    ok(run(process.execPath, [tsc, '-p', '.'], { cwd: app, env }), 'tsc --strict');
    fs.writeFileSync(path.join(app, 'wrong.ts'), WRONG);
    fs.writeFileSync(path.join(app, 'tsconfig.wrong.json'), config(['wrong.ts']));
    const wrong = run(process.execPath, [tsc, '-p', 'tsconfig.wrong.json', '--noEmit'], { cwd: app, env });
    expect(wrong.status).not.toBe(0);
    expect(wrong.all).toMatch(/wrong\.ts\(2,7\): error TS2322: Type 'Tensor' is not assignable to type 'number'/);

    const out = JSON.parse(ok(run(process.execPath, ['main.js'], { cwd: app, env }), 'node main.js'));
    expect(out.product).toEqual([[8, 11], [16, 23]]);
    expect(out.wGrad).toEqual([1, -3, 4]);
    // Reference in float64: L_t = mean over the task's tokens of lse - x_y; loss = L_0 + 0.5 L_1;
    // d loss / d x_i = w_t / C_t (softmax(x_i) - onehot(y_i)).
    const x = [[2, 0, -1], [0.5, 0.5, 0], [0, 1, 3], [-1, 2, 0]];
    const y = [0, 1, 2, 1];
    const task = [0, 0, 1, 1];
    const weight = [1, 0.5];
    const nll = x.map((row, i) => logsumexp(row) - row[y[i]]);
    const L = [0, 1].map((t) => (nll[2 * t] + nll[2 * t + 1]) / 2);
    expect(out.taskLoss[0]).toBeCloseTo(L[0], 5);
    expect(out.taskLoss[1]).toBeCloseTo(L[1], 5);
    expect(out.loss).toBeCloseTo(L[0] + 0.5 * L[1], 5);
    x.forEach((row, i) => softmax(row).forEach((p, j) => {
      expect(out.logitsGrad[i][j]).toBeCloseTo((weight[task[i]] / 2) * (p - (j === y[i] ? 1 : 0)), 5);
    }));
  }, 3 * MINUTES);

  dtest('plain require, the unimrg/torch subpath and an ES module import give the same torch', () => {
    expect(app).toBeDefined();
    fs.writeFileSync(path.join(app, 'forms.mjs'), [
      "import { torch } from 'unimrg';",
      "import { torch as fromSubpath } from 'unimrg/torch';",
      "import { createRequire } from 'node:module';",
      'const required = createRequire(import.meta.url)(\'unimrg\');',
      'console.log(JSON.stringify({ same: torch === fromSubpath && torch === required.torch, sum: torch.tensor([1, 2]).add(1).sum().item() }));',
    ].join('\n'));
    expect(JSON.parse(ok(run(process.execPath, ['forms.mjs'], { cwd: app, env }), 'node forms.mjs'))).toEqual({ same: true, sum: 5 });
  }, 2 * MINUTES);

  dtest('unimrg doctor, as installed, reports the prebuild and the libtorch found', () => {
    expect(app).toBeDefined();
    const r = JSON.parse(ok(run(path.join(app, 'node_modules', '.bin', 'unimrg'), ['doctor', '--json'], { cwd: app, env }), 'unimrg doctor'));
    expect(r.binary).toMatchObject({ kind: 'prebuild', variant, file: path.join(fs.realpathSync(app), 'node_modules', 'unimrg', prebuild) });
    expect(r.libtorch[0].torch).toMatch(/^\d+\.\d+/);
    expect(r.error).toBeNull();
  }, 2 * MINUTES);

  dtest('a prebuild for another libtorch is refused: by the loader (one message) and by install (builds from source, as when asked)', () => {
    expect(app).toBeDefined();
    const pkg = path.join(app, 'node_modules', 'unimrg');
    const sidecar = path.join(pkg, prebuild.replace(/\.node$/, '.json'));
    const facts = fs.readFileSync(sidecar, 'utf8');
    fs.writeFileSync(sidecar, JSON.stringify({ ...JSON.parse(facts), torch: '0.9.0' })); // claims another libtorch
    try {
      const load = run(process.execPath, ['-e', "require('unimrg')"], { cwd: app, env });
      expect(load.status).not.toBe(0);
      expect(load.all).toMatch(/Error: unimrg: no native binary fits the libtorch found here, libtorch \S+ \([^)]*\) in \S+ \(via [^)]+\)\. Binaries present: prebuilds\/\S+ \(libtorch 0\.9\.0 \([^)]*\): libtorch 0\.9 against \d+\.\d+\)\. Build one from source against it: `UNIMRG_BUILD_FROM_SOURCE=1 npm rebuild unimrg`/);
      const install = run(process.execPath, ['scripts/install.js'], { cwd: pkg, env });
      expect(install.all).toMatch(/unimrg: no usable prebuilt binary \(no native binary fits .*libtorch 0\.9 against \d+\.\d+\)\); building from source with cmake-js/);
      expect(install.status).not.toBe(0); // and there is no compiler to build with
    } finally {
      fs.writeFileSync(sidecar, facts);
    }
    const forced = run(process.execPath, ['scripts/install.js'], { cwd: pkg, env: { ...env, UNIMRG_BUILD_FROM_SOURCE: '1' } });
    expect(forced.all).toContain('unimrg: no usable prebuilt binary (a build from source was asked for); building from source with cmake-js');
    expect(forced.status).not.toBe(0);
  }, 2 * MINUTES);
});
