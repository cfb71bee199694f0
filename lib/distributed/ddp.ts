// DistributedDataParallel: parameters and buffers broadcast from rank 0 at start; gradients
// averaged over ranks in ~25 MB buckets whose all-reduces start during backward (hooks on the
// gradient accumulators, native/distributed/reducer.cc); noSync() for gradient accumulation.
import { native } from '../native/binding';
import type { Module } from '../nn/module';
import { TorchError } from '../torch/errors';
import type { ProcessGroup } from './group';

export interface DDPOptions {
  /** Bucket size in MiB (default 25, as PyTorch). */
  bucketCapMB?: number;
  /** Broadcast buffers (e.g. running statistics) from rank 0 at start too (default true). */
  broadcastBuffers?: boolean;
}

export interface SyncStats {
  /** Buckets all-reduced. */
  buckets: number;
  /** Of those, launched during backward (overlapped with it) rather than by syncGradients(). */
  overlapped: number;
}

/**
 * Data parallelism over a process group. Per step, on every rank:
 *
 *   const loss = lossOf(ddp.module, myShard);  loss.backward();
 *   await ddp.syncGradients();                 // .grad = mean over ranks
 *   optimizer.step();
 *
 * Await syncGradients() before touching the gradients or running the next backward.
 */
export class DistributedDataParallel<M extends Module = Module> {
  private reducer: number;
  private syncing = true;

  private constructor(readonly module: M, readonly group: ProcessGroup, reducer: number) {
    this.reducer = reducer;
  }

  static async create<M extends Module>(module: M, group: ProcessGroup, opts: DDPOptions = {}): Promise<DistributedDataParallel<M>> {
    const mb = opts.bucketCapMB ?? 25;
    if (!(mb > 0)) throw new TorchError(`bucketCapMB must be > 0, got ${mb}`, 'distributed.DistributedDataParallel');
    const state = [...module.parameters(), ...(opts.broadcastBuffers === false ? [] : module.buffers())];
    for (const t of state) {
      if (!t.isContiguous()) throw new TorchError('DistributedDataParallel: every parameter and buffer must be contiguous', 'distributed.DistributedDataParallel');
    }
    await group.broadcast(state, 0);
    const reducer = native.distReducerCreate(group.id, module.parameters().map((p) => p._h), Math.round(mb * 1024 * 1024));
    return new DistributedDataParallel(module, group, reducer);
  }

  /** Waits for the gradient all-reduces and leaves the mean over ranks in every parameter's .grad. */
  async syncGradients(): Promise<SyncStats> {
    if (!this.syncing) throw new TorchError('syncGradients() inside noSync(): the gradients are being accumulated locally', 'distributed.syncGradients');
    return native.distReducerFinish(this.reducer);
  }

  /**
   * Runs fn with gradient synchronisation off: the backward passes inside only accumulate into
   * .grad locally; the next backward outside noSync() all-reduces the accumulated gradients.
   */
  async noSync<T>(fn: () => T | Promise<T>): Promise<T> {
    native.distReducerSetSync(this.reducer, false);
    this.syncing = false;
    try {
      return await fn();
    } finally {
      this.syncing = true;
      native.distReducerSetSync(this.reducer, true);
    }
  }

  /** The parameter names of each bucket, in the order they are all-reduced. */
  bucketNames(): string[][] {
    const names = this.module.namedParameters().filter(([, p]) => p.requiresGrad).map(([n]) => n);
    return native.distReducerBuckets(this.reducer).map((b) => b.map((i) => names[i]));
  }

  /** Removes the gradient hooks' effect; the module itself stays usable. */
  destroy(): void {
    native.distReducerDestroy(this.reducer);
  }
}
