// The UniMRG training configuration: one zod schema (JSON files and CLI flags both end here),
// presets that set the scale, and the published optimiser settings as defaults.
import { z } from 'zod';
import { FAMILIES } from '../adapters/types';
import { TASKS, type TaskKind } from '../data/tasks/kinds';
import { type Device, DEVICE_PATTERN } from '../torch/dtype';

/** Loader threads: more than this only multiplies memory (10,000 exhausted V8's heap at 11 GB). */
export const MAX_WORKERS = 64;
/** Samples per micro-batch and micro-batches per step. */
export const MAX_BATCH = 65536;

const perTask = (d: number) => z.object({
  understanding: z.number().min(0).default(d),
  reconstruction: z.number().min(0).default(d),
  depth: z.number().min(0).default(d),
  segmentation: z.number().min(0).default(d),
}).strict();

export const TrainConfigSchema = z.object({
  family: z.enum(FAMILIES).default('autoregressive-vq'),
  /** The adapter preset (model sizes); see adapters.presets. */
  preset: z.string().default('tiny'),
  /** Overrides of the adapter preset's fields. */
  model: z.record(z.unknown()).default({}),
  /** Start from this checkpoint directory or model .safetensors (the base UMM). */
  base: z.string().optional(),
  /** The fitted image codec file (`unimrg tokenizer`); needed when `base` does not hold one. */
  codec: z.string().optional(),
  data: z.object({
    source: z.enum(['scenes', 'llava']).default('scenes'),
    /**
     * LLaVA-style folder (source llava): `images/`, and `depth/` and `mask/` mirroring it when
     * present (the layout `unimrg label` writes), with the conversations in `json`.
     */
    path: z.string().optional(),
    /** The conversations file (default `<path>/data.json`). */
    json: z.string().optional(),
    /** Training scenes (source scenes). */
    count: z.number().int().positive().default(4000),
    /**
     * Most question–answer turns per understanding sample (a seeded subset, in order); default all.
     * Evaluation asks one question per image: a model trained only on whole conversations learns
     * to lean on the earlier turns (docs/results/learning-curve.md), so 1 matches what it is asked.
     */
    maxTurns: z.number().int().positive().optional(),
    /** Loader worker threads (0: build batches on the training thread); each holds a V8 heap, hence the bound. */
    workers: z.number().int().min(0).max(MAX_WORKERS).default(1),
    /**
     * A Hugging Face tokenizer.json (or a model folder holding it) for the text; the model's text
     * vocabulary follows it. Default: the embedded scenes' word tokenizer (or the base run's).
     */
    tokenizer: z.object({ path: z.string(), pad: z.string().optional(), eos: z.string().optional() }).strict().optional(),
  }).strict().default({}),
  tasks: z.object({
    /** Loss weight per task (published: 1.0 each). 0 still trains nothing on that task. */
    weights: perTask(1).default({}),
    /** Sampling frequency per task; 0 leaves the task out (e.g. understanding only). */
    ratios: perTask(1).default({}),
  }).strict().default({}),
  batch: z.object({
    size: z.number().int().positive().max(MAX_BATCH).default(8),
    /**
     * per-task (the published protocol): every optimiser step holds one full micro-batch of each
     * trained task, so adding tasks adds samples and the understanding rows per step stay those
     * of an understanding-only run; interleave: one task per micro-batch, in turn, `accumulate`
     * micro-batches per step (the tasks share the step); mixed: the tasks share each micro-batch.
     */
    mode: z.enum(['per-task', 'interleave', 'mixed']).default('per-task'),
    /** Micro-batches per optimiser step (per-task: per task and step). */
    accumulate: z.number().int().positive().max(MAX_BATCH).default(1),
  }).strict().default({}),
  optim: z.object({
    lr: z.number().positive().optional(),
    betas: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).default([0.9, 0.95]),
    weightDecay: z.number().min(0).default(0.02),
    /** Warm-up as a fraction of the steps (published: 1%). */
    warmup: z.number().min(0).max(1).default(0.01),
    /** Gradient clipping by global norm (published: 1.0; 0 = off). */
    clip: z.number().min(0).default(1),
    /** The cosine ends at lr · minLrRatio (published: 0). */
    minLrRatio: z.number().min(0).max(1).default(0),
    /** Data parallel: shard AdamW's state over the ranks (ZeRO stage 1); no effect in one process. */
    zero: z.boolean().default(false),
  }).strict().default({}),
  steps: z.number().int().positive().optional(),
  /** Evaluate every N steps on `evalCount` val scenes (0: only at the end). */
  evalEvery: z.number().int().min(0).default(0),
  evalCount: z.number().int().positive().default(64),
  /** Save a checkpoint every N steps (0: only at the end). */
  checkpointEvery: z.number().int().min(0).default(0),
  seed: z.number().int().min(0).default(0),
  device: z.string().regex(DEVICE_PATTERN, 'device must be cpu, cuda or cuda:N').default('cpu').transform((d) => d as Device),
  /** bf16 autocast: auto = on for CUDA, off on CPU. */
  bf16: z.union([z.boolean(), z.literal('auto')]).default('auto'),
  /** The run directory (metrics.jsonl, checkpoints, evaluation). */
  out: z.string().default('runs/unimrg'),
}).strict();

export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
export type TrainConfig = z.output<typeof TrainConfigSchema> & { steps: number; optim: { lr: number } };

/** Scale per preset: learning rate (the published 1e-5 is for a 1.5B model) and step count. */
export const PRESET_DEFAULTS: Record<string, { lr: number; steps: number }> = {
  tiny: { lr: 1e-3, steps: 300 },
  mini: { lr: 6e-4, steps: 3000 },
  small: { lr: 3e-4, steps: 2000 },
};
const PUBLISHED = { lr: 1e-5, steps: 10000 };

/** A readable message from zod's issues: one line per bad field, with its path. */
export function formatIssues(e: z.ZodError): string {
  return e.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(config)'}: ${i.message}`).join('\n');
}

export function parseTrainConfig(input: unknown): TrainConfig {
  const r = TrainConfigSchema.safeParse(input ?? {});
  if (!r.success) throw new RangeError(`invalid training configuration:\n${formatIssues(r.error)}`);
  const c = r.data;
  const d = PRESET_DEFAULTS[c.preset] ?? PUBLISHED;
  if (c.data.source === 'llava' && c.data.path === undefined) throw new RangeError('invalid training configuration:\n  data.path: a LLaVA source needs the folder path');
  if (TASKS.every((t) => c.tasks.ratios[t] === 0)) throw new RangeError('invalid training configuration:\n  tasks.ratios: every task has ratio 0');
  const trained = TASKS.filter((t) => c.tasks.ratios[t] > 0);
  if (c.batch.mode === 'per-task' && TASKS.some((t) => c.tasks.ratios[t] !== 0 && c.tasks.ratios[t] !== 1)) {
    throw new RangeError('invalid training configuration:\n  tasks.ratios: per-task batching gives every trained task one micro-batch per step, so ratios must be 0 (left out) or 1; use batch.mode interleave or mixed for other ratios');
  }
  if (trained.every((t) => c.tasks.weights[t] === 0)) {
    throw new RangeError(`invalid training configuration:\n  tasks.weights: every trained task (${trained.join(', ')}) has weight 0, so the loss is zero and nothing would be learned`);
  }
  return { ...c, steps: c.steps ?? d.steps, optim: { ...c.optim, lr: c.optim.lr ?? d.lr } };
}

export const taskVector = (r: Record<TaskKind, number>): number[] => TASKS.map((t) => r[t]);
