// The checks every adapter makes of what it is given, with one error shape: a RangeError that
// starts with the family and names the field, option or batch part to change.
import { checkTask, PROMPTS, type TaskKind } from '../../data/tasks/kinds';
import type { TaskBatch } from '../../data/tasks/tensors';
import { GENERATION_TAG, IMAGE_TAG } from '../../data/tokenizer/chat';
import type { TextTokenizer } from '../../data/tokenizer/types';
import { tidy } from '../../torch/scope';
import { Tensor } from '../../torch/tensor';
import type { CodecConfig } from '../codecs';
import type { ImageCodec } from '../codecs/types';
import type { BatchFormat, Family, GenerateOptions, TrainablePolicy } from '../types';

export function fail(family: Family, message: string): never {
  throw new RangeError(`${family}: ${message}`);
}

/**
 * The tokenizer must fit the text head (`vocabSize` rows, the config's `field`; null: sized by the
 * tokenizer) and have both image placeholders.
 */
export function checkTokenizer(family: Family, tok: TextTokenizer, vocabSize: number | null, field = 'vocabSize'): void {
  if (vocabSize !== null && vocabSize < tok.vocabSize) {
    fail(family, `the config's ${field} ${vocabSize} is smaller than the tokenizer's ${tok.vocabSize} tokens (set it to at least ${tok.vocabSize})`);
  }
  for (const t of [IMAGE_TAG, GENERATION_TAG]) {
    if (tok.tokenToId(t) === undefined) fail(family, `the tokenizer has no '${t}' placeholder token`);
  }
}

/** A codec given in CreateOptions must be the kind and shape the config builds. */
export function checkCodec(family: Family, codec: ImageCodec, want: CodecConfig): void {
  if (codec.kind !== want.kind) fail(family, `the config needs a codec of kind '${want.kind}', got kind '${codec.kind}'`);
  const problems: string[] = [];
  if (codec.imageSize !== want.imageSize) problems.push(`imageSize: codec ${codec.imageSize}, config ${want.imageSize}`);
  const grid = want.imageSize / want.patchSize;
  if (codec.gridSize !== grid) problems.push(`patch size: the codec's grid is ${codec.gridSize} tokens a side, the config's ${grid}`);
  if (want.kind === 'vq' && codec.codebookSize !== want.codebookSize) problems.push(`codebookSize: codec ${codec.codebookSize}, config ${want.codebookSize}`);
  if (want.kind === 'continuous' && codec.latentDim !== want.latentDim) problems.push(`latentDim: codec ${codec.latentDim}, config ${want.latentDim}`);
  if (problems.length > 0) fail(family, `the codec does not match the config (${problems.join('; ')}); set these config fields to the codec's values`);
}

export function checkSeed(family: Family, seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isInteger(seed)) fail(family, `seed must be an integer, got ${String(seed)}`);
  return seed;
}

export function checkPolicy(family: Family, policy: unknown): TrainablePolicy {
  if (policy !== 'post-training' && policy !== 'all') fail(family, `unknown trainable policy '${String(policy)}' (expected 'post-training' or 'all')`);
  return policy;
}

/** Condition images for answer() / generate(): [B ≥ 1, 3, size, size], normalised as batches have them. */
export function checkImages(family: Family, op: string, images: unknown, size: number): asserts images is Tensor {
  if (!(images instanceof Tensor) || images.isDisposed) fail(family, `${op}: images must be a tensor [B, 3, ${size}, ${size}], got ${String(images)}`);
  const s = images.shape;
  if (s.length !== 4 || s[0] < 1 || s[1] !== 3 || s[2] !== size || s[3] !== size) {
    fail(family, `${op}: images must be [B, 3, ${size}, ${size}] (condition images, normalised as the batch has them), got [${s.join(', ')}]`);
  }
}

/** The text of a generation prompt: a generation task's first prompt, or { text }. */
export function promptText(family: Family, prompt: Exclude<TaskKind, 'understanding'> | { text: string }): string {
  if (typeof prompt === 'string') {
    const t = checkTask(prompt);
    if (t === 'understanding') fail(family, `generate: 'understanding' is not a generation task (use answer())`);
    return PROMPTS[t as Exclude<TaskKind, 'understanding'>][0];
  }
  if (prompt === null || typeof prompt !== 'object' || typeof prompt.text !== 'string') {
    fail(family, `generate: prompt must be 'reconstruction', 'depth', 'segmentation' or { text }, got ${JSON.stringify(prompt)}`);
  }
  return prompt.text;
}

/** generate()'s options with the family's defaults filled in; cfg below `minCfg` is refused. */
export function generateOptions(family: Family, o: GenerateOptions, defaults: Required<Omit<GenerateOptions, 'seed'>>, minCfg = 1): Required<GenerateOptions> {
  const r = { seed: o.seed ?? 0, steps: o.steps ?? defaults.steps, cfg: o.cfg ?? defaults.cfg, temperature: o.temperature ?? defaults.temperature };
  checkSeed(family, r.seed);
  if (!Number.isInteger(r.steps) || r.steps < 1) fail(family, `generate: steps must be a positive integer, got ${r.steps}`);
  if (typeof r.cfg !== 'number' || !Number.isFinite(r.cfg) || r.cfg < minCfg) fail(family, `generate: cfg must be a finite number >= ${minCfg}${minCfg === 1 ? ' (1 = no guidance)' : ''}, got ${r.cfg}`);
  if (typeof r.temperature !== 'number' || !Number.isFinite(r.temperature) || r.temperature < 0) fail(family, `generate: temperature must be a finite number >= 0 (0 = greedy), got ${r.temperature}`);
  return r;
}

/** Per-row counts of a bool [B, L] mask. */
function rowCounts(mask: Tensor): number[] {
  return tidy(() => Array.from(mask.sum(1).toArray() as BigInt64Array, Number));
}

/** The rows of a batch that hold a condition image and those that generate one (= targetRows). */
export interface BatchRows {
  conditionRows: number[];
  generationRows: number[];
}

/**
 * A training batch must be built for this adapter's batch format: each row holds 0 or all of an
 * image's positions, the images have the format's sizes, and the targets belong to the rows that
 * generate. Every message names the batcher option that fixes it.
 */
export function checkBatch(family: Family, batch: TaskBatch, f: BatchFormat): BatchRows {
  const [B, L] = batch.inputIds.shape;
  if (L < 2) fail(family, `a batch needs sequences of at least 2 tokens, got length ${L}`);
  const image = (what: string, t: Tensor | null, rows: number, size: number, option: string) => {
    const s = t?.shape;
    if (!s || s.length !== 4 || s[0] !== rows || s[1] !== 3 || s[2] !== size || s[3] !== size) {
      fail(family, `${what} must be [${rows}, 3, ${size}, ${size}], got ${s ? `[${s.join(', ')}]` : 'null'} (build the batcher with ${option}: ${size})`);
    }
  };
  image('conditionImages', batch.conditionImages, B, f.conditionSize, 'conditionSize');
  const rows = (mask: Tensor, n: number, what: string, option: string) => {
    const counts = rowCounts(mask);
    counts.forEach((k, b) => { if (k !== 0 && k !== n) fail(family, `row ${b} has ${k} ${what} positions, expected ${n} (build the batcher with ${option}: ${n})`); });
    return counts.flatMap((k, b) => (k > 0 ? [b] : []));
  };
  const conditionRows = rows(batch.conditionMask, f.conditionTokens, 'condition-image', 'conditionTokens');
  const generationRows = rows(batch.generationMask, f.generationTokens, 'generated-image', 'generationTokens');
  const G = generationRows.length;
  if (G === 0) {
    if (batch.targetImages !== null && batch.targetImages.shape[0] > 0) fail(family, `the batch has ${batch.targetImages.shape[0]} target images but no row with generated-image positions`);
    return { conditionRows, generationRows };
  }
  image('targetImages', batch.targetImages, G, f.generationSize, 'generationSize');
  const targetRows = Array.from(batch.targetRows.toArray() as BigInt64Array, Number);
  if (targetRows.length !== G || targetRows.some((r, i) => r !== generationRows[i])) {
    fail(family, `targetRows [${targetRows.join(', ')}] do not match the rows with generated-image positions [${generationRows.join(', ')}]`);
  }
  return { conditionRows, generationRows };
}
