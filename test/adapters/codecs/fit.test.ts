// Fitting codecs on the embedded scenes' generation targets, reconstruction on held-out scenes
// against the per-patch-mean-colour baseline, determinism, files and their failure modes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CODEC_FORMAT, fitCodec, fitCodecOnScenes, GENERATION_TASKS, type GenerationTask, type ImageCodec, loadCodec, PatchAutoencoder,
  PatchVQ, saveCodec, sceneTargetBatches, sceneTargets,
} from '../../../lib/adapters/codecs';
import * as data from '../../../lib/data';
import { io } from '../../../lib';
import { torch, Tensor } from '../../../lib/torch';
import { mse, patchMeanMse } from './reference';

const S = 64, P = 8;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'codecs-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// 40 training scenes (120 targets, 7680 patches); 12 held-out val scenes per target kind.
let train: Tensor[];
const held = {} as Record<GenerationTask, Tensor>;
beforeAll(() => {
  train = [...sceneTargetBatches({ count: 40, imageSize: S, split: 'train', batchSize: 40 })];
  for (const t of GENERATION_TASKS) held[t] = [...sceneTargetBatches({ count: 12, imageSize: S, split: 'val', tasks: [t], batchSize: 12 })][0];
});

const f32 = (t: Tensor) => t.toArray() as Float32Array;
const heldOutMse = (c: ImageCodec) => GENERATION_TASKS.map((t) => {
  const out = c.decode(c.encode(held[t]));
  const e = mse(f32(out), f32(held[t]));
  out.dispose();
  return e;
});
const baseline = () => GENERATION_TASKS.map((t) => patchMeanMse(f32(held[t]), 12, S, P));

describe('scene targets', () => {
  it('are the image, its inverse-depth map and its boundary map, as data.generationImage makes them', () => {
    const got = [...sceneTargets({ count: 1, imageSize: S, split: 'val', offset: 3 })];
    expect(got.map((g) => g.task)).toEqual(['reconstruction', 'depth', 'segmentation']);
    const item = data.scenes.scene(data.scenes.SPLITS.val[0] + 3, { size: S });
    expect(got[0].seed).toBe(item.seed);
    expect(Array.from(got[0].data)).toEqual(Array.from(data.generationImage(item.image, { size: S }).data));
    expect(Array.from(got[1].data)).toEqual(Array.from(data.depthTarget(item.depth).data));
    const b = item.boundaries.data;
    expect(Array.from(got[2].data.subarray(0, S * S))).toEqual(Array.from(b, (v) => v / 127.5 - 1));
    expect(() => [...sceneTargets({ count: 1, imageSize: S, tasks: ['depth', 'normals' as never] })]).toThrow(/unknown generation task 'normals'/);
  });
});

describe('reconstruction of held-out scenes (64 px, p = 8)', () => {
  it('vq: clearly better than the per-patch mean colour for images, depth and boundaries, and better with more codes', async () => {
    const base = baseline();
    const errs: number[][] = [];
    for (const k of [16, 64, 256]) {
      const c = await fitCodec('vq', train, { imageSize: S, patchSize: P, codebookSize: k, seed: 1, iterations: 6 });
      errs.push(heldOutMse(c));
      c.dispose();
    }
    // Measured (this test's data): baseline 0.0335 / 0.0141 / 0.160; K = 256: 0.0237 / 0.0077 / 0.090.
    errs[2].forEach((e, i) => expect(e).toBeLessThan(0.85 * base[i]));
    for (let i = 0; i < 3; i++) {
      expect(errs[1][i]).toBeLessThan(errs[0][i]);
      expect(errs[2][i]).toBeLessThan(errs[1][i]);
    }
  });

  it('continuous: clearly better than the per-patch mean colour, and better with more latent channels', async () => {
    const base = baseline();
    const errs: number[][] = [];
    for (const l of [4, 16]) {
      const c = await fitCodec('continuous', train, { imageSize: S, patchSize: P, latentDim: l });
      errs.push(heldOutMse(c));
      expect(c.fitReport?.explainedVariance).toBeGreaterThan(0.5);
      c.dispose();
    }
    // Measured: latentDim 16: 0.0148 / 0.0012 / 0.068.
    errs[1].forEach((e, i) => expect(e).toBeLessThan(0.6 * base[i]));
    for (let i = 0; i < 3; i++) expect(errs[1][i]).toBeLessThan(errs[0][i]);
  });
});

describe('fitCodec', () => {
  const opts = { imageSize: S, patchSize: P, codebookSize: 24, iterations: 3 };

  it('is deterministic by seed, reads arrays and async iterables alike, and reports its fit', async () => {
    const a = await fitCodec('vq', train, { ...opts, seed: 3 }) as PatchVQ;
    async function* stream() { for (const t of train) yield t; }
    const stages = new Set<string>();
    const b = await fitCodec('vq', stream(), { ...opts, seed: 3, onProgress: (p) => stages.add(p.stage) }) as PatchVQ;
    const c = await fitCodec('vq', train, { ...opts, seed: 4 }) as PatchVQ;
    expect(Array.from(f32(a.codebook))).toEqual(Array.from(f32(b.codebook)));
    expect(Array.from(f32(a.codebook))).not.toEqual(Array.from(f32(c.codebook)));
    expect([...stages]).toEqual(['collect', 'kmeans', 'done']);
    const r = a.fitReport!;
    expect([r.images, r.patches, r.patchesSeen, r.seed]).toEqual([120, 7680, 7680, 3]);
    expect(r.objective).toHaveLength(4);
    expect(a.parameters().every((p) => !p.requiresGrad)).toBe(true);
    [a, b, c].forEach((x) => x.dispose());
  });

  it('keeps a seeded sample of at most maxPatches patches', async () => {
    const a = await fitCodec('vq', train, { ...opts, seed: 2, maxPatches: 1000 }) as PatchVQ;
    const b = await fitCodec('vq', train, { ...opts, seed: 2, maxPatches: 1000 }) as PatchVQ;
    expect([a.fitReport!.patches, a.fitReport!.patchesSeen]).toEqual([1000, 7680]);
    expect(Array.from(f32(a.codebook))).toEqual(Array.from(f32(b.codebook)));
    [a, b].forEach((x) => x.dispose());
  });

  it('fits on the scenes with the chosen targets (what `unimrg tokenizer` runs)', async () => {
    const c = await fitCodecOnScenes({ kind: 'continuous', count: 3, imageSize: S, patchSize: P, latentDim: 8, tasks: ['depth', 'segmentation'], batchSize: 4 });
    expect(c).toBeInstanceOf(PatchAutoencoder);
    expect(c.fitReport).toMatchObject({ images: 6, patches: 6 * 64, data: 'scenes/train 0..2 at 64 px: depth, segmentation' });
    c.dispose();
    await expect(fitCodecOnScenes({ kind: 'vq', count: 0, imageSize: S, patchSize: P, codebookSize: 4 })).rejects.toThrow(/count must be a positive integer/);
  });

  it('rejects bad images and sizes with clear errors', async () => {
    const u8like = torch.full([2, 3, S, S], 200);
    await expect(fitCodec('vq', [u8like], opts)).rejects.toThrow(/batch 0: images must be in \[-1, 1\], got values from 200 to 200/);
    await expect(fitCodec('vq', [train[0], torch.zeros([2, 3, 32, 32])], opts)).rejects.toThrow(/batch 1: .*encodes 64×64 images, got 32×32/);
    await expect(fitCodec('continuous', [torch.zeros([2, 1, S, S])], { ...opts, latentDim: 4 })).rejects.toThrow(/batch 0: .*expected 3 channels/);
    await expect(fitCodec('vq', [], opts)).rejects.toThrow(/no images were given/);
    await expect(fitCodec('vq', [torch.zeros([1, 3, S, S])], { ...opts, codebookSize: 65 })).rejects.toThrow(/64 patches cannot fit 65 codes/);
    await expect(fitCodec('vq', [train[0]], { imageSize: S, patchSize: P })).rejects.toThrow(/codebookSize must be a positive integer/);
    await expect(fitCodec('pixels' as never, [train[0]], opts)).rejects.toThrow(/kind must be 'vq' or 'continuous'/);
  });
});

describe('saveCodec / loadCodec', () => {
  let vq: PatchVQ, ae: PatchAutoencoder;
  beforeAll(async () => {
    vq = await fitCodec('vq', train, { imageSize: S, patchSize: P, codebookSize: 32, seed: 1, iterations: 3 }) as PatchVQ;
    ae = await fitCodec('continuous', train, { imageSize: S, patchSize: P, latentDim: 12 }) as PatchAutoencoder;
  });

  it('round-trips both kinds: bit-identical encodes, the same fit report, still frozen', () => {
    for (const c of [vq, ae]) {
      const file = path.join(tmp, `${c.kind}.safetensors`);
      saveCodec(c, file);
      const meta = io.readSafetensorsHeader(file).metadata;
      expect(meta).toMatchObject({ format: CODEC_FORMAT, format_version: '1', kind: c.kind, image_size: '64', patch_size: '8' });
      const back = loadCodec(file);
      expect(back.constructor).toBe(c.constructor);
      expect([back.codebookSize, back.latentDim, back.numTokens]).toEqual([c.codebookSize, c.latentDim, c.numTokens]);
      for (const t of GENERATION_TASKS) {
        expect(Buffer.from(back.encode(held[t]).toArray().buffer).equals(Buffer.from(c.encode(held[t]).toArray().buffer))).toBe(true);
      }
      expect(back.fitReport).toEqual((c as PatchVQ).fitReport);
      expect(back.parameters().every((p) => !p.requiresGrad)).toBe(true);
      back.dispose();
    }
  });

  it('gives clear errors for missing, foreign, corrupt, truncated and future files', () => {
    const good = path.join(tmp, 'good.safetensors');
    saveCodec(vq, good);
    expect(() => loadCodec(path.join(tmp, 'absent.safetensors'))).toThrow(/absent.safetensors: no such file/);

    const foreign = path.join(tmp, 'foreign.safetensors');
    io.saveSafetensors(foreign, { codebook: torch.zeros([32, 192]) });
    expect(() => loadCodec(foreign)).toThrow(/not an image codec written by saveCodec \(metadata format is missing/);

    const bytes = fs.readFileSync(good);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 5] ^= 0x40; // one bit of the codebook's data
    const corrupt = path.join(tmp, 'corrupt.safetensors');
    fs.writeFileSync(corrupt, flipped);
    expect(() => loadCodec(corrupt)).toThrow(/do not match the checksum.*corrupt/);

    const truncated = path.join(tmp, 'truncated.safetensors');
    fs.writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    expect(() => loadCodec(truncated)).toThrow(/truncated.safetensors: not a readable codec file/);

    const text = path.join(tmp, 'text.safetensors');
    fs.writeFileSync(text, 'hello, not a tensor file');
    expect(() => loadCodec(text)).toThrow(/not a readable codec file/);

    const future = path.join(tmp, 'future.safetensors');
    const meta = io.readSafetensorsHeader(good).metadata;
    io.saveSafetensors(future, vq.stateDict(), { ...meta, format_version: '2' });
    expect(() => loadCodec(future)).toThrow(/format version 2 is newer than this unimrg reads \(1\)/);

    const wrongShape = path.join(tmp, 'shape.safetensors');
    io.saveSafetensors(wrongShape, vq.stateDict(), { ...meta, codebook_size: '33' });
    expect(() => loadCodec(wrongShape)).toThrow(/shape mismatches.*codebook: checkpoint shape \[32, 192\], model shape \[33, 192\]/);

    expect(() => saveCodec({} as ImageCodec, path.join(tmp, 'x.safetensors'))).toThrow(/expected a PatchVQ or PatchAutoencoder/);
  });
});
