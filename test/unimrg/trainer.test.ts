// The UniMRG loop end to end on the tiny preset: losses fall, checkpoints are written, --resume
// continues at the same step with identical metrics (CPU), a stop request checkpoints cleanly,
// and bad configurations are refused with the field named.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseTrainConfig } from '../../lib/unimrg/config';
import { buildAdapter, readAdapterSpec } from '../../lib/unimrg/run-model';
import { Trainer, type StepMetrics } from '../../lib/unimrg/trainer';
import { writeBpe } from '../helpers/bpe-tokenizer';
import { readMetrics } from '../../lib/unimrg/experiment';
import { prepareCodec } from '../../lib/unimrg/experiment';
import { data, torch } from '../../lib';

jest.setTimeout(300_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-trainer-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const FAMILY = 'autoregressive-vq';
let codec = '';
beforeAll(async () => {
  codec = await prepareCodec(FAMILY, 'tiny', path.join(tmp, 'codec.safetensors'), 24, () => {});
});

const config = (out: string, extra: Record<string, unknown> = {}) => ({
  family: FAMILY, preset: 'tiny', codec, out: path.join(tmp, out), steps: 20, seed: 3,
  batch: { size: 4, mode: 'mixed' }, data: { count: 64, workers: 0 }, optim: { lr: 2e-3, warmup: 0.05 }, ...extra,
});

const comparable = (m: StepMetrics) => ({ step: m.step, lr: m.lr, loss: m.loss, tasks: m.tasks, gradNorm: m.gradNorm });

describe('Trainer', () => {
  it('trains 20 steps: losses fall, metrics and a checkpoint are written; resume gives identical metrics', async () => {
    const full = new Trainer(config('full', { checkpointEvery: 10 }));
    const r = await full.run();
    full.dispose();
    expect(r).toMatchObject({ step: 20, stopped: false });
    for (const f of ['model.safetensors', 'optimizer.safetensors', 'rng.safetensors']) expect(fs.existsSync(path.join(r.checkpoint, f))).toBe(true);
    const m = readMetrics(path.join(tmp, 'full'));
    expect(m.map((x) => x.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const first = (m[0].loss + m[1].loss + m[2].loss) / 3;
    const last = (m[17].loss + m[18].loss + m[19].loss) / 3;
    expect(last).toBeLessThan(0.8 * first);
    for (const x of m) {
      expect(Number.isFinite(x.gradNorm)).toBe(true);
      expect(x.samplesPerSec).toBeGreaterThan(0);
      expect(x.tokensPerSec).toBeGreaterThan(x.samplesPerSec);
      expect(x.tensorBytes).toBeGreaterThan(0);
      expect(x.residentBytes).toBeGreaterThan(x.tensorBytes);
    }
    // every task appears in mixed batches
    for (const t of ['understanding', 'reconstruction', 'depth', 'segmentation'] as const) expect(m.some((x) => x.tasks[t] !== null)).toBe(true);
    // warm-up then cosine: lr rises for 1 step, then falls to ~0
    expect(m[0].lr).toBe(0);
    expect(m[19].lr).toBeLessThan(m[5].lr);

    // A run stopped at step 10, then resumed to 20, matches the uninterrupted run step for step.
    const half = new Trainer(config('half'));
    const stopAt = await half.run({ shouldStop: () => readMetrics(path.join(tmp, 'half')).length >= 10 });
    half.dispose();
    expect(stopAt).toMatchObject({ step: 10, stopped: true });
    const resumed = new Trainer(config('half'));
    const end = await resumed.run({ resume: true });
    resumed.dispose();
    expect(end.step).toBe(20);
    expect(readMetrics(path.join(tmp, 'half')).map(comparable)).toEqual(m.map(comparable));
  });

  it.each(['mar-diffusion', 'query-diffusion'])('trains the %s family too (its terms through the same loop)', async (family) => {
    const c = await prepareCodec(family as 'mar-diffusion', 'tiny', path.join(tmp, `${family}-codec.safetensors`), 8, () => {});
    const t = new Trainer({ ...config(family, { steps: 3, batch: { size: 2, mode: 'mixed' } }), family, codec: c });
    const r = await t.run();
    t.dispose();
    expect(r.step).toBe(3);
    const m = readMetrics(path.join(tmp, family));
    expect(m).toHaveLength(3);
    for (const x of m) expect(Number.isFinite(x.loss) && Number.isFinite(x.gradNorm)).toBe(true);
  });

  it('per-task batching: every step holds one full micro-batch of each trained task; resume continues exactly', async () => {
    const perTask = (out: string) => config(out, { steps: 6, batch: { size: 2, mode: 'per-task' }, tasks: { ratios: { understanding: 1, reconstruction: 0, depth: 1, segmentation: 0 } } });
    const full = new Trainer(perTask('per-task'));
    await full.run();
    full.dispose();
    const m = readMetrics(path.join(tmp, 'per-task'));
    expect(m).toHaveLength(6);
    for (const x of m) {
      expect(x.tasks.understanding).not.toBeNull();
      expect(x.tasks.depth).not.toBeNull();
      expect(x.tasks.reconstruction).toBeNull();
      expect(x.tasks.segmentation).toBeNull();
      // the step's loss is the sum of the two tasks' losses (weights 1), not their mean
      expect(x.loss).toBeCloseTo(x.tasks.understanding! + x.tasks.depth!, 4);
    }
    const half = new Trainer(perTask('per-task-half'));
    await half.run({ shouldStop: () => readMetrics(path.join(tmp, 'per-task-half')).length >= 3 });
    half.dispose();
    const resumed = new Trainer(perTask('per-task-half'));
    await resumed.run({ resume: true });
    resumed.dispose();
    expect(readMetrics(path.join(tmp, 'per-task-half')).map(comparable)).toEqual(m.map(comparable));
  });

  it('never replaces a run without overwrite; with it, starts over', async () => {
    const again = new Trainer(config('per-task', { steps: 2 }));
    await expect(again.run()).rejects.toThrow(/per-task already holds a run \(metrics\.jsonl, checkpoint\); pass --resume to continue it or --overwrite/);
    again.dispose();
    expect(readMetrics(path.join(tmp, 'per-task'))).toHaveLength(6); // untouched
    const over = new Trainer(config('per-task', { steps: 2 }));
    await over.run({ overwrite: true });
    over.dispose();
    expect(readMetrics(path.join(tmp, 'per-task')).map((x) => x.step)).toEqual([1, 2]);
  });

  it('keeps a plain script alive until run() resolves (the loader threads are unref\'d)', () => {
    const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', 'test/scripts/train-plain.ts', codec, path.join(tmp, 'plain')],
      { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8', timeout: 240_000 });
    expect(r.stdout).toContain('resolved at step 40'); // it used to exit 0 mid-run, silently
    expect(r.status).toBe(0);
  });

  it('trains on a LLaVA-style folder (images/, depth/, mask/, data.json)', async () => {
    const root = path.join(tmp, 'llava');
    const entries = [];
    for (let i = 0; i < 4; i++) {
      const s = data.scenes.scene(i, { size: 64 });
      await data.writeImage(path.join(root, 'images', `s${i}.png`), s.image);
      await data.writeImage(path.join(root, 'depth', `s${i}.png`), data.targetToImage(data.depthTarget(s.depth)));
      await data.writeImage(path.join(root, 'mask', `s${i}.png`), data.ndarray('uint8', [1, 64, 64], s.boundaries.data));
      entries.push({ id: `s${i}`, image: `s${i}.png`, conversations: [{ from: 'human', value: `<image>\n${s.qa[0].question}` }, { from: 'gpt', value: s.qa[0].answer }] });
    }
    fs.writeFileSync(path.join(root, 'data.json'), JSON.stringify(entries));
    const t = new Trainer(config('llava-run', { steps: 3, data: { source: 'llava', path: root, workers: 0 }, batch: { size: 4, mode: 'mixed' } }));
    await t.run();
    t.dispose();
    const m = readMetrics(path.join(tmp, 'llava-run'));
    expect(m).toHaveLength(3);
    // every task was served from the folder: depth and mask targets were found
    for (const task of ['understanding', 'reconstruction', 'depth', 'segmentation'] as const) expect(m.some((x) => x.tasks[task] !== null)).toBe(true);
    const bad = new Trainer(config('x', { data: { source: 'llava', path: path.join(tmp, 'nowhere') } }));
    await expect(bad.run()).rejects.toThrow(/has no images\/ folder/);
    bad.dispose();
  });

  it('a Hugging Face tokenizer.json: the text vocabulary follows it, the run keeps a copy and rebuilds with it', async () => {
    const tokDir = path.join(tmp, 'bpe');
    fs.mkdirSync(tokDir);
    writeBpe(tokDir);
    const vocabSize = data.HuggingFaceTokenizer.fromFile(tokDir).vocabSize;
    const t = new Trainer(config('hf-run', { steps: 2, data: { count: 16, workers: 0, tokenizer: { path: tokDir } } }));
    await t.run();
    expect([t.adapter.tokenizer.kind, t.adapter.tokenizer.vocabSize]).toEqual(['huggingface', vocabSize]);
    t.dispose();
    const run = path.join(tmp, 'hf-run');
    const m = readMetrics(run);
    expect(m).toHaveLength(2);
    expect(m.every((x) => Number.isFinite(x.loss))).toBe(true);
    const spec = readAdapterSpec(run)!;
    expect(spec.tokenizer).toEqual({ file: path.join(run, 'tokenizer') });
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) expect(fs.readFileSync(path.join(run, 'tokenizer', f)).equals(fs.readFileSync(path.join(tokDir, f)))).toBe(true);
    // eval and later runs rebuild the model from the run directory alone, with the copied tokenizer
    const again = buildAdapter(spec, { weights: run });
    expect([again.tokenizer.kind, again.tokenizer.vocabSize]).toEqual(['huggingface', vocabSize]);
    again.dispose();
    // A tokenizer without the image placeholders is refused before training starts.
    const plain = path.join(tmp, 'bpe-plain');
    fs.mkdirSync(plain);
    writeBpe(plain, ['<|endoftext|>', '<|im_start|>', '<|im_end|>']);
    const bad = new Trainer(config('hf-bad', { data: { tokenizer: { path: plain } } }));
    await expect(bad.run()).rejects.toThrow(/the huggingface tokenizer has no token '<image>' \(condition-image placeholder\)/);
    bad.dispose();
  });

  it('leaks no tensors across a run', async () => {
    const before = torch.memory().tensors;
    const t = new Trainer(config('leak', { steps: 3 }));
    await t.run();
    t.dispose();
    expect(torch.memory().tensors).toBe(before);
  });

  it('refuses bad configurations with the field named', () => {
    expect(() => parseTrainConfig({ batch: { size: 0 } })).toThrow(/batch\.size/);
    expect(() => parseTrainConfig({ family: 'gpt' })).toThrow(/family/);
    expect(() => parseTrainConfig({ optim: { lr: -1 } })).toThrow(/optim\.lr/);
    expect(() => parseTrainConfig({ tasks: { ratios: { understanding: 0, reconstruction: 0, depth: 0, segmentation: 0 } } })).toThrow(/every task has ratio 0/);
    expect(() => parseTrainConfig({ stpes: 3 })).toThrow(/Unrecognized key/);
    expect(() => parseTrainConfig({ device: 'tpu' })).toThrow(/device must be cpu, cuda or cuda:N/);
    expect(() => parseTrainConfig({ data: { workers: 10000 } })).toThrow(/data\.workers/);
    expect(() => parseTrainConfig({ tasks: { weights: { understanding: 0, reconstruction: 0, depth: 0, segmentation: 0 } } })).toThrow(/every trained task .* has weight 0/);
    expect(() => parseTrainConfig({ tasks: { ratios: { understanding: 2 } } })).toThrow(/per-task batching .* ratios must be 0 \(left out\) or 1/);
    expect(parseTrainConfig({ tasks: { ratios: { understanding: 2 } }, batch: { mode: 'interleave' } }).tasks.ratios.understanding).toBe(2);
    expect(parseTrainConfig({}).batch.mode).toBe('per-task');
    expect(parseTrainConfig({ preset: 'tiny' })).toMatchObject({ steps: 300, optim: { lr: 1e-3, betas: [0.9, 0.95], weightDecay: 0.02, clip: 1, warmup: 0.01 } });
  });

  it('--resume without a checkpoint and a corrupt checkpoint are clear errors', async () => {
    const t = new Trainer(config('none'));
    await expect(t.run({ resume: true })).rejects.toThrow(/no checkpoint/);
    t.dispose();
    const dir = path.join(tmp, 'full', 'checkpoint', 'model.safetensors');
    const copy = path.join(tmp, 'corrupt');
    fs.cpSync(path.join(tmp, 'full'), copy, { recursive: true });
    fs.writeFileSync(path.join(copy, 'checkpoint', 'model.safetensors'), fs.readFileSync(dir).subarray(0, 100));
    const c = new Trainer({ ...config('corrupt') });
    await expect(c.run({ resume: true })).rejects.toThrow(/model\.safetensors/);
    c.dispose();
  });
});
