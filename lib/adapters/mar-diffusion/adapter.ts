// The mar-diffusion adapter (Harmon style): training forward for the four UniMRG tasks,
// greedy answers and iterative MAR generation.
//
// Sequence layout: every image occupies imagePositions = N + bufferSize LLM positions (N latent
// tokens in grid order, then the MAR buffer tokens, as Harmon moves them to the end), both at
// condition-image placeholders (<image>) and at generated-image placeholders (<|image_gen|>).
//
// forward():
//   condition image → codec.encode (frozen) → MAR encoder, nothing masked → proj_in → gradient
//     scaled by conditionGradScale → the condition placeholders;
//   target image (generation rows) → codec.encode → mask drawn per image (ratio ~ truncated
//     normal on [maskRatioMin, 1]) → MAR encoder over the visible tokens → proj_in → the
//     generation placeholders, masked positions hidden from the LLM's attention;
//   LLM (causal) → hidden states at the generation positions → xEnc + proj_out(h) → MAR decoder
//     → per-token conditions → diffusion head on k = diffusionBatchMul noised copies of each
//     token (ε-prediction, discrete cosine schedule) → 'diffusion' term, mask = masked tokens;
//   answers: hidden states before each labelled token → lm_head → 'text' term.
import type { TaskBatch } from '../../data/tasks/tensors';
import { PROMPTS, type TaskKind } from '../../data/tasks/kinds';
import { encodeChat, GENERATION_TAG, IMAGE_TAG } from '../../data/tokenizer/chat';
import { sceneTokenizer } from '../../data/tokenizer/scene-vocabulary';
import type { TextTokenizer } from '../../data/tokenizer/types';
import { cosineAlphaBars, noisedInput, scheduleAt } from '../../losses/noise';
import { noGrad } from '../../torch/autograd';
import { getRngState, manualSeed, setRngState } from '../../torch/backend';
import * as creation from '../../torch/creation';
import { TorchError } from '../../torch/errors';
import * as F from '../../torch/functional';
import { dispose, keep, tidy } from '../../torch/scope';
import { Tensor } from '../../torch/tensor';
import { createCodec } from '../codecs';
import type { ImageCodec } from '../codecs/types';
import { greedyAnswers } from '../common/greedy';
import { generationPrompt } from '../common/prompts';
import { placeAt, scaleGrad, shiftTargets, takeAt } from '../common/sequence';
import type { Adapter, AnswerOptions, BatchFormat, CreateOptions, ForwardOutput, GenerateOptions, LossTerm, TrainablePolicy } from '../types';
import { codecConfig, imagePositions, type MarDiffusionConfig, seqLen } from './config';
import { sampleTokens } from './diffusion-head';
import { randomMasking, randomRanks } from './mar';
import { HarmonModel } from './model';
import type { Device } from '../../torch/dtype';

const OP = 'mar-diffusion';

function fail(msg: string): never {
  throw new TorchError(`${OP}: ${msg}`, OP);
}

/** Right-padded rows of ids with their image masks. */
interface Rows { ids: Tensor; attentionMask: Tensor; conditionMask: Tensor; generationMask: Tensor }

function rowsToTensors(rows: { ids: number[]; conditionMask: ArrayLike<number>; generationMask: ArrayLike<number> }[], padId: number, device: Device): Rows {
  const B = rows.length;
  const L = Math.max(...rows.map((r) => r.ids.length));
  const ids = new BigInt64Array(B * L).fill(BigInt(padId));
  const att = new Uint8Array(B * L), cond = new Uint8Array(B * L), gen = new Uint8Array(B * L);
  rows.forEach((r, b) => r.ids.forEach((id, i) => {
    ids[b * L + i] = BigInt(id); att[b * L + i] = 1;
    cond[b * L + i] = r.conditionMask[i] ?? 0; gen[b * L + i] = r.generationMask[i] ?? 0;
  }));
  const d = { shape: [B, L], device: device };
  return tidy(() => ({
    ids: creation.tensor(ids, d),
    attentionMask: creation.tensor(att, d).to('bool'),
    conditionMask: creation.tensor(cond, d).to('bool'),
    generationMask: creation.tensor(gen, d).to('bool'),
  }));
}

/** Per-row counts of a bool [B, L] mask. */
function rowCounts(mask: Tensor): number[] {
  return tidy(() => Array.from(mask.sum(1).toArray() as BigInt64Array, Number));
}

export class MarDiffusionAdapter implements Adapter {
  readonly family = 'mar-diffusion' as const;
  readonly model: HarmonModel;
  readonly codec: ImageCodec;
  readonly tokenizer: TextTokenizer;
  readonly batchFormat: BatchFormat;
  /** ᾱ of the training schedule [numTimesteps]. */
  private readonly alphaBars: Tensor;
  private readonly oneDim: Set<string>;
  /** Whether the codec was built here (then dispose() frees it) or passed in (the caller's). */
  private readonly ownsCodec: boolean;

  constructor(readonly config: MarDiffusionConfig, opts: CreateOptions = {}) {
    const c = config;
    const tokenizer = opts.tokenizer ?? sceneTokenizer();
    if (tokenizer.vocabSize > c.vocabSize) {
      throw new RangeError(`mar-diffusion config: vocabSize ${c.vocabSize} is smaller than the tokenizer's ${tokenizer.vocabSize} tokens (set model.vocabSize to at least ${tokenizer.vocabSize})`);
    }
    for (const t of [IMAGE_TAG, GENERATION_TAG]) {
      if (tokenizer.tokenToId(t) === undefined) throw new RangeError(`mar-diffusion: the tokenizer has no '${t}' placeholder token`);
    }
    const codec = opts.codec ?? createCodec(codecConfig(c));
    if (codec.kind !== 'continuous') throw new RangeError(`mar-diffusion needs a continuous codec (an autoencoder), got kind '${codec.kind}'`);
    const mismatch: string[] = [];
    if (codec.imageSize !== c.imageSize) mismatch.push(`imageSize ${codec.imageSize} (config ${c.imageSize})`);
    if (codec.numTokens !== seqLen(c)) mismatch.push(`numTokens ${codec.numTokens} (config ${seqLen(c)} = (imageSize / patchSize)²)`);
    if (codec.latentDim !== c.latentDim) mismatch.push(`latentDim ${codec.latentDim} (config ${c.latentDim})`);
    if (mismatch.length > 0) throw new RangeError(`mar-diffusion: the codec does not fit the config: ${mismatch.join(', ')}`);
    for (const p of codec.parameters()) p.requiresGrad = false;

    manualSeed(opts.seed ?? 0);
    this.tokenizer = tokenizer;
    this.codec = codec;
    this.ownsCodec = opts.codec === undefined;
    this.model = new HarmonModel(c, codec);
    if (opts.device && opts.device !== 'cpu') this.model.to(opts.device);
    this.alphaBars = keep(tidy(() => cosineAlphaBars(c.numTimesteps).to(opts.device ?? 'cpu')));
    this.oneDim = new Set(this.model.namedParameters().filter(([, p]) => p.shape.length === 1).map(([n]) => n));
    const P = imagePositions(c);
    this.batchFormat = { conditionSize: c.imageSize, generationSize: c.imageSize, conditionTokens: P, generationTokens: P, normalization: 'siglip', template: c.template };
    this.model.train(true);
  }

  // ---- training ----------------------------------------------------------------------------

  forward(batch: TaskBatch): ForwardOutput {
    const c = this.config;
    const m = this.model;
    const P = imagePositions(c);
    const N = seqLen(c);
    const [B, L] = batch.inputIds.shape;
    const S = c.imageSize;
    const cs = batch.conditionImages.shape;
    if (cs.length !== 4 || cs[0] !== B || cs[1] !== 3 || cs[2] !== S || cs[3] !== S) {
      fail(`conditionImages must be [${B}, 3, ${S}, ${S}] (the batch format's conditionSize), got [${cs.join(', ')}]`);
    }
    const condCounts = rowCounts(batch.conditionMask);
    const genCounts = rowCounts(batch.generationMask);
    condCounts.forEach((n, b) => { if (n !== 0 && n !== P) fail(`row ${b} has ${n} condition-image positions; this adapter uses ${P} (batchFormat.conditionTokens)`); });
    genCounts.forEach((n, b) => { if (n !== 0 && n !== P) fail(`row ${b} has ${n} generated-image positions; this adapter uses ${P} (batchFormat.generationTokens)`); });
    const genRows = genCounts.flatMap((n, b) => (n > 0 ? [b] : []));
    const G = genRows.length;
    const targetRows = G > 0 ? Array.from(batch.targetRows.toArray() as BigInt64Array, Number) : [];
    if (G > 0) {
      const ts = batch.targetImages?.shape;
      if (!ts || ts.length !== 4 || ts[0] !== G || ts[1] !== 3 || ts[2] !== S || ts[3] !== S) {
        fail(`targetImages must be [${G}, 3, ${S}, ${S}] for the ${G} generation rows, got ${ts ? `[${ts.join(', ')}]` : 'null'}`);
      }
      if (targetRows.length !== G || targetRows.some((r, i) => r !== genRows[i])) fail(`targetRows [${targetRows.join(', ')}] do not match the rows with generated-image positions [${genRows.join(', ')}]`);
    }
    const device = batch.inputIds.device;

    return tidy(() => {
      let embeds = m.llm.model.embedTokens.forward(batch.inputIds);
      let attention = batch.attentionMask;
      // Condition images: MAR-encoded without masking; the LLM's gradient into them scaled.
      const condRows = condCounts.flatMap((n, b) => (n > 0 ? [b] : []));
      if (condRows.length > 0) {
        let images = batch.conditionImages;
        if (condRows.length !== B) images = images.indexSelect(0, creation.tensor(BigInt64Array.from(condRows, BigInt), { device: device }));
        const { z } = m.visualFeatures(this.codec.encode(images), null);
        embeds = placeAt(embeds, batch.conditionMask, scaleGrad(z, c.conditionGradScale));
      }
      const terms: LossTerm[] = [];
      let gen: { xEnc: Tensor; mask: Tensor; latents: Tensor } | null = null;
      if (G > 0) {
        const latents = this.codec.encode(batch.targetImages!);
        const mask = randomMasking(G, N, c.maskRatioMin, device);
        const { xEnc, z } = m.visualFeatures(latents, mask);
        embeds = placeAt(embeds, batch.generationMask, z);
        // Masked tokens' positions are hidden from every query (MAR drops them from the sequence).
        const hiddenRows = F.cat([mask, creation.zeros([G, c.bufferSize], { dtype: 'bool', device: device })], 1).float();
        const hide = placeAt(creation.zeros([B, L, 1], { device: device }), batch.generationMask, hiddenRows.reshape([-1, 1])).squeeze(-1).gt(0.5);
        attention = attention.logicalAnd(hide.logicalNot());
        gen = { xEnc, mask, latents };
      }
      const hidden = m.llm.model.forwardEmbeds(embeds, { attentionMask: attention });

      // Answers: the hidden state before each labelled token.
      const shifted = shiftTargets(batch.labels, batch.taskIds);
      const valid = shifted.targets.ne(-100).reshape([B, L - 1]);
      if (Boolean(valid.any().item())) {
        const h = takeAt(hidden.narrow(1, 0, L - 1), valid);
        const pick = (t: Tensor) => takeAt(t.reshape([B, L - 1, 1]), valid).reshape([-1]);
        terms.push({ kind: 'cross-entropy', name: 'text', logits: m.llm.lmHead.forward(h), targets: pick(shifted.targets), taskIds: pick(shifted.taskIds) });
      }

      // Generation: per-token diffusion loss on the masked tokens.
      if (gen !== null) {
        const zLlm = takeAt(hidden, batch.generationMask).reshape([G, P, c.hiddenSize]);
        const cond = m.decoderConditions(gen.xEnc, zLlm, gen.mask).reshape([G * N, c.decoderEmbedDim]);
        const k = c.diffusionBatchMul;
        const x0 = gen.latents.reshape([G * N, c.latentDim]).repeat(k, 1);
        const noise = creation.randnLike(x0);
        const t = creation.randint(0, c.numTimesteps, [G * N * k], { device: device });
        const xt = noisedInput(x0, noise, t, 'eps', scheduleAt(this.alphaBars, t));
        const pred = m.mar.diffloss.net.eps(xt, t.float(), cond.repeat(k, 1));
        const rowTasks = batch.rowTasks.indexSelect(0, batch.targetRows);
        terms.push({
          kind: 'diffusion', name: 'diffusion', pred, target: noise, repeat: k,
          taskIds: rowTasks.unsqueeze(1).expand(G, N).reshape([-1]),
          mask: gen.mask.reshape([-1]).float(),
        });
      }
      if (terms.length === 0) fail('the batch has neither answer labels nor generated-image positions: nothing to learn');
      return { terms };
    });
  }

  // ---- evaluation --------------------------------------------------------------------------

  private checkImages(images: Tensor, what: string): void {
    const s = images?.shape;
    const S = this.config.imageSize;
    if (!(images instanceof Tensor) || s.length !== 4 || s[1] !== 3 || s[2] !== S || s[3] !== S) {
      fail(`${what}: images must be a tensor [B, 3, ${S}, ${S}] in [-1, 1], got ${images instanceof Tensor ? `[${s.join(', ')}]` : typeof images}`);
    }
  }

  /** Runs fn in eval mode and no-grad, restoring the previous mode. */
  private evaluating<T>(fn: () => T): T {
    const was = this.model.training;
    this.model.eval();
    try { return noGrad(fn); } finally { this.model.train(was); }
  }

  answer(images: Tensor, questions: string[], opts: AnswerOptions = {}): string[] {
    this.checkImages(images, 'answer');
    const m = this.model;
    return this.evaluating(() => {
      const z = keep(tidy(() => m.visualFeatures(this.codec.encode(images), null).z));
      try {
        return greedyAnswers(this.tokenizer, this.batchFormat, images, questions, { lm: m.llm, features: z }, opts);
      } finally {
        z.dispose();
      }
    });
  }

  generate(images: Tensor, prompt: Exclude<TaskKind, 'understanding'> | { text: string }, opts: GenerateOptions = {}): Tensor {
    this.checkImages(images, 'generate');
    const c = this.config;
    const text = typeof prompt === 'object' && prompt !== null ? prompt.text : PROMPTS[prompt as keyof typeof PROMPTS]?.[0];
    if (typeof text !== 'string') fail(`generate: prompt must be reconstruction, depth, segmentation or { text }, got ${String(prompt)}`);
    const steps = opts.steps ?? c.generationSteps;
    const cfg = opts.cfg ?? c.cfg;
    const temperature = opts.temperature ?? c.temperature;
    const seed = opts.seed ?? 0;
    if (!Number.isInteger(steps) || steps < 1) fail(`generate: steps must be a positive integer, got ${steps}`);
    if (!(cfg >= 1) || !Number.isFinite(cfg)) fail(`generate: cfg must be a finite number >= 1, got ${cfg}`);
    if (!(temperature >= 0) || !Number.isFinite(temperature)) fail(`generate: temperature must be a finite number >= 0, got ${temperature}`);
    if (!Number.isInteger(seed)) fail(`generate: seed must be an integer, got ${seed}`);
    const rng = getRngState();
    manualSeed(seed);
    try {
      return this.evaluating(() => tidy(() => this.sample(images, text, steps, cfg, temperature)));
    } finally {
      setRngState(rng);
      rng.dispose();
    }
  }

  /** Harmon's sample(): iterative MAR decoding with the cosine mask schedule (no KV cache). */
  private sample(images: Tensor, text: string, steps: number, cfg: number, temperature: number): Tensor {
    const c = this.config;
    const m = this.model;
    const B = images.shape[0];
    const N = seqLen(c);
    const P = imagePositions(c);
    const device = images.device;
    const guided = cfg > 1;
    const cond = generationPrompt(this.tokenizer, this.batchFormat, text);
    const rows: { ids: number[]; conditionMask: ArrayLike<number>; generationMask: ArrayLike<number> }[] = Array.from({ length: B }, () => cond);
    if (guided) {
      // The unconditional branch: an empty prompt and no image.
      const enc = encodeChat(this.tokenizer, [{ user: '', assistant: { image: 'generation' } }],
        { template: c.template, conditionTokens: P, generationTokens: P });
      const end = enc.generationMask.lastIndexOf(1) + 1;
      const uncond = { ids: enc.ids.slice(0, end), conditionMask: enc.conditionMask.slice(0, end), generationMask: enc.generationMask.slice(0, end) };
      for (let b = 0; b < B; b++) rows.push(uncond);
    }
    const R = rows.length;
    const seq = rowsToTensors(rows, this.tokenizer.padId, device);
    const L = seq.ids.shape[1];
    const zCond = m.visualFeatures(this.codec.encode(images), null).z;
    const base = placeAt(m.llm.model.embedTokens.forward(seq.ids), seq.conditionMask, zCond);
    const ranks = randomRanks(B, N, device);
    const both = (t: Tensor) => (guided ? F.cat([t, t], 0) : t);
    let tokens = creation.zeros([B, N, c.latentDim], { device: device });
    let unknown = creation.ones([B, N], { dtype: 'bool', device: device });
    let remaining = N;
    for (let step = 0; step < steps && remaining > 0; step++) {
      const next = tidy(() => {
        const mask = both(unknown);
        const { xEnc, z } = m.visualFeatures(both(tokens), mask);
        const embeds = placeAt(base, seq.generationMask, z);
        const hiddenRows = F.cat([mask, creation.zeros([R, c.bufferSize], { dtype: 'bool', device: device })], 1).float();
        const hide = placeAt(creation.zeros([R, L, 1], { device: device }), seq.generationMask, hiddenRows.reshape([-1, 1])).squeeze(-1).gt(0.5);
        const hidden = m.llm.model.forwardEmbeds(embeds, { attentionMask: seq.attentionMask.logicalAnd(hide.logicalNot()) });
        const zDec = m.decoderConditions(xEnc, takeAt(hidden, seq.generationMask).reshape([R, P, c.hiddenSize]), mask);
        // Mask ratio for the next round (MaskGIT's cosine schedule); at least one token revealed.
        const last = step === steps - 1;
        const maskLen = last ? 0 : Math.max(1, Math.min(remaining - 1, Math.floor(N * Math.cos((Math.PI / 2) * (step + 1) / steps))));
        const unknownNext = ranks.lt(maskLen);
        const toPred = last ? unknown : unknown.logicalAnd(unknownNext.logicalNot());
        const count = last ? remaining : remaining - maskLen;
        if (count === 0) return { tokens: tokens.clone(), unknown: unknownNext, remaining: maskLen };
        const zc = takeAt(zDec.narrow(0, 0, B), toPred);
        const zu = guided ? takeAt(zDec.narrow(0, B, B), toPred) : null;
        const head = m.mar.diffloss.net;
        const sampled = sampleTokens(count * B, c.latentDim, (x, t) => {
          if (zu === null) return head.eps(x, t, zc);
          return tidy(() => {
            const [ec, eu] = head.eps(F.cat([x, x], 0), F.cat([t, t], 0), F.cat([zc, zu], 0)).chunk(2, 0);
            return eu.add(ec.sub(eu).mul(cfg));
          });
        }, { total: c.numTimesteps, steps: c.samplingSteps, sampler: c.sampler, temperature, clip: c.clipDenoised }, device);
        return { tokens: placeAt(tokens, toPred, sampled), unknown: unknownNext, remaining: last ? 0 : maskLen };
      });
      dispose([tokens, unknown]);
      tokens = next.tokens;
      unknown = next.unknown;
      remaining = next.remaining;
    }
    return this.codec.decode(tokens).clamp(-1, 1);
  }

  // ---- parameters and state ----------------------------------------------------------------

  /**
   * Both policies give every parameter but the codec's (Harmon has no other part to hold back:
   * post-training updates the LLM, the MAR encoder/decoder, the projections and the head).
   */
  trainableParameters(policy: TrainablePolicy = 'post-training'): [string, Tensor][] {
    if (policy !== 'post-training' && policy !== 'all') throw new RangeError(`unknown trainable policy '${String(policy)}' (expected post-training or all)`);
    return this.model.namedParameters().filter(([n, p]) => !n.startsWith('vae.') && p.requiresGrad);
  }

  /** No weight decay on biases, norms (1-D parameters) and the diffusion head (the published setting). */
  noDecay(name: string): boolean {
    return name.endsWith('.bias') || this.oneDim.has(name) || name.startsWith('mar.diffloss.');
  }

  stateDict(): Record<string, Tensor> { return this.model.stateDict(); }
  load(sd: Record<string, Tensor>, opts: { strict?: boolean } = {}): void { this.model.loadStateDict(sd, opts); }
  train(mode = true): void { this.model.train(mode); }
  eval(): void { this.model.eval(); }
  /** Frees the model's tensors; a codec passed to create() stays the caller's (it may be shared). */
  dispose(): void {
    if (this.ownsCodec) this.model.dispose();
    else dispose(this.model.namedParameters().filter(([n]) => !n.startsWith('vae.')).map(([, p]) => p).concat(this.model.llm.buffers(), this.model.mar.buffers()));
    this.alphaBars.dispose();
  }
}

