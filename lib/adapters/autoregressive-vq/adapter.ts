// The autoregressive-vq adapter (Janus-Pro style): understanding through the SigLIP encoder and
// aligner into the LLM, generation as next-token prediction of the VQ codec's codes through
// gen_embed → gen_aligner (inputs) and gen_head (outputs).
//
// Sequence layout of a generation row (teacher forcing), with the N placeholders p_0 … p_{N−1}
// the batch marks in generationMask and the target's codes c_0 … c_{N−1}:
//   input at p_0 = gen_image_start (learned; Janus puts the <begin_of_image> token there)
//   input at p_i = gen_aligner(gen_embed(c_{i−1}))           for i ≥ 1
//   gen_head(hidden at p_i) predicts c_i
// so the hidden state at a position predicts the code of the next image position, and the
// placeholders hold exactly the N inputs of the N predictions.
import { IMAGE_TAG, encodeChat } from '../../data/tokenizer/chat';
import { sceneTokenizer } from '../../data/tokenizer/scene-vocabulary';
import type { TextTokenizer } from '../../data/tokenizer/types';
import { Rng } from '../../data/rng';
import type { TaskKind } from '../../data/tasks/kinds';
import type { TaskBatch } from '../../data/tasks/tensors';
import { KVCache } from '../../nn/kv-cache';
import { noGrad } from '../../torch/autograd';
import * as creation from '../../torch/creation';
import * as F from '../../torch/functional';
import { keep, tidy } from '../../torch/scope';
import type { Tensor } from '../../torch/tensor';
import { createCodec, type CodecConfig } from '../codecs';
import type { ImageCodec } from '../codecs/types';
import { checkBatch, checkCodec, checkImages, checkPolicy, checkSeed, checkTokenizer, fail as failIn, generateOptions, promptText } from '../common/checks';
import { withSeed } from '../common/seed';
import { greedyAnswers } from '../common/greedy';
import { generationPrompt } from '../common/prompts';
import { answerRows, placeAt, scaleGrad, takeAt } from '../common/sequence';
import type { Adapter, AnswerOptions, BatchFormat, CreateOptions, ForwardOutput, GenerateOptions, LossTerm, TrainablePolicy } from '../types';
import { batchFormatOf, codecConfig, type AutoregressiveVQConfig } from './config';
import { JanusModel } from './model';

const FAMILY = 'autoregressive-vq';
const CODEC_PREFIX = 'gen_vision_model.';
const VISION_PREFIX = 'vision_model.';

const fail = (message: string): never => failIn(FAMILY, message);

export class AutoregressiveVQAdapter implements Adapter {
  readonly family = FAMILY;
  readonly model: JanusModel;
  readonly codec: ImageCodec;
  readonly tokenizer: TextTokenizer;
  readonly batchFormat: BatchFormat;

  constructor(readonly config: AutoregressiveVQConfig, opts: CreateOptions = {}) {
    const c = config;
    this.tokenizer = opts.tokenizer ?? sceneTokenizer();
    checkTokenizer(FAMILY, this.tokenizer, c.vocabSize);
    const seed = checkSeed(FAMILY, opts.seed ?? 0);
    if (opts.codec !== undefined) checkCodec(FAMILY, opts.codec, codecConfig(c));
    // Initialisation is seeded without disturbing the caller's random stream.
    this.model = withSeed(seed, () => {
      const codec = opts.codec ?? createCodec({ ...codecConfig(c), seed } as CodecConfig);
      codec.freeze();
      const model = new JanusModel(c, c.vocabSize ?? this.tokenizer.vocabSize, codec);
      if (!c.trainVisionEncoder) model.visionModel.freeze();
      return model;
    });
    if (opts.device !== undefined && opts.device !== 'cpu') this.model.to(opts.device);
    this.model.genVisionModel.eval();
    this.codec = this.model.genVisionModel;
    this.batchFormat = batchFormatOf(c);
  }

  // ---- training --------------------------------------------------------------------------

  /**
   * Loss terms of a batch: 'text' (lm_head on answer tokens, next-token aligned) and 'image'
   * (gen_head on the generation placeholders against the codec's codes of targetImages). Both
   * terms are always present (a term without valid tokens contributes 0).
   */
  forward(batch: TaskBatch): ForwardOutput {
    return tidy(() => {
      const m = this.model;
      const B = batch.inputIds.shape[0];
      const { conditionRows, generationRows } = checkBatch(FAMILY, batch, this.batchFormat);
      // Every row is conditioned on its image (the condition features fill all B rows).
      if (conditionRows.length !== B) fail(`every row needs its condition image's ${this.batchFormat.conditionTokens} positions; only rows [${conditionRows.join(', ')}] of ${B} have them`);
      const G = generationRows.length;

      let embeds = m.languageModel.model.embedTokens.forward(batch.inputIds);
      const cond = scaleGrad(m.conditionFeatures(batch.conditionImages), this.config.conditionGradScale);
      embeds = placeAt(embeds, batch.conditionMask, cond);
      let codes: Tensor | null = null;
      if (G > 0) {
        codes = this.codec.encode(batch.targetImages!); // [G, N], no autograd
        embeds = placeAt(embeds, batch.generationMask, this.teacherInputs(codes));
      }
      const hidden = m.languageModel.model.forwardEmbeds(embeds);

      // 'text': the hidden state at i predicts labels[i + 1]; only answer tokens are kept.
      const text = answerRows(hidden, batch.labels, batch.taskIds);
      const terms: LossTerm[] = [this.headTerm('text', this.config.textLoss, text.hidden, text.targets, text.taskIds)];

      // 'image': gen_head at each placeholder predicts that position's code.
      const genHidden = takeAt(hidden, batch.generationMask);
      const genTargets = codes === null ? creation.zeros([0], { dtype: 'int64', device: hidden.device }) : codes.reshape([-1]);
      const genTasks = takeAt(batch.taskIds.unsqueeze(-1), batch.generationMask).reshape([-1]);
      terms.push(this.headTerm('image', this.config.imageLoss, genHidden, genTargets, genTasks));
      return { terms };
    });
  }

  /** The N teacher-forced inputs [G, N, dim] for code rows [G, N]: start, then codes 0 … N−2. */
  private teacherInputs(codes: Tensor): Tensor {
    return tidy(() => {
      const [G, N] = codes.shape;
      const start = this.model.genImageStart.view(1, 1, -1).expand(G, 1, -1);
      if (N === 1) return start.contiguous();
      return F.cat([start, this.model.codeEmbeddings(codes.narrow(1, 0, N - 1))], 1);
    });
  }

  private headTerm(name: 'text' | 'image', kind: AutoregressiveVQConfig['textLoss'], hidden: Tensor, targets: Tensor, taskIds: Tensor): LossTerm {
    const m = this.model;
    if (name === 'text') {
      // Views of the parameters: a caller that disposes the forward output frees only these.
      const weight = m.languageModel.lmHead.weight;
      if (kind === 'linear-cross-entropy') return { kind, name, hidden, weight: weight.view(weight.shape), bias: null, targets, taskIds };
      return { kind, name, logits: m.languageModel.lmHead.forward(hidden), targets, taskIds };
    }
    const head = m.genHead;
    if (kind === 'linear-cross-entropy') {
      const w = head.visionHead.weight;
      const b = head.visionHead.bias!;
      return { kind, name, hidden: head.features(hidden), weight: w.view(w.shape), bias: b.view(b.shape), targets, taskIds };
    }
    return { kind, name, logits: head.forward(hidden), targets, taskIds };
  }

  // ---- evaluation ------------------------------------------------------------------------

  answer(images: Tensor, questions: string[], opts?: AnswerOptions): string[] {
    checkImages(FAMILY, 'answer', images, this.batchFormat.conditionSize);
    const feats = noGrad(() => keep(this.model.conditionFeatures(images)));
    try {
      return greedyAnswers(this.tokenizer, this.batchFormat, images, questions, { lm: this.model.languageModel, features: feats }, opts);
    } finally {
      feats.dispose();
    }
  }

  /**
   * Samples the codec's numTokens codes one at a time and decodes them. temperature 0 is greedy
   * (default 1, as Janus); otherwise codes are drawn from softmax(logits / temperature) by a
   * generator seeded with opts.seed. cfg > 1 adds an unconditional row per image (the prompt's
   * words and the condition image replaced by padding) and samples from
   * uncond + cfg · (cond − uncond).
   */
  generate(images: Tensor, prompt: Exclude<TaskKind, 'understanding'> | { text: string }, opts: GenerateOptions = {}): Tensor {
    checkImages(FAMILY, 'generate', images, this.batchFormat.conditionSize);
    const text = promptText(FAMILY, prompt);
    const N = this.codec.numTokens;
    const { seed, cfg, temperature, steps } = generateOptions(FAMILY, opts, { steps: N, cfg: 1, temperature: 1 });
    if (steps !== N) fail(`generate: steps must equal the codec's ${N} tokens (one code per step), got ${steps}`);

    const B = images.shape[0];
    const guided = cfg > 1;
    const rows = this.generationRows(text, guided);
    const rng = new Rng(seed, 0x6a6e73);
    const codes = new BigInt64Array(B * N);
    const m = this.model;
    const device = images.device;
    const wasTraining = m.training;
    m.eval();
    try {
      return noGrad(() => tidy(() => {
        // The prompt part of every row: text embeddings with the condition features in place.
        const feats = m.conditionFeatures(images);
        const idRows = guided ? [...Array(B).fill(rows.cond), ...Array(B).fill(rows.uncond!)] : Array(B).fill(rows.cond);
        const condMaskRows = guided ? [...Array(B).fill(rows.condMask), ...Array(B).fill(new Uint8Array(rows.cond.length))] : Array(B).fill(rows.condMask);
        const R = idRows.length;
        const S = rows.cond.length;
        const ids = creation.tensor(BigInt64Array.from(idRows.flat(), BigInt), { shape: [R, S], device });
        const cmask = creation.tensor(Uint8Array.from(condMaskRows.flatMap((r: Uint8Array) => Array.from(r))), { shape: [R, S], device }).to('bool');
        const prefix = placeAt(m.languageModel.model.embedTokens.forward(ids), cmask, feats);
        // Every row has the same length and grows by one code per step: the first step runs the
        // prompt and the image-start token, each later one only the previous code (key/value cache).
        const lm = m.languageModel.model;
        const cache = new KVCache(lm.layers.length);
        let inputs = keep(F.cat([prefix, m.genImageStart.view(1, 1, -1).expand(R, 1, -1)], 1));
        try {
          for (let k = 0; k < N; k++) {
            const next = tidy(() => {
              const out = lm.forwardEmbeds(inputs, { cache });
              const h = out.select(1, out.shape[1] - 1);
              let logits = m.genHead.forward(h).float();
              if (guided) {
                const c = logits.narrow(0, 0, B);
                const u = logits.narrow(0, B, B);
                logits = u.add(c.sub(u).mul(cfg));
              }
              return sampleRows(logits, temperature, rng);
            });
            for (let b = 0; b < B; b++) codes[b * N + k] = BigInt(next[b]);
            if (k === N - 1) break;
            const code = tidy(() => {
              const c = creation.tensor(BigInt64Array.from(guided ? [...next, ...next] : next, BigInt), { shape: [R, 1], device });
              return keep(m.codeEmbeddings(c));
            });
            inputs.dispose();
            inputs = code;
          }
        } finally {
          cache.dispose();
          inputs.dispose();
        }
        const ct = creation.tensor(codes, { shape: [B, N], device });
        return this.codec.decode(ct).clamp(-1, 1);
      }));
    } finally {
      m.train(wasTraining);
      this.codec.eval();
    }
  }

  /**
   * Prompt ids up to the first image position, its condition mask, and (guided) the
   * unconditional row: the same ids with the prompt's own tokens and the condition
   * placeholders replaced by padding (the template's tokens stay, so positions line up).
   */
  private generationRows(text: string, guided: boolean): { cond: number[]; condMask: Uint8Array; uncond: number[] | null } {
    const f = this.batchFormat;
    const enc = generationPrompt(this.tokenizer, f, text);
    const S = enc.generationStart;
    const cond = enc.ids.slice(0, S);
    const condMask = enc.conditionMask.slice(0, S);
    if (!guided) return { cond, condMask, uncond: null };
    // The prompt's tokens are where the encodings with and without it differ.
    const empty = encodeChat(this.tokenizer, [{ user: `${IMAGE_TAG}\n`, assistant: { image: 'generation' } }],
      { template: f.template, conditionTokens: f.conditionTokens, generationTokens: f.generationTokens });
    const e = empty.ids.slice(0, empty.generationMask.indexOf(1));
    let a = 0;
    while (a < e.length && a < cond.length && e[a] === cond[a]) a++;
    let z = 0;
    while (z < e.length - a && z < cond.length - a && e[e.length - 1 - z] === cond[cond.length - 1 - z]) z++;
    const pad = this.tokenizer.padId;
    const uncond = cond.map((id, i) => (condMask[i] || (i >= a && i < cond.length - z) ? pad : id));
    return { cond, condMask, uncond };
  }

  // ---- parameters and state --------------------------------------------------------------

  trainableParameters(policy: TrainablePolicy = 'post-training'): [string, Tensor][] {
    checkPolicy(FAMILY, policy);
    return this.model.namedParameters().filter(([n, p]) => {
      if (n.startsWith(CODEC_PREFIX) || !p.requiresGrad) return false;
      return policy === 'all' || this.config.trainVisionEncoder || !n.startsWith(VISION_PREFIX);
    });
  }

  /** Biases, norms and the learned image-start embedding get no weight decay. */
  noDecay(name: string): boolean {
    return name.endsWith('.bias') || /(^|\.)[a-z_]*(norm|layernorm)[a-z_0-9]*\./.test(name) || name === 'gen_image_start';
  }

  stateDict(): Record<string, Tensor> { return this.model.stateDict(); }

  load(sd: Record<string, Tensor>, opts: { strict?: boolean } = {}): void {
    this.model.loadStateDict(sd, opts);
  }

  train(mode = true): void {
    this.model.train(mode);
    this.codec.eval();
  }

  eval(): void { this.train(false); }

  dispose(): void { this.model.dispose(); }
}

/** One code per row of logits [B, V]: argmax (temperature 0) or a draw from softmax(logits / T). */
function sampleRows(logits: Tensor, temperature: number, rng: Rng): number[] {
  const [B, V] = logits.shape;
  if (temperature === 0) return Array.from(logits.argmax(-1).toArray() as BigInt64Array, Number);
  const p = logits.div(temperature).softmax(-1).to('float64').toArray() as Float64Array;
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    const u = rng.next();
    let acc = 0;
    let pick = V - 1;
    for (let j = 0; j < V; j++) {
      acc += p[b * V + j];
      if (u < acc) { pick = j; break; }
    }
    out.push(pick);
  }
  return out;
}

