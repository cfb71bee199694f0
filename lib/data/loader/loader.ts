// A streaming loader: batches are built ahead of time in worker threads (scene rendering, image
// decoding, resizing, tokenisation, padding) and handed over in order, so a training step only
// waits when every worker is behind. Batch i comes from worker i mod W, and every batch depends
// only on its index, so the stream is the same for any number of workers.
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Device } from '../../torch';
import type { Problem } from '../llava';
import type { HostBatch } from '../tasks/collate';
import type { TaskKind } from '../tasks/kinds';
import { type TaskBatch, toTensors } from '../tasks/tensors';
import { workerEntry } from '../../util/worker-entry';
import { ProblemLog } from './problems';
import { buildPipeline, type LoaderSpec, type Pipeline } from './spec';

export interface LoaderOptions {
  /** Worker threads; 0 builds batches on the main thread. Default: cores - 1, at most 4. */
  workers?: number;
  /** Batches requested ahead of the consumer. Default 2 per worker (at least 2). */
  prefetch?: number;
  /** First batch index (resume). Default 0. */
  start?: number;
  /** Stop before this batch index. Default: never. */
  end?: number;
  /** Where toTensors puts batches (default cpu). */
  device?: Device;
  /**
   * Called once per problem with a record (missing or corrupt file, malformed entry, too-long
   * conversation). Default: the first 20 go to stderr one line each, then counts, and a
   * summary at close(); pass a function to route them elsewhere (it then owns the reporting).
   */
  onProblem?: (p: Problem) => void;
}

export interface LoaderStats {
  batches: number;
  /** Milliseconds next() spent waiting for batches (about 0 when the workers keep ahead). */
  waitMs: number;
  /** Each problem once (workers can meet the same bad record), in the order they arrived. */
  problems: Problem[];
  /** Records passed over per task, summed over workers (latest report of each). */
  skipped: Record<TaskKind, number>;
}

interface Pending {
  resolve: (b: HostBatch) => void;
  reject: (e: Error) => void;
  promise: Promise<HostBatch>;
}

interface WorkerReply {
  type: 'ready' | 'batch' | 'error' | 'fatal';
  index?: number;
  batch?: HostBatch;
  message?: string;
  problems?: Problem[];
  skipped?: Record<TaskKind, number>;
}

function defaultWorkers(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(4, cores - 1));
}

export class DataLoader implements AsyncIterable<TaskBatch> {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private local: Pipeline | undefined;
  private requested: number;
  private nextIndex: number;
  private closed = false;
  private fatal: Error | undefined;
  private readonly skippedBy: Record<TaskKind, number>[] = [];
  /** Requests each worker has not answered yet: a worker keeps the process alive only while > 0. */
  private readonly inFlight: number[] = [];
  private readonly problemLog: ProblemLog;
  /** Problems of the main-thread pipeline (workers: 0) already taken. */
  private localProblems = 0;
  readonly stats: LoaderStats;

  private constructor(readonly spec: LoaderSpec, private readonly o: Required<Omit<LoaderOptions, 'device' | 'end' | 'onProblem'>> & LoaderOptions) {
    this.requested = o.start;
    this.nextIndex = o.start;
    this.problemLog = new ProblemLog({ onProblem: o.onProblem });
    this.stats = { batches: 0, waitMs: 0, problems: this.problemLog.problems, skipped: { understanding: 0, reconstruction: 0, depth: 0, segmentation: 0 } };
  }

  /** "unimrg data: N problems (by kind)", or undefined when there were none. */
  problemSummary(): string | undefined { return this.problemLog.summary(); }

  static async create(spec: LoaderSpec, opts: LoaderOptions = {}): Promise<DataLoader> {
    const workers = opts.workers ?? defaultWorkers();
    if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`workers must be a non-negative integer, got ${workers}`);
    const prefetch = opts.prefetch ?? Math.max(2, 2 * workers);
    if (!Number.isInteger(prefetch) || prefetch < 1) throw new RangeError(`prefetch must be a positive integer, got ${prefetch}`);
    const start = opts.start ?? 0;
    if (!Number.isInteger(start) || start < 0) throw new RangeError(`start must be a non-negative integer, got ${start}`);
    const l = new DataLoader(spec, { ...opts, workers, prefetch, start });
    if (workers === 0) {
      l.local = await buildPipeline(spec);
    } else {
      try {
        await Promise.all(Array.from({ length: workers }, (_, w) => l.startWorker(w)));
      } catch (e) {
        await l.close();
        throw e;
      }
    }
    l.fill();
    return l;
  }

  private startWorker(w: number): Promise<void> {
    const { code, data } = workerEntry(__dirname, 'worker');
    const worker = new Worker(code, { eval: true, workerData: { ...data, spec: this.spec } });
    this.workers[w] = worker;
    this.inFlight[w] = 0;
    this.skippedBy[w] = { understanding: 0, reconstruction: 0, depth: 0, segmentation: 0 };
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: WorkerReply) => {
        if (m.type === 'ready') { ready = true; worker.unref(); resolve(); return; }
        if (m.type === 'fatal') { reject(new Error(`loader worker: ${m.message}`)); return; }
        if (--this.inFlight[w] === 0) worker.unref(); // an abandoned loader never blocks exit
        const p = this.pending.get(m.index!);
        if (p === undefined) return;
        if (m.type === 'batch') {
          for (const q of m.problems ?? []) this.problemLog.add(q);
          this.skippedBy[w] = m.skipped!;
          p.resolve(m.batch!);
        } else {
          p.reject(new Error(`batch ${m.index}: ${m.message}`));
        }
      });
      worker.on('error', (e) => {
        if (!ready) reject(e);
        this.fail(new Error(`loader worker ${w} failed: ${e.message}`));
      });
      worker.on('exit', (code) => {
        if (!ready) reject(new Error(`loader worker ${w} exited with code ${code} before starting`));
        if (!this.closed) this.fail(new Error(`loader worker ${w} exited with code ${code}`));
      });
    });
  }

  private fail(e: Error): void {
    this.fatal ??= e;
    for (const p of this.pending.values()) p.reject(e);
  }

  /** Requests batches until `prefetch` are in flight. */
  private fill(): void {
    const end = this.o.end ?? Infinity;
    while (!this.closed && this.requested < Math.min(end, this.nextIndex + this.o.prefetch)) {
      const index = this.requested++;
      let resolve!: (b: HostBatch) => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<HostBatch>((res, rej) => { resolve = res; reject = rej; });
      promise.catch(() => undefined); // rejections surface in next()
      this.pending.set(index, { resolve, reject, promise });
      if (this.local !== undefined) {
        const local = this.local;
        // Local batches run one after another, but still ahead of the consumer.
        const prev = this.pending.get(index - 1)?.promise ?? Promise.resolve(undefined);
        prev.catch(() => undefined).then(() => local.batcher.hostBatch(index)).then((b) => {
          const all = local.problems();
          for (; this.localProblems < all.length; this.localProblems++) this.problemLog.add(all[this.localProblems]);
          this.skippedBy[0] = { ...local.batcher.skipped };
          resolve(b);
        }, reject);
      } else {
        const w = index % this.workers.length;
        if (this.inFlight[w]++ === 0) this.workers[w].ref();
        this.workers[w].postMessage({ index });
      }
    }
  }

  /** The next host batch (plain arrays), or null past `end`. */
  async nextHost(): Promise<HostBatch | null> {
    if (this.closed) throw new Error('the loader is closed');
    if (this.fatal) throw this.fatal;
    if (this.o.end !== undefined && this.nextIndex >= this.o.end) return null;
    const index = this.nextIndex;
    const p = this.pending.get(index)!;
    const t0 = performance.now();
    const b = await p.promise;
    this.stats.waitMs += performance.now() - t0;
    this.pending.delete(index);
    this.nextIndex++;
    this.stats.batches++;
    for (const k of Object.keys(this.stats.skipped) as TaskKind[]) this.stats.skipped[k] = this.skippedBy.reduce((s, x) => s + (x?.[k] ?? 0), 0);
    this.fill();
    return b;
  }

  /** The next batch as tensors, or null past `end`. */
  async next(): Promise<TaskBatch | null> {
    const h = await this.nextHost();
    return h === null ? null : toTensors(h, this.o.device);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TaskBatch> {
    for (;;) {
      const b = await this.next();
      if (b === null) return;
      yield b;
    }
  }

  /** Stops the workers; pending batches are dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.problemLog.close();
    for (const p of this.pending.values()) p.reject(new Error('the loader is closed'));
    this.pending.clear();
    await Promise.all(this.workers.filter(Boolean).map((w) => w.terminate()));
  }
}

export function createLoader(spec: LoaderSpec, opts: LoaderOptions = {}): Promise<DataLoader> {
  return DataLoader.create(spec, opts);
}
