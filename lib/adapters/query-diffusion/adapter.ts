// The query-diffusion adapter (MetaQuery / OpenUni style): condition-image features enter the
// LLM at the condition placeholders (gradient × conditionGradScale), learnable queries sit at
// the generation placeholders, the connector turns the LLM's hidden states at the queries into
// the condition of a SANA-style DiT that decodes the codec's continuous latents by flow matching.
// Answers are the 'text' term through lm_head; generation is the 'diffusion' term.
import type { TaskKind } from '../../data/tasks/kinds';
import type { TaskBatch } from '../../data/tasks/tensors';
import { sceneTokenizer } from '../../data/tokenizer/scene-vocabulary';
import type { TextTokenizer } from '../../data/tokenizer/types';
import { LayerNorm, RMSNorm } from '../../nn/normalization';
import { noGrad } from '../../torch/autograd';
import * as creation from '../../torch/creation';
import { isFloating } from '../../torch/dtype';
import * as F from '../../torch/functional';
import { dispose, keep, tidy } from '../../torch/scope';
import type { Tensor } from '../../torch/tensor';
import { createCodec } from '../codecs';
import type { ImageCodec } from '../codecs/types';
import { checkBatch, checkCodec, checkImages, checkPolicy, checkSeed, checkTokenizer, generateOptions, promptText } from '../common/checks';
import { padRows } from '../common/collate';
import { greedyAnswers } from '../common/greedy';
import { generationPrompt } from '../common/prompts';
import { withSeed } from '../common/seed';
import { answerRows } from '../common/sequence';
import type { Adapter, AnswerOptions, BatchFormat, CreateOptions, ForwardOutput, GenerateOptions, LossTerm, TrainablePolicy } from '../types';
import { batchFormatOf, codecConfig, type QueryDiffusionConfig } from './config';
import { eulerSample, flowPair, sampleTimes, seededNoise } from './flow';
import { QueryDiffusionModel } from './model';

const FAMILY = 'query-diffusion';

export class QueryDiffusionAdapter implements Adapter {
  readonly family = FAMILY;
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
    // llm.vocabSize 0: the text head is sized by the tokenizer.
    checkTokenizer(FAMILY, this.tokenizer, c.llm.vocabSize || null, 'llm.vocabSize');
    const vocab = c.llm.vocabSize || this.tokenizer.vocabSize;
    const seed = checkSeed(FAMILY, opts.seed ?? 0);
    if (opts.codec !== undefined) checkCodec(FAMILY, opts.codec, codecConfig(c));
    const f = { device: opts.device };
    const codec = opts.codec ?? createCodec(codecConfig(c), f);
    this.codec = codec;
    this.ownsCodec = opts.codec === undefined;
    this.model = withSeed(seed, () => new QueryDiffusionModel(c, vocab, codec, f));
    for (const p of codec.parameters()) p.requiresGrad = false;
    codec.eval();
    this.batchFormat = batchFormatOf(c);
    this.normNames = new Set();
    for (const [prefix, m] of this.model.namedModules()) {
      if (m instanceof LayerNorm || m instanceof RMSNorm) for (const [n] of m.namedParameters(prefix)) this.normNames.add(n);
    }
  }

  // ---- training ------------------------------------------------------------------------------

  forward(batch: TaskBatch): ForwardOutput {
    const G = checkBatch(FAMILY, batch, this.batchFormat).generationRows.length;
    const terms = tidy(() => {
      const m = this.model;
      const hidden = m.hidden({
        ids: batch.inputIds, attentionMask: batch.attentionMask, conditionMask: batch.conditionMask,
        generationMask: batch.generationMask, images: batch.conditionImages, generationRows: G,
      });
      const text = answerRows(hidden, batch.labels, batch.taskIds);
      const lm = m.llm.lmHead;
      const out: LossTerm[] = [{ kind: 'linear-cross-entropy', name: 'text', hidden: text.hidden, weight: lm.weight, bias: lm.bias, targets: text.targets, taskIds: text.taskIds }];
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
    checkPolicy(FAMILY, policy);
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
    checkImages(FAMILY, 'answer', images, this.config.conditionSize);
    const m = this.model;
    const feats = noGrad(() => tidy(() => keep(m.conditionFeatures(images))));
    try {
      return greedyAnswers(this.tokenizer, this.batchFormat, images, questions, { lm: m.llm, features: feats }, opts);
    } finally {
      dispose(feats);
    }
  }

  generate(images: Tensor, prompt: Exclude<TaskKind, 'understanding'> | { text: string }, opts: GenerateOptions = {}): Tensor {
    const c = this.config;
    checkImages(FAMILY, 'generate', images, c.conditionSize);
    const text = promptText(FAMILY, prompt);
    // cfg below 1 is allowed here: the velocity is extrapolated either way (cfg 1 = no guidance).
    const { seed, steps, cfg } = generateOptions(FAMILY, opts, { steps: c.sampling.steps, cfg: c.sampling.cfg, temperature: 0 }, 0);
    const m = this.model;
    const B = images.shape[0];
    const enc = generationPrompt(this.tokenizer, this.batchFormat, text);
    return noGrad(() => tidy(() => {
      const p = padRows(Array.from({ length: B }, () => enc), this.tokenizer.padId, images.device, 'right');
      const ids = p.ids, condMask = p.conditionMask, genMask = p.generationMask;
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
