// Host batches as libtorch tensors (the only part of the data layer that needs the addon).
import { torch, type Tensor } from '../../torch';
import type { Device } from '../../torch';
import type { NDArray } from '../ndarray';
import type { HostBatch } from './collate';
import type { BatchMode } from './schedule';
import type { TaskKind } from './kinds';

export interface TaskBatch {
  index: number;
  mode: BatchMode;
  task: TaskKind | 'mixed';
  ids: string[];
  /** int64 [B, L] */
  inputIds: Tensor;
  /** int64 [B, L], -100 on prompt, image and pad tokens. */
  labels: Tensor;
  /** int64 [B, L], the task id (TASK_ID) of every token, for the fused multitask loss. */
  taskIds: Tensor;
  /** bool [B, L] */
  attentionMask: Tensor;
  /** bool [B, L] */
  conditionMask: Tensor;
  /** bool [B, L] */
  generationMask: Tensor;
  /** int64 [B] */
  rowTasks: Tensor;
  /** float32 [B, 3, S, S] */
  conditionImages: Tensor;
  /** float32 [G, 3, T, T] in [-1, 1], or null when no row generates. */
  targetImages: Tensor | null;
  /** int64 [G] */
  targetRows: Tensor;
}

const VIEWS = { uint8: Uint8Array, int32: Int32Array, int64: BigInt64Array, float32: Float32Array } as const;

/**
 * A plain array as a tensor (copied). The typed array is re-viewed in this realm first: arrays
 * that crossed a thread (or come from another vm context, as under jest) fail `instanceof`.
 */
export function toTensor(a: NDArray, device?: Device): Tensor {
  if (a.dtype === 'uint16') return torch.tensor(Int32Array.from(a.data as Uint16Array), { shape: a.shape, device });
  const View = VIEWS[a.dtype];
  const view = new View(a.data.buffer as ArrayBuffer, a.data.byteOffset, a.data.length);
  return torch.tensor(view, { shape: a.shape, device });
}

function mask(a: NDArray<'uint8'>, device?: Device): Tensor {
  return torch.tidy(() => toTensor(a, device).to('bool'));
}

export function toTensors(h: HostBatch, device?: Device): TaskBatch {
  return {
    index: h.index, mode: h.mode, task: h.task, ids: h.ids,
    inputIds: toTensor(h.inputIds, device),
    labels: toTensor(h.labels, device),
    taskIds: toTensor(h.taskIds, device),
    attentionMask: mask(h.attentionMask, device),
    conditionMask: mask(h.conditionMask, device),
    generationMask: mask(h.generationMask, device),
    rowTasks: toTensor(h.rowTasks, device),
    conditionImages: toTensor(h.conditionImages, device),
    targetImages: h.targetImages === null ? null : toTensor(h.targetImages, device),
    targetRows: toTensor(h.targetRows, device),
  };
}

/** Frees every tensor of a batch. */
export function disposeBatch(b: TaskBatch): void {
  torch.dispose(b);
}
