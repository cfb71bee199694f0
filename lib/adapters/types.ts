// The one interface the UniMRG trainer and evaluator see: an adapter hides which family of
// unified multimodal model it drives. forward() turns a batch of any mix of the four tasks into
// loss terms for the fused losses; answer() and generate() are what evaluation needs.
import type { TaskBatch } from '../data/tasks/tensors';
import type { TaskKind } from '../data/tasks/kinds';
import type { TextTokenizer } from '../data/tokenizer/types';
import type { NormalizationName } from '../data/preprocess';
import type { Module } from '../nn/module';
import type { Tensor } from '../torch/tensor';
import type { CodecConfig } from './codecs';
import type { ImageCodec } from './codecs/types';

export const FAMILIES = ['autoregressive-vq', 'mar-diffusion', 'query-diffusion'] as const;
export type Family = (typeof FAMILIES)[number];

/**
 * One input of a fused loss. Token rows carry their task id (TASK_ID), so one term can mix
 * tasks; the trainer weights each task and sums the terms.
 */
export type LossTerm =
  | {
    kind: 'cross-entropy';
    /** e.g. 'text' (answers) or 'image' (visual tokens). */
    name: string;
    /** [N, V] */
    logits: Tensor;
    /** [N] int64, -100 = ignored. */
    targets: Tensor;
    /** [N] int64 task ids. */
    taskIds: Tensor;
  }
  | {
    kind: 'linear-cross-entropy';
    name: string;
    /** [N, H]: the logits are hidden @ weightᵀ (+ bias), never materialised. */
    hidden: Tensor;
    /** [V, H] */
    weight: Tensor;
    bias?: Tensor | null;
    targets: Tensor;
    taskIds: Tensor;
  }
  | {
    kind: 'diffusion';
    name: string;
    /** [N * repeat, C] the network's prediction (ε, v or velocity). */
    pred: Tensor;
    /** [N * repeat, C] */
    target: Tensor;
    /** [N] task id of each token. */
    taskIds: Tensor;
    /** [N] per-token weight (e.g. MAR's masked positions), optional. */
    mask?: Tensor | null;
    /** Noise draws per token. */
    repeat: number;
  };

export interface ForwardOutput {
  terms: LossTerm[];
}

/** What the data pipeline must produce for this adapter (see data.TaskBatcher options). */
export interface BatchFormat {
  conditionSize: number;
  generationSize: number;
  conditionTokens: number;
  generationTokens: number;
  normalization: NormalizationName;
  template: 'plain' | 'qwen';
}

/**
 * Sizes of a config's model computed from the config alone, so a published-size preset can be
 * inspected on a laptop. Every family's `describe(config)` returns this, with its own extras.
 */
export interface ModelDescription {
  /** Parameter elements per top-level part, by its name in the state dict (the codec included). */
  parameters: Record<string, number>;
  /** All parameter elements: model.numParameters() of the built model. */
  total: number;
  /** Elements the 'post-training' policy updates (never the codec). */
  trainable: number;
  batchFormat: BatchFormat;
}

export interface AnswerOptions {
  /** Most new tokens (default 8: scene answers are one or two words). */
  maxNewTokens?: number;
}

export interface GenerateOptions {
  /** Sampling seed (default 0): the same seed gives the same image. */
  seed?: number;
  /** Decoding / sampling steps (family default when omitted). */
  steps?: number;
  /** Classifier-free guidance scale (1 = none). */
  cfg?: number;
  /** Sampling temperature for discrete tokens (0 = greedy). */
  temperature?: number;
}

/**
 * 'post-training' (UniMRG): the LLM, the encoders it shares and the generation heads; never the
 * image codec. 'all': every parameter except the codec (which is fitted, not trained).
 */
export type TrainablePolicy = 'post-training' | 'all';

export interface Adapter {
  readonly family: Family;
  /** The whole model; its parameter names follow the published checkpoint layout. */
  readonly model: Module;
  /** The frozen image codec (its parameters are part of the state dict, never trained). */
  readonly codec: ImageCodec;
  readonly tokenizer: TextTokenizer;
  readonly batchFormat: BatchFormat;
  /**
   * Loss terms for a batch of any mix of the four tasks. Records autograd unless in no-grad mode.
   * A term may reference a parameter (a linear cross-entropy's weight): free outputs with tidy()
   * or disposeForwardOutput(), never by disposing every tensor in them.
   */
  forward(batch: TaskBatch): ForwardOutput;
  /**
   * Greedy answers. images: condition images as the batch has them (normalised,
   * [B, 3, conditionSize, conditionSize]); questions: one per image.
   */
  answer(images: Tensor, questions: string[], opts?: AnswerOptions): string[];
  /** Images [B, 3, generationSize, generationSize] in [-1, 1] for a task's prompt (or a prompt text). */
  generate(images: Tensor, prompt: Exclude<TaskKind, 'understanding'> | { text: string }, opts?: GenerateOptions): Tensor;
  /** Named parameters to optimise under a policy (frozen ones have requiresGrad false). */
  trainableParameters(policy?: TrainablePolicy): [string, Tensor][];
  /** Parameter names that get no weight decay (biases, norms, diffusion heads, embeddings of queries). */
  noDecay(name: string): boolean;
  stateDict(): Record<string, Tensor>;
  load(sd: Record<string, Tensor>, opts?: { strict?: boolean }): void;
  train(mode?: boolean): void;
  eval(): void;
  dispose(): void;
}

export interface CreateOptions {
  /**
   * The fitted image codec (`unimrg tokenizer`, codecs.fitCodecOnScenes). Omitted: the family
   * builds an unfitted codec of the config's shape, to be filled by load() from a checkpoint.
   */
  codec?: ImageCodec;
  /** The text tokenizer (default: the embedded scenes' word tokenizer). */
  tokenizer?: TextTokenizer;
  /** Seeds parameter initialisation (default 0). */
  seed?: number;
  device?: 'cpu' | 'cuda' | `cuda:${number}`;
}

/** What each family module exports as `definition`; adapters.create() dispatches on it. */
export interface FamilyDefinition<C extends object = object> {
  readonly family: Family;
  /** 'tiny' (2 CPU cores, minutes, 64 px), 'small', and one shaped like the published model. */
  readonly presets: Readonly<Record<string, C>>;
  /** A preset overridden by fields of `overrides`; throws a RangeError naming every bad field. */
  resolveConfig(preset: string, overrides?: Partial<C>): C;
  /** The shape of the image codec this config's model reads and writes (what `unimrg tokenizer` fits). */
  codecConfig(config: C): CodecConfig;
  create(config: C, opts?: CreateOptions): Adapter;
}
