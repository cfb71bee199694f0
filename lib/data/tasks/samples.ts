// One task sample from one record: the conversation or prompt encoded with the chat template
// (prompt tokens labelled -100), the condition image preprocessed for the vision encoder and,
// for generation tasks, the target image in [-1, 1].
import type { ImageF32 } from '../ndarray';
import { generationImage, type NormalizationName, type Normalization, understandingImage } from '../preprocess';
import type { Filter } from '../resize';
import { Rng } from '../rng';
import { type ChatTurn, encodeChat, type EncodeChatOptions, IMAGE_TAG } from '../tokenizer/chat';
import type { TextTokenizer } from '../tokenizer/types';
import { GENERIC_PROMPT_RATE, generationPrompt, isGeneration, TASK_ID, type TaskKind } from './kinds';
import type { DataRecord, Turn } from './records';

export interface SampleOptions extends EncodeChatOptions {
  /** Side of the condition image fed to the vision encoder. Default 256. */
  conditionSize?: number;
  /** Side of generation targets. Default 256. */
  generationSize?: number;
  /** The adapter's vision-encoder statistics (default 'siglip': [-1, 1]). */
  normalization?: NormalizationName | Normalization;
  /**
   * How a generation task's condition image becomes square. Default 'stretch', like its target,
   * so input and target stay pixel-aligned; understanding images are always padded.
   */
  generationConditionSquare?: 'pad' | 'stretch';
  conditionFilter?: Filter;
  generationFilter?: Filter;
  /** Rate of the generic reconstruction prompt (default 0.1). */
  genericPromptRate?: number;
  /** Most turns per understanding sample (a seeded subset, order kept). Default all. */
  maxTurns?: number;
}

export interface HostSample {
  task: TaskKind;
  id: string;
  ids: number[];
  labels: number[];
  conditionMask: Uint8Array;
  generationMask: Uint8Array;
  /** float32 [3, conditionSize, conditionSize] */
  condition: ImageF32;
  /** float32 [3, generationSize, generationSize] in [-1, 1]; null for understanding. */
  target: ImageF32 | null;
}

/** Whether a record can serve a task (it must have been read for that task, see RecordSource). */
export function serves(r: DataRecord, task: TaskKind): boolean {
  switch (task) {
    case 'understanding': return (r.conversation?.length ?? 0) > 0;
    case 'reconstruction': return true;
    case 'depth': return r.depth !== undefined;
    case 'segmentation': return r.segmentation !== undefined;
    default: return false;
  }
}

/** LLaVA's convention: the image tag moves to the front of the first user turn. */
function withImageFirst(turns: readonly Turn[]): ChatTurn[] {
  return turns.map((t, i) => {
    const text = t.user.split(IMAGE_TAG).join('').trim();
    return { user: i === 0 ? `${IMAGE_TAG}\n${text}` : text, assistant: t.assistant };
  });
}

function chooseTurns(turns: readonly Turn[], max: number | undefined, rng: Rng): Turn[] {
  if (max === undefined || turns.length <= max) return turns.slice();
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxTurns must be a positive integer, got ${max}`);
  const keep = rng.shuffled(turns.map((_, i) => i)).slice(0, max).sort((a, b) => a - b);
  return keep.map((i) => turns[i]);
}

/** The sample of `task` made from record r at stream position `position`; null if r cannot serve it. */
export function buildSample(r: DataRecord, task: TaskKind, position: number, seed: number, tok: TextTokenizer, o: SampleOptions = {}): HostSample | null {
  if (!serves(r, task)) return null;
  const rng = new Rng(seed, 0x7a5c, TASK_ID[task], position);
  const condSize = o.conditionSize ?? 256;
  const genSize = o.generationSize ?? 256;
  let turns: ChatTurn[];
  let target: ImageF32 | null = null;
  const understanding = !isGeneration(task);
  if (understanding) {
    turns = withImageFirst(chooseTurns(r.conversation!, o.maxTurns, rng));
  } else {
    const prompt = generationPrompt(task as Exclude<TaskKind, 'understanding'>, rng, o.genericPromptRate ?? GENERIC_PROMPT_RATE);
    turns = [{ user: `${IMAGE_TAG}\n${prompt}`, assistant: { image: 'generation' } }];
    const src = task === 'reconstruction' ? r.image : task === 'depth' ? r.depth! : r.segmentation!;
    target = generationImage(src, { size: genSize, filter: o.generationFilter });
  }
  const condition = understandingImage(r.image, {
    size: condSize,
    normalization: o.normalization,
    square: understanding ? 'pad' : (o.generationConditionSquare ?? 'stretch'),
    filter: o.conditionFilter,
  });
  const enc = encodeChat(tok, turns, o);
  return { task, id: r.id, ...enc, condition, target };
}
