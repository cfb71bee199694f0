// Which task each batch row serves, and which sample of that task's stream it takes.
//  - per-task: the published UniMRG protocol. Micro-batches take the trained tasks in a fixed
//    cycle, each a full batch of one task, so an optimiser step of (tasks × accumulate)
//    micro-batches holds one full micro-batch per task. Micro-batch i of task t holds positions
//    [c·B, (c+1)·B) of t's stream, c = i div k: a task's samples do not depend on which other
//    tasks are trained, so arms that differ only in their tasks see the same understanding rows
//    in the same order (paired comparisons).
//  - interleave: each micro-batch holds one task (as the released UniMRG code trains); tasks
//    take turns by smooth weighted round-robin, so over any window the batch counts follow the
//    ratios as closely as integers allow (no random streaks).
//  - mixed: one batch holds every task; rows are assigned by the same round-robin over rows, then
//    grouped by task id, for the fused multitask loss.
// A plan depends only on (ratios, mode, batch size, batch index): any worker can compute any
// batch, so parallel loading stays deterministic.
import { TASKS, type TaskKind } from './kinds';

export type BatchMode = 'per-task' | 'interleave' | 'mixed';

export const BATCH_MODES: readonly BatchMode[] = ['per-task', 'interleave', 'mixed'];

/** Micro-batches that make one step's worth of every trained task: per-task, one per trained task; else 1. */
export function microBatchesPerCycle(mode: BatchMode, ratios: Ratios | undefined): number {
  return mode === 'per-task' ? ratioVector(ratios).filter((w) => w > 0).length : 1;
}

export interface BatchPlan {
  index: number;
  /** The task of each row. */
  tasks: TaskKind[];
  /** Position of each row's sample in its task's stream. */
  positions: number[];
}

export type Ratios = Partial<Record<TaskKind, number>>;

export function ratioVector(r: Ratios | undefined): number[] {
  const w = TASKS.map((t) => (r === undefined ? 1 : (r[t] ?? 0)));
  if (r !== undefined) {
    for (const k of Object.keys(r)) if (!(TASKS as readonly string[]).includes(k)) throw new RangeError(`unknown task '${k}' in ratios (expected ${TASKS.join(', ')})`);
  }
  if (w.some((x) => !(x >= 0) || !Number.isFinite(x))) throw new RangeError(`task ratios must be finite numbers >= 0, got ${JSON.stringify(r)}`);
  if (w.every((x) => x === 0)) throw new RangeError('at least one task ratio must be positive');
  return w;
}

interface State {
  current: number[];
  consumed: number[];
}

const CHECKPOINT = 256;

export class Schedule {
  readonly weights: number[];
  /** The tasks with a positive ratio, by task id (per-task: the cycle's order). */
  readonly trained: number[];
  private readonly total: number;
  private readonly checkpoints: State[] = [];
  private state: State;
  private next = 0; // the batch index `state` is ready to plan

  constructor(ratios: Ratios | undefined, readonly mode: BatchMode, readonly batchSize: number) {
    if (!BATCH_MODES.includes(mode)) throw new RangeError(`mode must be ${BATCH_MODES.map((m) => `'${m}'`).join(', ')}, got '${mode}'`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    this.weights = ratioVector(ratios);
    if (mode === 'per-task' && this.weights.some((w) => w !== 0 && w !== 1)) {
      throw new RangeError(`per-task batching gives every trained task one micro-batch per step: task ratios must be 0 (left out) or 1, got ${JSON.stringify(ratios)}`);
    }
    this.trained = this.weights.flatMap((w, t) => (w > 0 ? [t] : []));
    this.total = this.weights.reduce((a, b) => a + b, 0);
    this.state = { current: this.weights.map(() => 0), consumed: this.weights.map(() => 0) };
  }

  /** Smooth weighted round-robin (nginx): the task with the largest credit goes next. */
  private pick(s: State): number {
    let best = -1;
    for (let t = 0; t < this.weights.length; t++) {
      if (this.weights[t] === 0) continue;
      s.current[t] += this.weights[t];
      if (best < 0 || s.current[t] > s.current[best]) best = t;
    }
    s.current[best] -= this.total;
    return best;
  }

  private step(s: State, index: number): BatchPlan {
    const tasks: TaskKind[] = [];
    const positions: number[] = [];
    if (this.mode === 'interleave') {
      const t = this.pick(s);
      for (let j = 0; j < this.batchSize; j++) { tasks.push(TASKS[t]); positions.push(s.consumed[t]++); }
    } else {
      const rows: number[] = [];
      for (let j = 0; j < this.batchSize; j++) rows.push(this.pick(s));
      rows.sort((a, b) => a - b); // grouped by task id
      for (const t of rows) { tasks.push(TASKS[t]); positions.push(s.consumed[t]++); }
    }
    return { index, tasks, positions };
  }

  /** Micro-batches that make one step's worth of every trained task (microBatchesPerCycle). */
  get cycle(): number {
    return this.mode === 'per-task' ? this.trained.length : 1;
  }

  plan(index: number): BatchPlan {
    if (!Number.isInteger(index) || index < 0) throw new RangeError(`batch index must be a non-negative integer, got ${index}`);
    if (this.mode === 'per-task') {
      const task = TASKS[this.trained[index % this.trained.length]];
      const first = Math.floor(index / this.trained.length) * this.batchSize;
      return { index, tasks: Array.from({ length: this.batchSize }, () => task), positions: Array.from({ length: this.batchSize }, (_, j) => first + j) };
    }
    if (index < this.next) { // rewind to the nearest checkpoint
      const c = Math.floor(index / CHECKPOINT);
      const saved = this.checkpoints[c];
      this.state = { current: saved.current.slice(), consumed: saved.consumed.slice() };
      this.next = c * CHECKPOINT;
    }
    while (this.next < index) this.advance();
    return this.advance();
  }

  private advance(): BatchPlan {
    if (this.next % CHECKPOINT === 0 && this.checkpoints[this.next / CHECKPOINT] === undefined) {
      this.checkpoints[this.next / CHECKPOINT] = { current: this.state.current.slice(), consumed: this.state.consumed.slice() };
    }
    return this.step(this.state, this.next++);
  }
}
