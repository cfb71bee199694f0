// DistributedSampler: each rank takes every worldSize-th index of one (seeded, per-epoch)
// permutation, padded by wrapping around so that all ranks get as many samples (as PyTorch's).
import { permutation } from '../data/rng';
import { TorchError } from '../torch/errors';

export interface SamplerOptions {
  rank: number;
  worldSize: number;
  /** Default true. */
  shuffle?: boolean;
  /** Same on every rank (default 0). */
  seed?: number;
  /** Drop the tail instead of repeating indices to even it out (default false). */
  dropLast?: boolean;
}

export class DistributedSampler implements Iterable<number> {
  private epoch = 0;
  readonly numSamples: number;

  constructor(readonly length: number, readonly opts: SamplerOptions) {
    const { rank, worldSize } = opts;
    if (!Number.isInteger(length) || length < 0) throw new TorchError(`DistributedSampler: length must be an integer >= 0, got ${length}`, 'DistributedSampler');
    if (!Number.isInteger(worldSize) || worldSize < 1) throw new TorchError(`DistributedSampler: worldSize must be >= 1, got ${worldSize}`, 'DistributedSampler');
    if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new TorchError(`DistributedSampler: rank ${rank} is outside [0, ${worldSize})`, 'DistributedSampler');
    this.numSamples = opts.dropLast ? Math.floor(length / worldSize) : Math.ceil(length / worldSize);
  }

  /** Reshuffles: call it at the start of every epoch, with the same value on every rank. */
  setEpoch(epoch: number): void {
    this.epoch = epoch;
  }

  indices(): number[] {
    const { rank, worldSize } = this.opts;
    const order = this.opts.shuffle === false ? Array.from({ length: this.length }, (_, i) => i)
      : Array.from(permutation(this.length, this.opts.seed ?? 0, this.epoch));
    const total = this.numSamples * worldSize;
    const all = order.slice(0, total);
    for (let i = 0; all.length < total && order.length > 0; i++) all.push(order[i % order.length]);
    const mine: number[] = [];
    for (let i = rank; i < total; i += worldSize) mine.push(all[i]);
    return mine;
  }

  [Symbol.iterator](): Iterator<number> {
    return this.indices()[Symbol.iterator]();
  }
}
