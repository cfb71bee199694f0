// The base models in bases/: their files match SHA256SUMS, fit the package budget, load strictly
// into the adapter their adapter.json names, and carry the record of how they were made. And
// `make-bases` itself, end to end at toy scale.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FAMILIES } from '../../lib/adapters/types';
import { scene } from '../../lib/data/scenes/generate';
import { understandingImage } from '../../lib/data/preprocess';
import { SPLITS } from '../../lib/data/scenes/splits';
import { torch } from '../../lib/torch';
import { noGrad } from '../../lib/torch/autograd';
import { makeBase, type BaseRecipe } from '../../lib/unimrg/make-base';
import { BASES_DIR, CHECKSUMS_FILE, readBaseRecord, readChecksums, sha256File, shippedBase, verifyShippedBase } from '../../lib/unimrg/shipped-bases';
import { buildAdapter, readAdapterSpec } from '../../lib/unimrg/run-model';

jest.setTimeout(300_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-bases-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const MAX_BYTES = 30 * 2 ** 20;

describe('the shipped bases', () => {
  it('has one base per family, every file listed in SHA256SUMS with its digest', () => {
    const sums = readChecksums();
    for (const family of FAMILIES) {
      const dir = shippedBase(family);
      expect(dir).toBe(path.join(BASES_DIR, family));
      for (const f of ['adapter.json', 'model.safetensors', 'base.json']) expect(sums.has(`${family}/${f}`)).toBe(true);
      verifyShippedBase(dir!);
    }
    for (const [rel, digest] of sums) expect(sha256File(path.join(BASES_DIR, rel))).toBe(digest);
  });

  it('fits the package budget (30 MB for all of them)', () => {
    let bytes = 0;
    for (const rel of readChecksums().keys()) bytes += fs.statSync(path.join(BASES_DIR, rel)).size;
    expect(bytes).toBeLessThanOrEqual(MAX_BYTES);
  });

  it.each(FAMILIES)('%s: records how it was made and loads strictly into its adapter', (family) => {
    const dir = shippedBase(family)!;
    const r = readBaseRecord(dir);
    expect(r.family).toBe(family);
    expect(r.command).toBe(`unimrg make-bases --family ${family}`);
    expect(r.steps).toBeGreaterThan(0);
    expect(r.seconds.training).toBeGreaterThan(0);
    expect(r.evaluation.splits.test.questions).toBeGreaterThanOrEqual(1500);
    const spec = readAdapterSpec(dir)!;
    expect(spec.preset).toBe(r.preset);
    const adapter = buildAdapter(spec, { weights: dir }); // strict: every tensor present, same shapes
    try {
      expect(adapter.model.parameters().reduce((n, p) => n + p.numel, 0)).toBe(r.parameters);
      adapter.eval();
      const f = adapter.batchFormat;
      const s = scene(SPLITS.val[0], { size: Math.max(64, f.conditionSize) });
      const im = understandingImage(s.image, { size: f.conditionSize, normalization: f.normalization, square: 'pad' });
      const images = torch.tensor(new Float32Array(im.data), { shape: [1, ...im.shape] });
      const [answer] = noGrad(() => adapter.answer(images, [s.qa[0].question]));
      images.dispose();
      expect(answer.length).toBeGreaterThan(0);
    } finally {
      adapter.dispose();
    }
  });
});

describe('verifyShippedBase', () => {
  const copy = () => {
    const root = fs.mkdtempSync(path.join(tmp, 'copy-'));
    fs.cpSync(path.join(BASES_DIR, 'autoregressive-vq'), path.join(root, 'autoregressive-vq'), { recursive: true });
    const lines = fs.readFileSync(path.join(BASES_DIR, CHECKSUMS_FILE), 'utf8').split('\n').filter((l) => l.includes(' autoregressive-vq/'));
    fs.writeFileSync(path.join(root, CHECKSUMS_FILE), `${lines.join('\n')}\n`);
    return path.join(root, 'autoregressive-vq');
  };

  it('names a corrupt file', () => {
    const dir = copy();
    verifyShippedBase(dir);
    const f = path.join(dir, 'model.safetensors');
    const buf = fs.readFileSync(f);
    buf[buf.length - 1] ^= 1;
    fs.writeFileSync(f, buf);
    expect(() => verifyShippedBase(dir)).toThrow(`the shipped base file ${f} is corrupt`);
  });

  it('names a missing and an unlisted file', () => {
    const dir = copy();
    fs.writeFileSync(path.join(dir, 'extra.bin'), 'x');
    expect(() => verifyShippedBase(dir)).toThrow(`${path.join(dir, 'extra.bin')} is not listed`);
    fs.rmSync(path.join(dir, 'extra.bin'));
    fs.rmSync(path.join(dir, 'base.json'));
    expect(() => verifyShippedBase(dir)).toThrow(`the shipped base file ${path.join(dir, 'base.json')} is missing`);
  });
});

describe('makeBase at toy scale', () => {
  const recipe: BaseRecipe = { preset: 'tiny', steps: 3, lr: 1e-3, count: 16, batchSize: 2, codecScenes: 4, seed: 0 };

  it('writes the folder, its record and SHA256SUMS, and refuses to replace it without overwrite', async () => {
    const root = path.join(tmp, 'bases');
    const work = path.join(tmp, 'work');
    const r = await makeBase({ family: 'autoregressive-vq', work, root, recipe, evalScenes: 2, progress: 'none', log: () => {} });
    const dir = path.join(root, 'autoregressive-vq');
    expect(fs.readdirSync(dir).sort()).toEqual(['adapter.json', 'base.json', 'model.safetensors']);
    verifyShippedBase(dir);
    expect(r.steps).toBe(3);
    expect(r.seconds.training).toBeGreaterThan(0);
    expect(r.evaluation.splits.test.questions).toBeGreaterThan(0);
    expect(readBaseRecord(dir)).toEqual(r);
    const before = fs.readFileSync(path.join(dir, 'model.safetensors'));
    await expect(makeBase({ family: 'autoregressive-vq', work, root, recipe, evalScenes: 2, progress: 'none', log: () => {} }))
      .rejects.toThrow(`${dir} already holds a base; pass --overwrite`);
    expect(fs.readFileSync(path.join(dir, 'model.safetensors')).equals(before)).toBe(true);
  });

  it('refuses to resume a work directory holding a run of another recipe', async () => {
    const work = path.join(tmp, 'work'); // holds the run of the test above (3 steps)
    await expect(makeBase({ family: 'autoregressive-vq', work, root: path.join(tmp, 'bases-other'), recipe: { ...recipe, steps: 4 }, evalScenes: 2, progress: 'none', log: () => {} }))
      .rejects.toThrow(/holds a run of another recipe .*"steps":3.*"steps":4.*use another --work/);
  });
});

describe('make-bases stopped early', () => {
  it('writes no base from a half-trained run, exits 130 and says how to resume', async () => {
    const root = path.join(__dirname, '..', '..');
    const bases = path.join(tmp, 'stopped-bases');
    const work = path.join(tmp, 'stopped-work');
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'test/scripts/cli.ts', 'make-bases', '--family', 'autoregressive-vq',
      '--work', work, '--bases', bases, '--progress', 'lines'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.on('data', () => {});
    child.stderr.on('data', (d) => {
      stderr += d;
      if (/step 1\//.test(stderr) && !child.killed) child.kill('SIGTERM'); // as a scheduler or a closed terminal would
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(130);
    expect(stderr).toMatch(/the autoregressive-vq base stopped at step \d+ of \d+; nothing was written to .*stopped-bases\/autoregressive-vq\. Run the same command again to resume/);
    expect(fs.existsSync(path.join(bases, 'autoregressive-vq'))).toBe(false);
    expect(fs.existsSync(path.join(work, 'autoregressive-vq', 'run', 'checkpoint', 'model.safetensors'))).toBe(true);
  });
});
