// The query-diffusion adapter (MetaQuery / OpenUni style): configuration and its errors,
// parameter names (OpenUni / SANA / InternVL layout, snapshot), sizes computed from the config
// against the built modules, the codec frozen, the 0.1 gradient scale, no leaked tensors,
// generate() and answer() contracts, and the maths of its pieces against independent formulas.
import { adapterLoss } from '../../../lib/adapters/loss';
import { createCodec } from '../../../lib/adapters/codecs';
import type { ImageCodec } from '../../../lib/adapters/codecs/types';
import { definition, describe as describeModel, eulerSample, linearAttention, pixelShuffle, seededNoise, timestepFeatures, type QueryDiffusionAdapter, type QueryDiffusionConfig } from '../../../lib/adapters/query-diffusion';
import { disposeBatch, type TaskBatch, WordTokenizer } from '../../../lib/data';
import { torch, type Tensor } from '../../../lib/torch';
import { fitTinyCodec, sceneBatch, tinyAdapter } from './helpers';

let codec: ImageCodec;
let a: QueryDiffusionAdapter;
let mixed: TaskBatch;

beforeAll(async () => {
  codec = await fitTinyCodec();
  a = tinyAdapter(codec);
  mixed = await sceneBatch(a, {});
});
afterAll(() => { disposeBatch(mixed); a.dispose(); });

const floats = (t: Tensor) => Array.from(t.toArray() as Float32Array);

describe('configuration', () => {
  test('presets resolve; openuni-b-512 has the published shape and is only described, not built', () => {
    expect(Object.keys(definition.presets)).toEqual(expect.arrayContaining(['tiny', 'mini', 'small', 'openuni-b-512']));
    for (const p of Object.keys(definition.presets)) expect(() => definition.resolveConfig(p)).not.toThrow();
    const c = definition.resolveConfig('openuni-b-512');
    const d = describeModel(c);
    expect(d.batchFormat.conditionTokens).toBe(256); // 448 px / 14 = 32 patches per side, pixel shuffle 0.5
    expect(d.batchFormat.generationTokens).toBe(256);
    expect([d.latentGrid, d.latentDim]).toEqual([16, 32]); // DC-AE f32c32 at 512 px
    expect(c.dit.numHeads * c.dit.headDim).toBe(1152);
    // Sizes from the public configs: InternVL3-1B ≈ 0.94 B, SANA-0.6B ≈ 0.59 B.
    expect(d.parameters['lmm.vision_model'] + d.parameters['lmm.mlp1'] + d.parameters['lmm.language_model']).toBeGreaterThan(0.9e9);
    expect(d.parameters['lmm.vision_model'] + d.parameters['lmm.mlp1'] + d.parameters['lmm.language_model']).toBeLessThan(1.0e9);
    expect(d.parameters.transformer).toBeGreaterThan(0.55e9);
    expect(d.parameters.transformer).toBeLessThan(0.65e9);
  });

  test('overrides merge into field groups', () => {
    const c = definition.resolveConfig('tiny', { numQueries: 8, dit: { numLayers: 1 } } as Partial<QueryDiffusionConfig>);
    expect(c.numQueries).toBe(8);
    expect(c.dit.numLayers).toBe(1);
    expect(c.dit.numHeads).toBe(definition.presets.tiny.dit.numHeads);
    expect(definition.presets.tiny.dit.numLayers).toBe(3); // the preset itself is untouched
  });

  test('bad configurations name every bad field', () => {
    const bad = (o: object) => () => definition.resolveConfig('tiny', o as Partial<QueryDiffusionConfig>);
    expect(() => definition.resolveConfig('huge')).toThrow(/unknown query-diffusion preset 'huge'.*tiny/);
    expect(bad({ numQueries: 0 })).toThrow(RangeError);
    expect(bad({ numQueries: 0 })).toThrow(/numQueries: must be a positive integer/);
    expect(bad({ bogus: 1 })).toThrow(/unknown field 'bogus'/);
    expect(bad({ dit: { depth: 3 } })).toThrow(/unknown field 'dit\.depth'/);
    expect(bad({ dit: 4 })).toThrow(/dit must be an object of fields/);
    expect(bad({ vision: { pixelShuffle: 3 } })).toThrow(/vision\.pixelShuffle: 3 must divide the 8 patches per side/);
    expect(bad({ codec: { patchSize: 6 } })).toThrow(/codec\.patchSize: 6 must divide generationSize 64/);
    expect(bad({ dit: { patchSize: 3 } })).toThrow(/dit\.patchSize: 3 must divide the latent grid side 8/);
    expect(bad({ flow: { conditionDropout: 1.5, repeat: 0 } })).toThrow(/flow\.repeat.*flow\.conditionDropout|flow\.conditionDropout.*flow\.repeat/);
    expect(bad({ llm: { numKvHeads: 3 } })).toThrow(/llm\.numKvHeads: 3 must divide llm\.numHeads 4/);
    expect(bad({ connector: { numHeads: 3 } })).toThrow(/connector\.numHeads: 3 must divide/);
    expect(bad({ freeze: { lmm: 'yes' } })).toThrow(/freeze\.lmm: must be one of true, false/);
    expect(bad({ template: 'chatml' })).toThrow(/template/);
    const broken = { ...definition.presets.tiny, numQueries: -1 };
    expect(() => definition.create(broken, { codec })).toThrow(/invalid query-diffusion config: numQueries/);
  });

  test('a codec that does not fit the config, or a vocabulary too small, is refused', () => {
    const c = definition.resolveConfig('tiny');
    const vq = createCodec({ kind: 'vq', imageSize: 64, patchSize: 8, codebookSize: 16 });
    expect(() => definition.create(c, { codec: vq })).toThrow(/codec of kind 'continuous', got kind 'vq'/);
    const thin = createCodec({ kind: 'continuous', imageSize: 64, patchSize: 8, latentDim: 8 });
    expect(() => definition.create(c, { codec: thin })).toThrow(/latentDim: codec 8, config 16/);
    vq.dispose(); thin.dispose();
    const tok = WordTokenizer.fromCorpus(['a b c d e f g h i j k l m n o p q r s t u v w x y z']);
    expect(() => definition.create(definition.resolveConfig('tiny', { llm: { vocabSize: 8 } } as Partial<QueryDiffusionConfig>), { codec, tokenizer: tok }))
      .toThrow(/llm\.vocabSize 8 is smaller than the tokenizer's 35 tokens/);
  });
});

describe('parameters', () => {
  test('names follow the OpenUni / InternVL / SANA layout (snapshot of the tiny preset)', () => {
    const names = a.model.namedParameters().map(([n, p]) => `${n} [${p.shape.join(', ')}]`);
    for (const n of ['meta_queries [16, 128]', 'projector.weight [96, 128]', 'lmm.mlp1.0.weight [256]', 'lmm.mlp1.3.weight [128, 128]',
      'lmm.vision_model.embeddings.patch_embedding.weight [64, 3, 8, 8]', 'lmm.language_model.model.layers.0.self_attn.q_proj.weight [128, 128]',
      'lmm.language_model.lm_head.weight [112, 128]', 'connector.layers.0.self_attn.out_proj.weight [128, 128]', 'connector.layers.0.mlp.fc1.weight [256, 128]',
      'transformer.patch_embed.proj.weight [96, 16, 1, 1]', 'transformer.time_embed.emb.timestep_embedder.linear_1.weight [96, 256]',
      'transformer.time_embed.linear.weight [576, 96]', 'transformer.caption_projection.linear_1.weight [96, 96]', 'transformer.caption_norm.weight [96]',
      'transformer.transformer_blocks.0.attn1.to_q.weight [96, 96]', 'transformer.transformer_blocks.0.attn2.to_out.0.bias [96]',
      'transformer.transformer_blocks.0.ff.conv_depth.weight [480, 1, 3, 3]', 'transformer.transformer_blocks.2.scale_shift_table [6, 96]',
      'transformer.scale_shift_table [2, 96]', 'transformer.proj_out.weight [16, 96]', 'vae.components [16, 192]']) {
      expect(names).toContain(n);
    }
    expect(names).toMatchSnapshot();
  });

  test('sizes computed from the config equal the built model, part by part', () => {
    const d = describeModel(a.config, a.tokenizer.vocabSize);
    const actual: Record<string, number> = {};
    for (const [n, p] of a.model.namedParameters()) {
      const part = Object.keys(d.parameters).find((k) => n === k || n.startsWith(`${k}.`));
      expect(part).toBeDefined();
      actual[part!] = (actual[part!] ?? 0) + p.numel;
    }
    expect(actual).toEqual(d.parameters);
    expect(a.model.numParameters()).toBe(d.total);
    expect(a.trainableParameters().reduce((s, [, p]) => s + p.numel, 0)).toBe(d.trainable);
  });

  test('post-training trains everything but the codec; the freeze option follows OpenUni', () => {
    const names = a.trainableParameters('post-training').map(([n]) => n);
    expect(names.some((n) => n.startsWith('vae.'))).toBe(false);
    for (const prefix of ['lmm.vision_model.', 'lmm.mlp1.', 'lmm.language_model.', 'meta_queries', 'connector.', 'projector.', 'transformer.']) {
      expect(names.some((n) => n.startsWith(prefix))).toBe(true);
    }
    for (const p of codec.parameters()) expect(p.requiresGrad).toBe(false);
    expect(a.trainableParameters('all').length).toBe(names.length);
    const frozen = tinyAdapter(codec, { freeze: { lmm: true, transformer: true } });
    const f = frozen.trainableParameters('post-training').map(([n]) => n);
    expect(f.every((n) => n === 'meta_queries' || n.startsWith('connector.') || n.startsWith('projector.'))).toBe(true);
    expect(frozen.model.namedParameters().filter(([n]) => n.startsWith('lmm.')).every(([, p]) => !p.requiresGrad)).toBe(true);
    expect(frozen.trainableParameters('all').length).toBe(names.length);
    expect(() => a.trainableParameters('everything' as 'all')).toThrow(/unknown trainable policy/);
    frozen.dispose();
  });

  test('noDecay: biases, norms, queries, the timestep embedding and adaLN tables; not weights', () => {
    const yes = ['lmm.mlp1.0.weight', 'lmm.mlp1.1.bias', 'lmm.language_model.model.norm.weight', 'lmm.language_model.model.layers.1.input_layernorm.weight',
      'lmm.vision_model.encoder.layers.0.layer_norm2.weight', 'lmm.vision_model.post_layernorm.weight', 'connector.layers.0.layer_norm1.weight', 'meta_queries',
      'transformer.time_embed.emb.timestep_embedder.linear_2.weight', 'transformer.time_embed.linear.weight', 'transformer.caption_norm.weight',
      'transformer.transformer_blocks.0.scale_shift_table', 'transformer.proj_out.bias'];
    const no = ['lmm.mlp1.1.weight', 'lmm.language_model.model.layers.0.mlp.gate_proj.weight', 'lmm.language_model.lm_head.weight',
      'connector.layers.0.mlp.fc1.weight', 'projector.weight', 'transformer.transformer_blocks.0.attn1.to_q.weight', 'transformer.proj_out.weight'];
    for (const n of yes) expect([n, a.noDecay(n)]).toEqual([n, true]);
    for (const n of no) expect([n, a.noDecay(n)]).toEqual([n, false]);
  });
});

describe('forward', () => {
  test('a mixed batch gives the text and diffusion terms; the codec gets no gradient; nothing leaks', () => {
    const G = mixed.targetImages!.shape[0];
    const before = torch.memory().tensors;
    torch.tidy(() => {
      const out = a.forward(mixed);
      expect(out.terms.map((t) => `${t.kind}:${t.name}`)).toEqual(['linear-cross-entropy:text', 'diffusion:diffusion']);
      const diff = out.terms[1] as Extract<(typeof out.terms)[number], { kind: 'diffusion' }>;
      const k = a.config.flow.repeat;
      expect(diff.repeat).toBe(k);
      expect(diff.pred.shape).toEqual([k * G * 64, 16]);
      expect(diff.taskIds.shape).toEqual([G * 64]);
      // Task ids of the latent tokens: each generation row's task, 64 tokens each.
      const rows = Array.from(mixed.rowTasks.toArray() as BigInt64Array, Number);
      const targets = Array.from(mixed.targetRows.toArray() as BigInt64Array, Number);
      const ids = Array.from(diff.taskIds.toArray() as BigInt64Array, Number);
      expect(ids).toEqual(targets.flatMap((r) => new Array(64).fill(rows[r])));
      const r = adapterLoss(out);
      const tl = floats(r.taskLoss);
      expect(tl.every((x) => Number.isFinite(x) && x > 0)).toBe(true);
      r.loss.backward();
    });
    for (const p of codec.parameters()) expect(p.grad).toBeNull();
    expect(codec.parameters().length).toBeGreaterThan(0);
    const g = a.model.metaQueries.grad;
    expect(g).not.toBeNull();
    g!.dispose();
    a.model.zeroGrad();
    expect(torch.memory().tensors).toBe(before);
  });

  test('the gradient into the condition features is scaled by conditionGradScale (0.1 against 1)', () => {
    const other = tinyAdapter(codec, { conditionGradScale: 1 });
    const grads = (x: QueryDiffusionAdapter) => {
      torch.manualSeed(11);
      torch.tidy(() => adapterLoss(x.forward(mixed)).loss.backward());
      const pick = (n: string) => { const p = x.model.namedParameters().find(([m]) => m === n)![1]; const g = p.grad!; const v = floats(g); g.dispose(); return v; };
      const out = {
        vision: pick('lmm.vision_model.embeddings.patch_embedding.weight'),
        mlp1: pick('lmm.mlp1.3.bias'),
        llm: pick('lmm.language_model.model.layers.0.mlp.down_proj.weight'),
      };
      x.model.zeroGrad();
      return out;
    };
    const s = grads(a), one = grads(other);
    const rel = (x: number[], y: number[]) => Math.max(...x.map((v, i) => Math.abs(v - y[i]))) / Math.max(...y.map(Math.abs));
    expect(rel(s.vision, one.vision.map((v) => 0.1 * v))).toBeLessThan(1e-4);
    expect(rel(s.mlp1, one.mlp1.map((v) => 0.1 * v))).toBeLessThan(1e-4);
    expect(rel(s.llm, one.llm)).toBeLessThan(1e-5); // the LLM's own gradient is unscaled
    expect(Math.max(...one.vision.map(Math.abs))).toBeGreaterThan(0);
    other.dispose();
  });

  test('a batch with the wrong image sizes is refused with the expected shape', () => {
    const wrong = { ...mixed, conditionImages: torch.zeros([8, 3, 32, 32]) };
    expect(() => a.forward(wrong)).toThrow(/conditionImages must be \[8, 3, 64, 64\], got \[8, 3, 32, 32\]/);
    wrong.conditionImages.dispose();
  });
});

describe('generate and answer', () => {
  test('images of the right shape and range, deterministic by seed; no leaks', () => {
    a.eval();
    const imgs = mixed.conditionImages.narrow(0, 0, 2);
    const before = torch.memory().tensors;
    const x = a.generate(imgs, 'depth', { seed: 3, steps: 4 });
    const y = a.generate(imgs, 'depth', { seed: 3, steps: 4 });
    const z = a.generate(imgs, 'depth', { seed: 4, steps: 4 });
    const w = a.generate(imgs, { text: 'Generate the segmentation mask of this image.' }, { seed: 3, steps: 4, cfg: 1 });
    expect(x.shape).toEqual([2, 3, 64, 64]);
    expect(w.shape).toEqual([2, 3, 64, 64]);
    const xs = floats(x);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...xs)).toBeLessThanOrEqual(1);
    expect(floats(y)).toEqual(xs);
    expect(floats(z)).not.toEqual(xs);
    torch.dispose([x, y, z, w]);
    expect(torch.memory().tensors).toBe(before);
    imgs.dispose();
    a.train();
  });

  test('generate does not disturb the global random stream', () => {
    const imgs = mixed.conditionImages.narrow(0, 0, 1);
    torch.manualSeed(5);
    const r1 = torch.rand([4]);
    torch.manualSeed(5);
    a.generate(imgs, 'reconstruction', { seed: 9, steps: 2 }).dispose();
    const r2 = torch.rand([4]);
    expect(floats(r2)).toEqual(floats(r1));
    torch.dispose([r1, r2, imgs]);
  });

  test('bad generate / answer inputs give clear errors', () => {
    const imgs = mixed.conditionImages.narrow(0, 0, 1);
    expect(() => a.generate(imgs, 'understanding' as 'depth')).toThrow(/'understanding' is not a generation task/);
    expect(() => a.generate(imgs, 'depth', { steps: 0 })).toThrow(/steps must be a positive integer/);
    expect(() => a.generate(imgs, 'depth', { cfg: Number.NaN })).toThrow(/cfg must be a finite number/);
    const small = torch.zeros([1, 3, 32, 32]);
    expect(() => a.generate(small, 'depth')).toThrow(/images must be \[B, 3, 64, 64\]/);
    expect(() => a.answer(small, ['How many objects are there?'])).toThrow(/images must be \[B, 3, 64, 64\]/);
    expect(() => a.answer(imgs, ['a?', 'b?'])).toThrow(/1 images but 2 questions/);
    torch.dispose([imgs, small]);
  });

  test('answer returns one string per question and leaks nothing', () => {
    const imgs = mixed.conditionImages.narrow(0, 0, 3);
    const before = torch.memory().tensors;
    const out = a.answer(imgs, ['How many objects are there?', 'What color is the cube?', 'Is there a red sphere in the image?'], { maxNewTokens: 3 });
    expect(out).toHaveLength(3);
    for (const s of out) expect(typeof s).toBe('string');
    expect(torch.memory().tensors).toBe(before);
    imgs.dispose();
  });

  test('state dict round trip: a second adapter loaded from the first computes the same terms', () => {
    const b = tinyAdapter(codec, {}, 123);
    const terms = (x: QueryDiffusionAdapter) => torch.tidy(() => {
      torch.manualSeed(1);
      const out = x.forward(mixed).terms;
      const text = out[0] as Extract<(typeof out)[number], { kind: 'linear-cross-entropy' }>;
      const diff = out[1] as Extract<(typeof out)[number], { kind: 'diffusion' }>;
      return [...floats(text.hidden).slice(0, 500), ...floats(diff.pred).slice(0, 500), ...floats(diff.target).slice(0, 500)];
    });
    const ta = terms(a);
    expect(terms(b)).not.toEqual(ta);
    b.load(a.stateDict());
    expect(terms(b)).toEqual(ta);
    expect(Object.keys(a.stateDict())).toEqual(expect.arrayContaining(a.model.namedParameters().map(([n]) => n)));
    expect(() => b.load({ 'meta_queries': a.model.metaQueries })).toThrow(/missing keys/);
    b.dispose();
  });
});

describe('pieces against independent formulas', () => {
  test('Euler with the exact straight-line velocity lands on the data; guidance extrapolates', () => {
    const x0 = torch.tensor([0.5, -1, 2, 0.25], { shape: [1, 2, 2] });
    const x1 = torch.tensor([1, 1, -1, 0], { shape: [1, 2, 2] });
    const noise = torch.tensor([0.3, 0.7, -0.2, 1.1], { shape: [1, 2, 2] });
    // On x_t = (1 − t) x0 + t ε the velocity is ε − x0 = (x_t − x0) / t: Euler is exact on straight paths.
    const field = (target: Tensor) => (x: Tensor, t: Tensor) => x.sub(target.expandAs(x)).div(t.view(-1, 1, 1));
    const plain = eulerSample(noise, 5, 1, field(x0));
    floats(plain).forEach((v, i) => expect(v).toBeCloseTo(floats(x0)[i], 5));
    // cfg = 2: v = v_u + 2 (v_c − v_u) with v_c toward x0, v_u toward x1 ⇒ lands on 2 x0 − x1.
    const guided = eulerSample(noise, 5, 2, (x, t) => {
      const [c] = x.chunk(2, 0);
      return torch.cat([field(x0)(c, t.narrow(0, 0, 1)), field(x1)(c, t.narrow(0, 0, 1))], 0);
    });
    floats(guided).forEach((v, i) => expect(v).toBeCloseTo(2 * floats(x0)[i] - floats(x1)[i], 5));
    torch.dispose([x0, x1, noise, plain, guided]);
  });

  test('seeded noise is a function of the seed only', () => {
    const a1 = seededNoise([2, 3], 7, 'cpu'), a2 = seededNoise([2, 3], 7, 'cpu'), b1 = seededNoise([2, 3], 8, 'cpu');
    expect(floats(a2)).toEqual(floats(a1));
    expect(floats(b1)).not.toEqual(floats(a1));
    torch.dispose([a1, a2, b1]);
  });

  test('SANA linear attention equals its formula in float64', () => {
    const [B, H, N, d] = [1, 2, 5, 3];
    torch.manualSeed(2);
    const q = torch.randn([B, H, N, d]), k = torch.randn([B, H, N, d]), v = torch.randn([B, H, N, d]);
    const out = floats(linearAttention(q, k, v));
    const Q = floats(q), K = floats(k), V = floats(v);
    const relu = (x: number) => Math.max(0, x);
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < N; i++) {
        const at = (A: number[], j: number, c: number) => A[(h * N + j) * d + c];
        let den = 0;
        const num = new Array(d).fill(0);
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let c = 0; c < d; c++) s += relu(at(Q, i, c)) * relu(at(K, j, c));
          den += s;
          for (let c = 0; c < d; c++) num[c] += s * at(V, j, c);
        }
        for (let c = 0; c < d; c++) expect(out[(h * N + i) * d + c]).toBeCloseTo(num[c] / (den + 1e-6), 4);
      }
    }
    torch.dispose([q, k, v]);
  });

  test("InternVL's pixel shuffle: token (i, j) channel m reads patch (2i + ⌊m/2C⌋, 2j + ⌊(m mod 2C)/C⌋), channel m mod C", () => {
    const [B, s, C] = [2, 4, 3];
    const x = torch.arange(0, B * s * s * C).float().reshape([B, s * s, C]);
    const y = pixelShuffle(x, 2);
    expect(y.shape).toEqual([B, 4, 4 * C]);
    const Y = floats(y);
    for (let b = 0; b < B; b++) for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) for (let m = 0; m < 4 * C; m++) {
      const row = 2 * i + Math.floor(m / (2 * C)), col = 2 * j + Math.floor((m % (2 * C)) / C);
      expect(Y[((b * 4) + i * 2 + j) * 4 * C + m]).toBe(((b * s * s) + row * s + col) * C + (m % C));
    }
    torch.dispose([x, y]);
  });

  test('timestep features are [cos(t·f), sin(t·f)], f_i = 10000^(−i/128)', () => {
    const t = torch.tensor([0, 1, 250.5, 999]);
    const e = timestepFeatures(t);
    expect(e.shape).toEqual([4, 256]);
    const E = floats(e);
    [0, 1, 250.5, 999].forEach((tv, r) => {
      for (const i of [0, 1, 37, 127]) {
        const f = Math.exp(-Math.log(10000) * i / 128);
        expect(E[r * 256 + i]).toBeCloseTo(Math.cos(tv * f), 3);
        expect(E[r * 256 + 128 + i]).toBeCloseTo(Math.sin(tv * f), 3);
      }
    });
    torch.dispose([t, e]);
  });
});
