// From a record source to host batches: the schedule says which task and stream position each
// row takes; a per-task, per-epoch seeded permutation maps positions to records; records that
// cannot be read or lack the task's target are passed over (the next record in that order takes
// their place) and counted.
import { permutation } from '../rng';
import type { TextTokenizer } from '../tokenizer/types';
import { collate, type CollateOptions, type HostBatch } from './collate';
import { TASK_ID, TASKS, type TaskKind } from './kinds';
import { batchLength, type LengthOptions, maxSequenceLength } from './length';
import { type DataRecord, needsDepth, needsSegmentation, type RecordSource } from './records';
import { buildSample, type HostSample, type SampleOptions, serves } from './samples';
import { type BatchMode, type Ratios, Schedule } from './schedule';

export interface BatcherOptions extends SampleOptions, CollateOptions, Pick<LengthOptions, 'maxSequenceLength'> {
  batchSize: number;
  /** Default 'interleave'. */
  mode?: BatchMode;
  /** Relative task frequencies; default 1 each. A task left out (or 0) is never sampled. */
  ratios?: Ratios;
  /** Seeds record order, prompt choice and turn subsets. Default 0. */
  seed?: number;
  /** Visit records in a seeded order per task and epoch (default true); false: in index order. */
  shuffle?: boolean;
}

const CACHE = 32;

export class TaskBatcher {
  readonly schedule: Schedule;
  /** Records passed over per task (unreadable, or without the task's target). */
  readonly skipped: Record<TaskKind, number> = { understanding: 0, reconstruction: 0, depth: 0, segmentation: 0 };
  private readonly seed: number;
  /** Longest sample in tokens (length.ts). */
  readonly maxSequenceLength: number;
  private readonly perms = new Map<string, Int32Array>();
  private readonly cache = new Map<number, Promise<DataRecord | null>>();
  private readonly unusable = TASKS.map(() => new Set<number>());

  constructor(readonly source: RecordSource, readonly tokenizer: TextTokenizer, readonly options: BatcherOptions) {
    this.schedule = new Schedule(options.ratios, options.mode ?? 'interleave', options.batchSize);
    this.seed = options.seed ?? 0;
    if (!Number.isInteger(this.seed)) throw new RangeError(`seed must be an integer, got ${this.seed}`);
    this.maxSequenceLength = maxSequenceLength(options);
    if (!(source.length >= 1)) throw new RangeError('the record source is empty');
  }

  /** The record a task's stream position starts from (before passing over unusable ones). */
  recordIndex(task: TaskKind, position: number): number {
    const n = this.source.length;
    const epoch = Math.floor(position / n);
    const within = position % n;
    if (this.options.shuffle === false) return within;
    const key = `${task}/${epoch}`;
    let p = this.perms.get(key);
    if (p === undefined) {
      if (this.perms.size >= 8) this.perms.delete(this.perms.keys().next().value!);
      p = permutation(n, this.seed, 0x0bde7, TASK_ID[task], epoch);
      this.perms.set(key, p);
    }
    return p[within];
  }

  /**
   * A record read for a task, decoded once while it stays in the cache (promises are cached: no
   * double decode). Understanding and reconstruction need no targets and share an entry.
   */
  private record(i: number, task: TaskKind): Promise<DataRecord | null> {
    const need = needsDepth(task) ? 1 : needsSegmentation(task) ? 2 : 0;
    const key = 3 * i + need;
    let r = this.cache.get(key);
    if (r === undefined) {
      r = Promise.resolve(this.source.get(i, need === 0 ? 'understanding' : task));
      const cap = Math.max(CACHE, 2 * this.options.batchSize);
      if (this.cache.size >= cap) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, r);
    }
    return r;
  }

  /** The sample at a task's stream position. */
  async sample(task: TaskKind, position: number): Promise<HostSample> {
    const n = this.source.length;
    const t = TASK_ID[task];
    const start = position % n;
    const epochBase = position - start;
    for (let k = 0; k < n; k++) {
      const i = this.recordIndex(task, epochBase + ((start + k) % n));
      if (this.unusable[t].has(i)) { this.skipped[task]++; continue; }
      const r = await this.record(i, task);
      if (r === null || !serves(r, task)) {
        this.unusable[t].add(i);
        this.skipped[task]++;
        continue;
      }
      const s = buildSample(r, task, position, this.seed, this.tokenizer, this.options)!;
      if (batchLength(s.ids.length, this.options.maxLength) > this.maxSequenceLength) {
        const why = `its ${task} sample has ${s.ids.length} tokens, more than maxSequenceLength ${this.maxSequenceLength}`;
        if (this.source.reportUnusable === undefined) {
          throw new RangeError(`record ${i} (id ${r.id}): ${why}; shorten the record, raise maxSequenceLength, or set maxLength to truncate understanding samples`);
        }
        this.source.reportUnusable(i, 'too-long', `${why}; left out of the ${task} task`);
        this.unusable[t].add(i);
        this.skipped[task]++;
        continue;
      }
      return s;
    }
    throw new RangeError(`no record of the source can serve the ${task} task (${task === 'depth' || task === 'segmentation' ? `none has a ${task} target; ` : ''}set its ratio to 0 to train without it)`);
  }

  async hostBatch(index: number): Promise<HostBatch> {
    const plan = this.schedule.plan(index);
    // Start reading every row's first-choice record at once (decoding runs in parallel).
    await Promise.all(plan.tasks.map((t, j) => this.record(this.recordIndex(t, plan.positions[j]), t).catch(() => null)));
    const samples: HostSample[] = [];
    for (let j = 0; j < plan.tasks.length; j++) samples.push(await this.sample(plan.tasks[j], plan.positions[j]));
    return collate(samples, this.tokenizer.padId, { index, mode: this.schedule.mode }, this.options);
  }
}
