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
import type { TaskKind } from '../../data/tasks/kinds';
import { encodeChat } from '../../data/tokenizer/chat';
import { sceneTokenizer } from '../../data/tokenizer/scene-vocabulary';
import type { TextTokenizer } from '../../data/tokenizer/types';
import { cosineAlphaBars, noisedInput, scheduleAt } from '../../losses/noise';
import { noGrad } from '../../torch/autograd';
import { manualSeed } from '../../torch/backend';
import * as creation from '../../torch/creation';
import * as F from '../../torch/functional';
import { dispose, keep, tidy } from '../../torch/scope';
import type { Tensor } from '../../torch/tensor';
import { createCodec } from '../codecs';
import type { ImageCodec } from '../codecs/types';
import { checkBatch, checkCodec, checkImages, checkPolicy, checkSeed, checkTokenizer, generateOptions, promptText } from '../common/checks';
import { padRows, type PromptRow } from '../common/collate';
import { withSeed } from '../common/seed';
import { greedyAnswers } from '../common/greedy';
import { generationPrompt } from '../common/prompts';
import { answerRows, placeAt, scaleGrad, takeAt } from '../common/sequence';
import type { Adapter, AnswerOptions, BatchFormat, CreateOptions, ForwardOutput, GenerateOptions, LossTerm, TrainablePolicy } from '../types';
import { batchFormatOf, codecConfig, imagePositions, type MarDiffusionConfig, seqLen } from './config';
import { sampleTokens } from './diffusion-head';
import { randomMasking, randomRanks } from './mar';
import { HarmonModel } from './model';

const FAMILY = 'mar-diffusion';

export class MarDiffusionAdapter implements Adapter {
  readonly family = FAMILY;
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
    checkTokenizer(FAMILY, tokenizer, c.vocabSize);
    const seed = checkSeed(FAMILY, opts.seed ?? 0);
    if (opts.codec !== undefined) checkCodec(FAMILY, opts.codec, codecConfig(c));
    const codec = opts.codec ?? createCodec(codecConfig(c));
    for (const p of codec.parameters()) p.requiresGrad = false;

    // Seeded here and left seeded (unlike the other families): the random stream after
    // construction is part of what a mar-diffusion run with a given seed reproduces.
    manualSeed(seed);
    this.tokenizer = tokenizer;
    this.codec = codec;
    this.ownsCodec = opts.codec === undefined;
    this.model = new HarmonModel(c, codec);
    if (opts.device && opts.device !== 'cpu') this.model.to(opts.device);
    this.alphaBars = keep(tidy(() => cosineAlphaBars(c.numTimesteps).to(opts.device ?? 'cpu')));
    this.oneDim = new Set(this.model.namedParameters().filter(([, p]) => p.shape.length === 1).map(([n]) => n));
    this.batchFormat = batchFormatOf(c);
    this.model.train(true);
  }

  // ---- training ----------------------------------------------------------------------------

  forward(batch: TaskBatch): ForwardOutput {
    const c = this.config;
    const m = this.model;
    const P = imagePositions(c);
    const N = seqLen(c);
    const [B, L] = batch.inputIds.shape;
    const { conditionRows: condRows, generationRows: genRows } = checkBatch(FAMILY, batch, this.batchFormat);
    const G = genRows.length;
    const device = batch.inputIds.device;

    return tidy(() => {
      let embeds = m.llm.model.embedTokens.forward(batch.inputIds);
      let attention = batch.attentionMask;
      // Condition images: MAR-encoded without masking; the LLM's gradient into them scaled.
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
      const text = answerRows(hidden, batch.labels, batch.taskIds);
      if (text.targets.shape[0] > 0) {
        terms.push({ kind: 'cross-entropy', name: 'text', logits: m.llm.lmHead.forward(text.hidden), targets: text.targets, taskIds: text.taskIds });
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
      if (terms.length === 0) throw new RangeError(`${FAMILY}: the batch has neither answer labels nor generated-image positions: nothing to learn`);
      return { terms };
    });
  }

  // ---- evaluation --------------------------------------------------------------------------

  /** Runs fn in eval mode and no-grad, restoring the previous mode. */
  private evaluating<T>(fn: () => T): T {
    const was = this.model.training;
    this.model.eval();
    try { return noGrad(fn); } finally { this.model.train(was); }
  }

  answer(images: Tensor, questions: string[], opts: AnswerOptions = {}): string[] {
    checkImages(FAMILY, 'answer', images, this.config.imageSize);
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
    const c = this.config;
    checkImages(FAMILY, 'generate', images, c.imageSize);
    const text = promptText(FAMILY, prompt);
    const { seed, steps, cfg, temperature } = generateOptions(FAMILY, opts, { steps: c.generationSteps, cfg: c.cfg, temperature: c.temperature });
    return withSeed(seed, () => this.evaluating(() => tidy(() => this.sample(images, text, steps, cfg, temperature))));
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
    const rows: PromptRow[] = Array.from({ length: B }, () => cond);
    if (guided) {
      // The unconditional branch: an empty prompt and no image.
      const enc = encodeChat(this.tokenizer, [{ user: '', assistant: { image: 'generation' } }],
        { template: c.template, conditionTokens: P, generationTokens: P });
      const end = enc.generationMask.lastIndexOf(1) + 1;
      const uncond = { ids: enc.ids.slice(0, end), conditionMask: enc.conditionMask.slice(0, end), generationMask: enc.generationMask.slice(0, end) };
      for (let b = 0; b < B; b++) rows.push(uncond);
    }
    const R = rows.length;
    const seq = padRows(rows, this.tokenizer.padId, device, 'right');
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
    checkPolicy(FAMILY, policy);
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

