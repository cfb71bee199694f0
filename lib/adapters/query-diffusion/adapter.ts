// The query-diffusion adapter (MetaQuery / OpenUni style): condition-image features enter the
// LLM at the condition placeholders (gradient × conditionGradScale), learnable queries sit at
// the generation placeholders, the connector turns the LLM's hidden states at the queries into
// the condition of a SANA-style DiT that decodes the codec's continuous latents by flow matching.
// Answers are the 'text' term through lm_head; generation is the 'diffusion' term.
import { PROMPTS } from '../../data/tasks/kinds';
import type { TaskKind } from '../../data/tasks/kinds';
import type { TaskBatch } from '../../data/tasks/tensors';
import { sceneTokenizer } from '../../data/tokenizer/scene-vocabulary';
import type { TextTokenizer } from '../../data/tokenizer/types';
import { LayerNorm, RMSNorm } from '../../nn/normalization';
import { noGrad } from '../../torch/autograd';
import { getRngState, manualSeed, setRngState } from '../../torch/backend';
import * as creation from '../../torch/creation';
import { isFloating } from '../../torch/dtype';
import * as F from '../../torch/functional';
import { dispose, keep, tidy } from '../../torch/scope';
import { Tensor } from '../../torch/tensor';
import { createCodec } from '../codecs';
import type { ImageCodec } from '../codecs/types';
import { greedyAnswers } from '../common/greedy';
import { generationPrompt } from '../common/prompts';
import { shiftTargets } from '../common/sequence';
import type { Adapter, AnswerOptions, BatchFormat, CreateOptions, ForwardOutput, GenerateOptions, LossTerm, TrainablePolicy } from '../types';
import { codecConfig, conditionTokens, type QueryDiffusionConfig } from './config';
import { eulerSample, flowPair, sampleTimes, seededNoise } from './flow';
import { QueryDiffusionModel } from './model';

/** The codec a config needs; a given codec must match it. */
function checkCodec(codec: ImageCodec, c: QueryDiffusionConfig): void {
  const want = `a continuous codec for ${c.generationSize} px images with ${c.codec.patchSize} px tokens of ${c.codec.latentDim} channels`;
  const problems: string[] = [];
  if (codec.kind !== 'continuous') problems.push(`kind '${codec.kind}'`);
  if (codec.imageSize !== c.generationSize) problems.push(`imageSize ${codec.imageSize}`);
  if (codec.gridSize !== c.generationSize / c.codec.patchSize) problems.push(`gridSize ${codec.gridSize}`);
  if (codec.latentDim !== c.codec.latentDim) problems.push(`latentDim ${codec.latentDim}`);
  if (problems.length) throw new RangeError(`query-diffusion needs ${want}; the given codec has ${problems.join(', ')}`);
}

export class QueryDiffusionAdapter implements Adapter {
  readonly family = 'query-diffusion' as const;
  readonly model: QueryDiffusionModel;
  readonly codec: ImageCodec;
  readonly tokenizer: TextTokenizer;
  readonly batchFormat: BatchFormat;
  private readonly normNames: Set<string>;
  /** A codec passed in CreateOptions stays the caller's: dispose() leaves it alive. */
  private readonly ownsCodec: boolean;

  constructor(readonly config: QueryDiffusionConfig, opts: CreateOptions = {}) {
    const c = config;
    this.tokenizer = opts.tokenizer ?? sceneTokenizer();
    const vocab = c.llm.vocabSize || this.tokenizer.vocabSize;
    if (this.tokenizer.vocabSize > vocab) {
      throw new RangeError(`llm.vocabSize ${vocab} is smaller than the tokenizer's vocabulary (${this.tokenizer.vocabSize} tokens)`);
    }
    const f = { device: opts.device };
    if (opts.codec) checkCodec(opts.codec, c);
    if (opts.seed !== undefined && !Number.isInteger(opts.seed)) throw new RangeError(`seed must be an integer, got ${opts.seed}`);
    const codec = opts.codec ?? createCodec(codecConfig(c), f);
    this.codec = codec;
    this.ownsCodec = opts.codec === undefined;
    this.model = withSeed(opts.seed ?? 0, () => new QueryDiffusionModel(c, vocab, codec, f));
    for (const p of codec.parameters()) p.requiresGrad = false;
    codec.eval();
    this.batchFormat = {
      conditionSize: c.conditionSize, generationSize: c.generationSize,
      conditionTokens: conditionTokens(c), generationTokens: c.numQueries,
      normalization: c.normalization, template: c.template,
    };
    this.normNames = new Set();
    for (const [prefix, m] of this.model.namedModules()) {
      if (m instanceof LayerNorm || m instanceof RMSNorm) for (const [n] of m.namedParameters(prefix)) this.normNames.add(n);
    }
  }

  // ---- training ------------------------------------------------------------------------------

  forward(batch: TaskBatch): ForwardOutput {
    const c = this.config;
    const B = batch.inputIds.shape[0];
    const s = batch.conditionImages.shape;
    if (s.length !== 4 || s[0] !== B || s[2] !== c.conditionSize || s[3] !== c.conditionSize) {
      throw new RangeError(`query-diffusion: conditionImages must be [${B}, 3, ${c.conditionSize}, ${c.conditionSize}], got [${s.join(', ')}] (batchFormat.conditionSize)`);
    }
    const G = batch.targetImages === null ? 0 : batch.targetImages.shape[0];
    if (G > 0) {
      const t = batch.targetImages!.shape;
      if (t[2] !== c.generationSize || t[3] !== c.generationSize) {
        throw new RangeError(`query-diffusion: targetImages must be [G, 3, ${c.generationSize}, ${c.generationSize}], got [${t.join(', ')}] (batchFormat.generationSize)`);
      }
    }
    const terms = tidy(() => {
      const m = this.model;
      const hidden = m.hidden({
        ids: batch.inputIds, attentionMask: batch.attentionMask, conditionMask: batch.conditionMask,
        generationMask: batch.generationMask, images: batch.conditionImages, generationRows: G,
      });
      const L = hidden.shape[1];
      const D = c.llm.dim;
      const shifted = shiftTargets(batch.labels, batch.taskIds);
      const lm = m.llm.lmHead;
      const out: LossTerm[] = [{
        kind: 'linear-cross-entropy', name: 'text',
        hidden: hidden.narrow(1, 0, L - 1).reshape([-1, D]), weight: lm.weight, bias: lm.bias,
        targets: shifted.targets, taskIds: shifted.taskIds,
      }];
      if (G > 0) out.push(this.diffusionTerm(hidden, batch, G));
      return out;
    });
    return { terms };
  }

  /** Flow matching on the codec's latents of the G targets, k noise draws each (draw-major rows). */
  private diffusionTerm(hidden: Tensor, batch: TaskBatch, G: number): LossTerm {
    const c = this.config;
    const m = this.model;
    return tidy(() => {
      let caption = m.condition(hidden, batch.generationMask, G);
      const p = c.flow.conditionDropout;
      if (m.training && p > 0) {
        // Classifier-free guidance: a dropped row's condition is all zeros (the unconditional input at sampling).
        const keepRows = creation.rand([G], { device: caption.device }).ge(p).to(caption.dtype);
        caption = caption.mul(keepRows.view(G, 1, 1));
      }
      const context = m.transformer.context(caption);
      const x0 = this.codec.encode(batch.targetImages!).to(hidden.dtype); // [G, T, C], no grad
      const [, T, C] = x0.shape;
      const k = c.flow.repeat;
      const x0k = k === 1 ? x0 : x0.repeat([k, 1, 1]);
      const ctxk = k === 1 ? context : context.repeat([k, 1, 1]);
      const t = sampleTimes(k * G, c.flow, x0.device);
      const { xt, target } = flowPair(x0k, t);
      const pred = m.transformer.forward(xt, t, ctxk);
      const rowTasks = batch.rowTasks.indexSelect(0, batch.targetRows);
      const taskIds = rowTasks.unsqueeze(1).expand(G, T).reshape([-1]);
      return { kind: 'diffusion', name: 'diffusion', pred: pred.reshape([-1, C]), target: target.reshape([-1, C]), taskIds, repeat: k } as LossTerm;
    });
  }

  trainableParameters(policy: TrainablePolicy = 'post-training'): [string, Tensor][] {
    if (policy !== 'post-training' && policy !== 'all') throw new RangeError(`unknown trainable policy '${String(policy)}' (expected 'post-training' or 'all')`);
    const { lmm, transformer } = this.config.freeze;
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.model.namedParameters()) {
      const frozen = n.startsWith('vae.')
        || (policy === 'post-training' && ((lmm && n.startsWith('lmm.')) || (transformer && n.startsWith('transformer.'))));
      if (!isFloating(p.dtype)) continue;
      p.requiresGrad = !frozen;
      if (!frozen) out.push([n, p]);
    }
    return out;
  }

  /** Biases, norms (every LayerNorm / RMSNorm parameter), the queries, the DiT's timestep embedding and its adaLN tables. */
  noDecay(name: string): boolean {
    return name.endsWith('.bias') || this.normNames.has(name) || name === 'meta_queries'
      || name.startsWith('transformer.time_embed.') || name.endsWith('scale_shift_table');
  }

  // ---- evaluation ----------------------------------------------------------------------------

  answer(images: Tensor, questions: string[], opts: AnswerOptions = {}): string[] {
    this.checkImages(images, 'answer');
    const m = this.model;
    const feats = noGrad(() => tidy(() => keep(m.conditionFeatures(images))));
    try {
      return greedyAnswers(this.tokenizer, this.batchFormat, images, questions, { lm: m.llm, features: feats }, opts);
    } finally {
      dispose(feats);
    }
  }

  generate(images: Tensor, prompt: Exclude<TaskKind, 'understanding'> | { text: string }, opts: GenerateOptions = {}): Tensor {
    this.checkImages(images, 'generate');
    const c = this.config;
    const text = typeof prompt === 'string' ? PROMPTS[prompt]?.[0] : prompt?.text;
    if (typeof text !== 'string') throw new RangeError(`generate: prompt must be 'reconstruction', 'depth', 'segmentation' or { text }, got ${JSON.stringify(prompt)}`);
    const steps = opts.steps ?? c.sampling.steps;
    const cfg = opts.cfg ?? c.sampling.cfg;
    const seed = opts.seed ?? 0;
    if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`generate: steps must be a positive integer, got ${steps}`);
    if (!Number.isFinite(cfg) || cfg < 0) throw new RangeError(`generate: cfg must be a finite number >= 0, got ${cfg}`);
    const m = this.model;
    const B = images.shape[0];
    const enc = generationPrompt(this.tokenizer, this.batchFormat, text);
    return noGrad(() => tidy(() => {
      const L = enc.ids.length;
      const d = { device: images.device };
      const rep = <T extends ArrayLike<number>>(a: T) => Array.from({ length: B }, () => Array.from(a)).flat();
      const ids = creation.tensor(BigInt64Array.from(rep(enc.ids), BigInt), { shape: [B, L], ...d });
      const condMask = creation.tensor(Uint8Array.from(rep(enc.conditionMask)), { shape: [B, L], ...d }).to('bool');
      const genMask = creation.tensor(Uint8Array.from(rep(enc.generationMask)), { shape: [B, L], ...d }).to('bool');
      const hidden = m.hidden({ ids, attentionMask: null, conditionMask: condMask, generationMask: genMask, images, generationRows: B });
      const caption = m.condition(hidden, genMask, B);
      const ctx = m.transformer.context(caption);
      const ctxNull = m.transformer.context(creation.zerosLike(caption));
      const both = cfg !== 1 ? F.cat([ctx, ctxNull], 0) : ctx;
      const grid = this.codec.gridSize;
      const noise = seededNoise([B, grid * grid, this.codec.latentDim!], seed, images.device);
      const latents = eulerSample(noise, steps, cfg, (x, t) => m.transformer.forward(x, t, both));
      return this.codec.decode(latents).clamp(-1, 1);
    }));
  }

  private checkImages(images: Tensor, op: string): void {
    const c = this.config;
    if (!(images instanceof Tensor)) throw new RangeError(`${op}: images must be a Tensor [B, 3, ${c.conditionSize}, ${c.conditionSize}]`);
    const s = images.shape;
    if (s.length !== 4 || s[1] !== 3 || s[2] !== c.conditionSize || s[3] !== c.conditionSize) {
      throw new RangeError(`${op}: images must be [B, 3, ${c.conditionSize}, ${c.conditionSize}] (normalised condition images), got [${s.join(', ')}]`);
    }
  }

  // ---- state ---------------------------------------------------------------------------------

  stateDict(): Record<string, Tensor> { return this.model.stateDict(); }
  load(sd: Record<string, Tensor>, opts: { strict?: boolean } = {}): void { this.model.loadStateDict(sd, opts); }
  train(mode = true): void { this.model.train(mode); this.codec.eval(); }
  eval(): void { this.model.eval(); }
  /** Frees the model's tensors; a codec given in CreateOptions is left to its owner. */
  dispose(): void {
    const codecParams = new Set<Tensor>([...this.codec.parameters(), ...this.codec.buffers()]);
    dispose([...this.model.parameters(), ...this.model.buffers()].filter((t) => this.ownsCodec || !codecParams.has(t)));
  }
}

/** Runs fn with the global generator seeded (parameter initialisation), restoring its state afterwards. */
function withSeed<T>(seed: number, fn: () => T): T {
  const saved = getRngState();
  try {
    manualSeed(seed);
    return fn();
  } finally {
    setRngState(saved);
    saved.dispose();
  }
}
