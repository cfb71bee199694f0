// Host batches: samples padded into rectangular typed arrays. Everything here is plain memory
// (transferable between threads); tensors.ts turns a host batch into libtorch tensors.
import { int64FromInt32, ndarray, type NDArray } from '../ndarray';
import { IGNORE_INDEX } from '../tokenizer/chat';
import { TASK_ID, type TaskKind } from './kinds';
import type { BatchMode } from './schedule';
import type { HostSample } from './samples';

export interface HostBatch {
  index: number;
  mode: BatchMode;
  /** The batch's task in per-task and interleave modes, 'mixed' otherwise. */
  task: TaskKind | 'mixed';
  /** Record id of each row. */
  ids: string[];
  /** int64 [B, L] */
  inputIds: NDArray<'int64'>;
  /** int64 [B, L]: the token to predict at each position, -100 on prompt, image and pad tokens. */
  labels: NDArray<'int64'>;
  /** int64 [B, L]: TASK_ID of each token's row (pad tokens too; their labels are -100). */
  taskIds: NDArray<'int64'>;
  /** uint8 [B, L]: 1 for real tokens, 0 for padding (right padding). */
  attentionMask: NDArray<'uint8'>;
  /** uint8 [B, L]: 1 at condition-image placeholder positions. */
  conditionMask: NDArray<'uint8'>;
  /** uint8 [B, L]: 1 at generated-image placeholder positions. */
  generationMask: NDArray<'uint8'>;
  /** int64 [B]: TASK_ID of each row. */
  rowTasks: NDArray<'int64'>;
  /** float32 [B, 3, S, S]: every row's condition image, normalised for the vision encoder. */
  conditionImages: NDArray<'float32'>;
  /** float32 [G, 3, T, T] in [-1, 1]: targets of the generation rows, in row order; null if none. */
  targetImages: NDArray<'float32'> | null;
  /** int64 [G]: the row of each target. */
  targetRows: NDArray<'int64'>;
}

export interface CollateOptions {
  /** Pad the length up to a multiple of this (default 1). */
  padMultiple?: number;
  /** Longest sequence; longer understanding samples lose tokens from the end. Default no limit. */
  maxLength?: number;
}

export function collate(samples: readonly HostSample[], padId: number, meta: { index: number; mode: BatchMode }, o: CollateOptions = {}): HostBatch {
  const B = samples.length;
  if (B === 0) throw new RangeError('collate: no samples');
  const maxLength = o.maxLength ?? Infinity;
  const padMultiple = o.padMultiple ?? 1;
  if (!Number.isInteger(padMultiple) || padMultiple < 1) throw new RangeError(`padMultiple must be a positive integer, got ${padMultiple}`);
  const lens = samples.map((s) => {
    if (s.ids.length <= maxLength) return s.ids.length;
    const lastImage = Math.max(s.conditionMask.lastIndexOf(1), s.generationMask.lastIndexOf(1));
    if (lastImage >= maxLength) {
      throw new RangeError(`sample ${s.id} (${s.task}) needs ${s.ids.length} tokens with image positions up to ${lastImage}, but maxLength is ${maxLength}`);
    }
    return maxLength;
  });
  let L = Math.max(...lens);
  L = Math.ceil(L / padMultiple) * padMultiple;
  const ids = new Int32Array(B * L).fill(padId);
  const labels = new Int32Array(B * L).fill(IGNORE_INDEX);
  const taskIds = new Int32Array(B * L);
  const attention = new Uint8Array(B * L);
  const cond = new Uint8Array(B * L);
  const gen = new Uint8Array(B * L);
  const rowTasks = new Int32Array(B);
  const [, cs] = samples[0].condition.shape;
  const condImages = new Float32Array(B * 3 * cs * cs);
  const gens = samples.map((s, i) => [s, i] as const).filter(([s]) => s.target !== null);
  const ts = gens.length > 0 ? gens[0][0].target!.shape[1] : 0;
  const targets = gens.length > 0 ? new Float32Array(gens.length * 3 * ts * ts) : null;
  const targetRows = new Int32Array(gens.length);
  samples.forEach((s, b) => {
    const n = lens[b];
    const off = b * L;
    const tid = TASK_ID[s.task];
    rowTasks[b] = tid;
    taskIds.fill(tid, off, off + L);
    for (let i = 0; i < n; i++) {
      ids[off + i] = s.ids[i];
      labels[off + i] = s.labels[i];
    }
    attention.fill(1, off, off + n);
    cond.set(s.conditionMask.subarray(0, n), off);
    gen.set(s.generationMask.subarray(0, n), off);
    if (s.condition.shape[1] !== cs) throw new RangeError('collate: condition images differ in size');
    condImages.set(s.condition.data, b * 3 * cs * cs);
  });
  gens.forEach(([s, row], g) => {
    if (s.target!.shape[1] !== ts) throw new RangeError('collate: targets differ in size');
    targets!.set(s.target!.data, g * 3 * ts * ts);
    targetRows[g] = row;
  });
  const tasks = new Set(samples.map((s) => s.task));
  return {
    index: meta.index,
    mode: meta.mode,
    task: meta.mode !== 'mixed' && tasks.size === 1 ? samples[0].task : 'mixed',
    ids: samples.map((s) => s.id),
    inputIds: int64FromInt32(ids, [B, L]),
    labels: int64FromInt32(labels, [B, L]),
    taskIds: int64FromInt32(taskIds, [B, L]),
    attentionMask: ndarray('uint8', [B, L], attention),
    conditionMask: ndarray('uint8', [B, L], cond),
    generationMask: ndarray('uint8', [B, L], gen),
    rowTasks: int64FromInt32(rowTasks, [B]),
    conditionImages: ndarray('float32', [B, 3, cs, cs], condImages),
    targetImages: targets === null ? null : ndarray('float32', [gens.length, 3, ts, ts], targets),
    targetRows: int64FromInt32(targetRows, [gens.length]),
  };
}

/** The ArrayBuffers of a host batch, to transfer it between threads without a copy. */
export function transferList(b: HostBatch): ArrayBuffer[] {
  const arrays = [b.inputIds, b.labels, b.taskIds, b.attentionMask, b.conditionMask, b.generationMask, b.rowTasks, b.conditionImages, b.targetRows];
  if (b.targetImages !== null) arrays.push(b.targetImages);
  return [...new Set(arrays.map((a) => a.data.buffer as ArrayBuffer))];
}
