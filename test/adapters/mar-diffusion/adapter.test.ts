// mar-diffusion adapter: configuration and errors, parameter layout (snapshot, Harmon-1.5B
// shapes without allocating it), the frozen codec, memory, the loss terms, generate().
import * as adapters from '../../../lib/adapters';
import { codecs } from '../../../lib/adapters';
import { adapterLoss } from '../../../lib/adapters/loss';
import { definition, describe as describeModel, imagePositions, maskRatios, randomMasking, resolveConfig, seqLen, spacedTimesteps } from '../../../lib/adapters/mar-diffusion';
import type { MarDiffusionAdapter } from '../../../lib/adapters/mar-diffusion';
import * as data from '../../../lib/data';
import { torch } from '../../../lib/torch';
import { fitCodec, singleThread, taskBatch } from './helpers';

singleThread();

describe('config', () => {
  test('presets: tiny, mini, small, harmon-1.5b; the registry finds the family', () => {
    expect(Object.keys(definition.presets)).toEqual(['tiny', 'mini', 'small', 'harmon-1.5b']);
    expect(adapters.presets('mar-diffusion')).toEqual(['tiny', 'mini', 'small', 'harmon-1.5b']);
    expect(adapters.family('mar-diffusion')).toBe(definition);
    const h = definition.presets['harmon-1.5b'];
    // Harmon-1.5B: Qwen2.5-1.5B, MAR-H (1280 wide, 20 + 20 blocks, 16 heads), buffer 64, head 1536 × 12, KL-16 latents 16 × 16 × 16 at 256 px.
    expect([h.hiddenSize, h.numLayers, h.numHeads, h.numKvHeads, h.intermediateSize, h.vocabSize]).toEqual([1536, 28, 12, 2, 8960, 151936]);
    expect([h.encoderEmbedDim, h.encoderDepth, h.encoderNumHeads, h.decoderEmbedDim, h.decoderDepth, h.decoderNumHeads]).toEqual([1280, 20, 16, 1280, 20, 16]);
    expect([h.bufferSize, h.diffusionWidth, h.diffusionDepth, h.diffusionBatchMul, h.latentDim, h.imageSize / h.patchSize]).toEqual([64, 1536, 12, 4, 16, 16]);
  });

  test('bad configurations give RangeErrors naming every bad field', () => {
    expect(() => resolveConfig('huge')).toThrow(/unknown mar-diffusion preset 'huge'.*tiny, mini, small, harmon-1.5b/);
    expect(() => resolveConfig('tiny', { patchSize: 7 })).toThrow(/patchSize 7 must divide imageSize 64/);
    expect(() => resolveConfig('tiny', { encoderNumHeads: 3 })).toThrow(/encoderNumHeads 3 must divide encoderEmbedDim 64/);
    expect(() => resolveConfig('tiny', { numKvHeads: 3 })).toThrow(/numKvHeads 3 must divide numHeads 4/);
    expect(() => resolveConfig('tiny', { maskRatioMin: 1.5 })).toThrow(/maskRatioMin must be a number in \(0, 1\]/);
    expect(() => resolveConfig('tiny', { sampler: 'euler' as never })).toThrow(/sampler must be 'ddpm' or 'ddim'/);
    expect(() => resolveConfig('tiny', { numLayers: 0, cfg: 0.5, bufferSize: -1 })).toThrow(/numLayers must be an integer >= 1.*bufferSize must be an integer >= 0.*cfg must be a number in \[1, 100\]/);
    expect(() => resolveConfig('tiny', { nLayers: 2 } as never)).toThrow(/unknown field 'nLayers'/);
    expect(() => resolveConfig('tiny', { samplingSteps: 2000 })).toThrow(/samplingSteps 2000 must be <= numTimesteps 1000/);
    expect(() => definition.create({ ...definition.presets.tiny, hiddenSize: 63 })).toThrow(RangeError);
    expect(() => adapters.create('mar-diffusion', 'tiny', { imageSize: 60 })).toThrow(/patchSize 8 must divide imageSize 60/);
  });

  test('a codec or tokenizer that does not fit the config is refused', () => {
    const vq = codecs.createCodec({ kind: 'vq', imageSize: 64, patchSize: 8, codebookSize: 16 });
    const small = codecs.createCodec({ kind: 'continuous', imageSize: 64, patchSize: 8, latentDim: 8 });
    try {
      expect(() => definition.create(resolveConfig('tiny'), { codec: vq })).toThrow(/needs a codec of kind 'continuous', got kind 'vq'/);
      expect(() => definition.create(resolveConfig('tiny'), { codec: small })).toThrow(/latentDim: codec 8, config 16/);
      expect(() => definition.create(resolveConfig('tiny', { vocabSize: 50 }))).toThrow(/vocabSize 50 is smaller than the tokenizer's 112 tokens/);
    } finally {
      vq.dispose();
      small.dispose();
    }
  });
});

describe('parameter layout', () => {
  test('names and shapes of the tiny preset (snapshot), equal to describe()', () => {
    const ad = definition.create(resolveConfig('tiny')) as MarDiffusionAdapter;
    try {
      const named = ad.model.namedParameters().map(([n, p]) => `${n} [${p.shape.join(', ')}]`);
      expect(named).toMatchSnapshot();
      const own = new Map(ad.model.namedParameters().filter(([n]) => !n.startsWith('vae.')).map(([n, p]) => [n, p.shape]));
      const d = describeModel(ad.config);
      expect(new Map(d.shapes)).toEqual(own);
      expect(d.total).toBe(ad.model.numParameters());
      expect(d.parameters.vae).toBe(ad.codec.numParameters());
      expect(d.trainable).toBe(ad.trainableParameters().reduce((s, [, p]) => s + p.numel, 0));
      expect(d.batchFormat).toEqual(ad.batchFormat);
    } finally {
      ad.dispose();
    }
  });

  test('harmon-1.5b is described without allocating: Qwen2.5-1.5B and MAR-H sizes', () => {
    const d = describeModel(definition.presets['harmon-1.5b']);
    const shape = new Map(d.shapes);
    expect(shape.get('llm.model.embed_tokens.weight')).toEqual([151936, 1536]);
    expect(shape.get('llm.model.layers.27.self_attn.k_proj.weight')).toEqual([256, 1536]);
    expect(shape.has('llm.lm_head.weight')).toBe(false); // tied to embed_tokens, as Qwen2.5-1.5B
    expect(shape.get('mar.encoder_blocks.19.attn.qkv.weight')).toEqual([3840, 1280]);
    expect(shape.get('mar.decoder_blocks.0.mlp.fc1.weight')).toEqual([5120, 1280]);
    expect(shape.get('mar.encoder_pos_embed_learned')).toEqual([1, 256 + 64, 1280]);
    expect(shape.get('mar.diffusion_pos_embed_learned')).toEqual([1, 256, 1280]);
    expect(shape.get('mar.class_emb.weight')).toEqual([1000, 1280]);
    expect(shape.get('mar.diffloss.net.final_layer.linear.weight')).toEqual([32, 1536]); // ε and variance
    expect(shape.get('mar.diffloss.net.cond_embed.weight')).toEqual([1536, 1280]);
    expect(shape.get('proj_in.0.weight')).toEqual([1536, 1280]);
    expect(shape.get('proj_out.2.weight')).toEqual([1280, 1536]);
    // Qwen2.5-1.5B has 1,543,714,304 parameters, 28 × (1536 + 256 + 256) of them q/k/v biases.
    expect(d.parameters.llm + 28 * (1536 + 256 + 256)).toBe(1543714304);
    // MAR-H (MAR paper, Table: 943M with its diffusion head).
    expect(Math.abs(d.parameters.mar + d.parameters['mar.diffloss'] - 943e6) / 943e6).toBeLessThan(0.005);
  });
});

describe('the tiny adapter', () => {
  let ad: MarDiffusionAdapter;
  let codec: codecs.ImageCodec;
  let mixed: data.TaskBatch;
  beforeAll(async () => {
    codec = await fitCodec(definition.presets.tiny, 8);
    ad = definition.create(resolveConfig('tiny'), { codec }) as MarDiffusionAdapter;
    mixed = await taskBatch(ad, 'mixed');
  });
  afterAll(() => {
    data.disposeBatch(mixed);
    ad.dispose();
    codec.dispose();
  });

  test('batch format: image and buffer positions, codec-sized images, [-1, 1] inputs', () => {
    expect(ad.batchFormat).toEqual({ conditionSize: 64, generationSize: 64, conditionTokens: 68, generationTokens: 68, normalization: 'siglip', template: 'qwen' });
    expect(imagePositions(ad.config)).toBe(seqLen(ad.config) + ad.config.bufferSize);
    expect(seqLen(ad.config)).toBe(codec.numTokens);
  });

  test('forward: a text term (TASK_ID task ids) and a diffusion term (k draws, mask = masked tokens)', () => {
    expect(Array.from(mixed.rowTasks.toArray() as BigInt64Array, Number)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    torch.noGrad(() => torch.tidy(() => {
      const { terms } = ad.forward(mixed);
      expect(terms.map((t) => `${t.kind}:${t.name}`)).toEqual(['cross-entropy:text', 'diffusion:diffusion']);
      const text = terms[0] as Extract<typeof terms[0], { kind: 'cross-entropy' }>;
      expect(new Set(Array.from(text.taskIds.toArray() as BigInt64Array, Number))).toEqual(new Set([0]));
      expect(text.logits.shape).toEqual([text.targets.shape[0], ad.config.vocabSize]);
      const diff = terms[1] as Extract<typeof terms[1], { kind: 'diffusion' }>;
      const N = seqLen(ad.config), G = 6, k = ad.config.diffusionBatchMul;
      expect(diff.repeat).toBe(k);
      expect(diff.pred.shape).toEqual([G * N * k, 16]);
      expect(diff.target.shape).toEqual([G * N * k, 16]);
      expect(Array.from(diff.taskIds.toArray() as BigInt64Array, Number)).toEqual([1, 1, 2, 2, 3, 3].flatMap((t) => new Array(N).fill(t)));
      // At least ceil(0.7 N) tokens of every image are masked.
      const m = Array.from(diff.mask!.toArray() as Float32Array);
      for (let g = 0; g < G; g++) expect(m.slice(g * N, (g + 1) * N).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(Math.ceil(0.7 * N));
      const loss = adapterLoss({ terms });
      const tl = Array.from(loss.taskLoss.toArray() as Float32Array);
      expect(tl.every((x) => Number.isFinite(x) && x > 0)).toBe(true);
    }));
  });

  test('mask ratios follow the truncated normal on [0.7, 1] (mean 1, std 0.25)', () => {
    torch.manualSeed(5);
    const r = torch.tidy(() => Array.from(maskRatios(20000, 0.7).toArray() as Float64Array));
    expect(Math.min(...r)).toBeGreaterThanOrEqual(0.7);
    expect(Math.max(...r)).toBeLessThanOrEqual(1);
    // E[X] of N(1, 0.25²) truncated to [0.7, 1]: 1 − 0.25 (φ(−1.2) − φ(0)) / (Φ(0) − Φ(−1.2)) = 0.86175
    const mean = r.reduce((a, b) => a + b, 0) / r.length;
    expect(mean).toBeCloseTo(0.8618, 2);
    const mask = torch.tidy(() => Array.from(randomMasking(4, 64, 0.7).sum(1).toArray() as BigInt64Array, Number));
    for (const n of mask) { expect(n).toBeGreaterThanOrEqual(45); expect(n).toBeLessThanOrEqual(64); }
  });

  test('the frozen codec gets no gradient; trainable parameters never include it', () => {
    for (const p of codec.parameters()) expect(p.requiresGrad).toBe(false);
    for (const policy of ['post-training', 'all'] as const) {
      const names = ad.trainableParameters(policy).map(([n]) => n);
      expect(names.some((n) => n.startsWith('vae.'))).toBe(false);
      expect(names).toContain('llm.model.embed_tokens.weight');
      expect(names).toContain('mar.encoder_blocks.0.attn.qkv.weight');
      expect(names).toContain('mar.diffloss.net.final_layer.linear.weight');
      expect(names).toContain('proj_out.2.weight');
    }
    torch.tidy(() => adapterLoss(ad.forward(mixed)).loss.backward());
    for (const [n, p] of ad.model.namedParameters()) {
      if (n.startsWith('vae.')) expect(p.grad).toBeNull();
    }
    // Every part on the path of the losses is reached (after one step the zero-initialised head passes gradient on).
    const withGrad = ad.model.namedParameters().filter(([, p]) => { const g = p.grad; const ok = g !== null; g?.dispose(); return ok; }).map(([n]) => n);
    for (const n of ['llm.model.layers.0.self_attn.q_proj.weight', 'llm.lm_head.weight', 'mar.diffloss.net.final_layer.linear.weight', 'mar.z_proj.weight']) expect(withGrad).toContain(n);
    ad.model.zeroGrad();
    expect(() => ad.trainableParameters('everything' as never)).toThrow(/unknown trainable policy/);
  });

  test('no weight decay on biases, norms and the diffusion head', () => {
    for (const n of ['llm.model.norm.weight', 'llm.model.layers.0.input_layernorm.weight', 'mar.encoder_blocks.0.attn.qkv.bias', 'mar.z_proj_ln.weight',
      'mar.diffloss.net.res_blocks.0.mlp.0.weight', 'mar.diffloss.net.final_layer.linear.weight', 'proj_in.0.bias']) expect(ad.noDecay(n)).toBe(true);
    for (const n of ['llm.model.layers.0.self_attn.q_proj.weight', 'mar.encoder_blocks.0.attn.qkv.weight', 'mar.mask_token', 'mar.encoder_pos_embed_learned', 'proj_in.0.weight']) {
      expect(ad.noDecay(n)).toBe(false);
    }
  });

  test('no tensor leaks from forward, loss and backward inside tidy', () => {
    torch.tidy(() => adapterLoss(ad.forward(mixed)).loss.backward()); // warm-up (lazy tables)
    ad.model.zeroGrad();
    const before = torch.memory().tensors;
    for (let i = 0; i < 2; i++) torch.tidy(() => adapterLoss(ad.forward(mixed)).loss.backward());
    ad.model.zeroGrad();
    expect(torch.memory().tensors).toBe(before);
    torch.tidy(() => { ad.generate(mixed.conditionImages.narrow(0, 0, 2), 'depth', { steps: 2 }); });
    torch.tidy(() => { ad.answer(mixed.conditionImages.narrow(0, 0, 1), ['How many objects are there?'], { maxNewTokens: 2 }); });
    expect(torch.memory().tensors).toBe(before);
  });

  test('generate: [B, 3, 64, 64] in [-1, 1], deterministic by seed, with and without guidance', () => {
    const images = mixed.conditionImages.narrow(0, 2, 2);
    torch.tidy(() => {
      const a = ad.generate(images, 'depth', { seed: 7 });
      const b = ad.generate(images, 'depth', { seed: 7 });
      const c = ad.generate(images, 'depth', { seed: 8 });
      expect(a.shape).toEqual([2, 3, 64, 64]);
      expect(Number(a.min().item())).toBeGreaterThanOrEqual(-1);
      expect(Number(a.max().item())).toBeLessThanOrEqual(1);
      expect(Number(a.sub(b).abs().max().item())).toBe(0);
      expect(Number(a.sub(c).abs().max().item())).toBeGreaterThan(0);
      const g = ad.generate(images, { text: 'Generate the segmentation mask of this image.' }, { seed: 7, cfg: 3, steps: 3, temperature: 1 });
      expect(g.shape).toEqual([2, 3, 64, 64]);
      expect(Number(g.abs().max().item())).toBeLessThanOrEqual(1);
    });
    // The global generator is left as it was.
    torch.manualSeed(3);
    const x = torch.tidy(() => Number(torch.rand([1]).item()));
    torch.manualSeed(3);
    torch.tidy(() => { ad.generate(images, 'reconstruction', { steps: 1 }); });
    expect(torch.tidy(() => Number(torch.rand([1]).item()))).toBe(x);
  });

  test('answer() returns one string per image', () => {
    const a = ad.answer(mixed.conditionImages.narrow(0, 0, 2), ['What color is the cube?', 'How many objects are there?'], { maxNewTokens: 3 });
    expect(a).toHaveLength(2);
    for (const s of a) expect(typeof s).toBe('string');
  });

  test('answer() never picks an id the tokenizer cannot decode (the preset head is wider than the vocabulary)', () => {
    const w = ad.model.llm.lmHead.weight;
    const V = ad.tokenizer.vocabSize;
    expect(w.shape[0]).toBeGreaterThan(V); // tiny: 128 rows, 112 words
    const saved = torch.noGrad(() => torch.keep(w.clone()));
    try {
      // Every word scores 0; the rows past the vocabulary score ±20·|h|, so some row past it wins.
      torch.noGrad(() => torch.tidy(() => {
        w.narrow(0, 0, V).zero_();
        w.narrow(0, V, w.shape[0] - V).copy_(torch.randn([w.shape[0] - V, w.shape[1]]).mul(20));
      }));
      const a = ad.answer(mixed.conditionImages.narrow(0, 0, 2), ['What color is the cube?', 'How many objects are there?'], { maxNewTokens: 2 });
      expect(a).toHaveLength(2);
    } finally {
      torch.noGrad(() => w.copy_(saved));
      saved.dispose();
    }
  });

  test('bad inputs give clear errors', () => {
    const small = torch.zeros([1, 3, 32, 32]);
    try {
      expect(() => ad.generate(small, 'depth')).toThrow(/generate: images must be \[B, 3, 64, 64\]/);
      expect(() => ad.answer(small, ['?'])).toThrow(/answer: images must be \[B, 3, 64, 64\]/);
      const img = mixed.conditionImages.narrow(0, 0, 1);
      expect(() => ad.generate(img, 'depth', { steps: 0 })).toThrow(/steps must be a positive integer/);
      expect(() => ad.generate(img, 'depth', { cfg: 0.5 })).toThrow(/cfg must be a finite number >= 1/);
      expect(() => ad.generate(img, 'understanding' as never)).toThrow(/'understanding' is not a generation task/);
      expect(() => ad.answer(img, ['a', 'b'])).toThrow(/1 images but 2 questions/);
      expect(() => ad.forward({ ...mixed, conditionImages: torch.zeros([8, 3, 32, 32]) })).toThrow(/conditionImages must be \[8, 3, 64, 64\]/);
    } finally {
      small.dispose();
    }
  });

  test('stateDict / load round trip (strict)', () => {
    const other = definition.create(resolveConfig('tiny'), { codec, seed: 9 });
    try {
      const w = 'mar.encoder_blocks.0.attn.qkv.weight';
      const diff = () => torch.tidy(() => Number(other.stateDict()[w].sub(ad.stateDict()[w]).abs().max().item()));
      expect(diff()).toBeGreaterThan(0);
      other.load(ad.stateDict());
      expect(diff()).toBe(0);
      const sd = { ...ad.stateDict() };
      delete sd[w];
      expect(() => other.load(sd)).toThrow(/missing keys \(1\): mar.encoder_blocks.0.attn.qkv.weight/);
    } finally {
      other.dispose();
    }
  });

  test('the respaced sampling chain keeps the first and last timestep', () => {
    expect(spacedTimesteps(1000, 10)).toEqual([0, 111, 222, 333, 444, 555, 666, 777, 888, 999]);
    expect(spacedTimesteps(1000, 1)).toEqual([0]);
  });
});
