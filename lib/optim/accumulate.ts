// Gradient accumulation: k micro-batches per optimiser step. Each micro-batch loss is divided
// by k before backward, so k mean-reduced micro-batches of size b give the gradient of one
// mean-reduced batch of size k·b; every k-th call clips, steps, schedules and zeroes.
import { TorchError } from '../torch/errors';
import type { Tensor } from '../torch/tensor';
import { clipGradNorm } from './clip';
import type { LRScheduler } from './schedules';

export interface AccumulatorOptions {
  steps: number;
  /** Clip the accumulated gradients to this total norm before each step. */
  maxGradNorm?: number;
  scheduler?: LRScheduler;
}

export class GradientAccumulator {
  private micro = 0;
  /** Optimiser steps taken. */
  updates = 0;
  constructor(readonly optimizer: { params(): Tensor[]; step(): void; zeroGrad(): void }, readonly o: AccumulatorOptions) {
    if (!Number.isInteger(o.steps) || o.steps < 1) throw new TorchError(`accumulation steps must be a positive integer, got ${o.steps}`, 'GradientAccumulator');
  }
  /** Backpropagates loss / steps; on every steps-th call also updates. Returns the grad norm when it stepped, else null. */
  backward(loss: Tensor): number | null {
    const scaled = this.o.steps === 1 ? loss : loss.div(this.o.steps);
    scaled.backward();
    if (scaled !== loss) scaled.dispose();
    this.micro++;
    if (this.micro < this.o.steps) return null;
    this.micro = 0;
    const norm = this.o.maxGradNorm !== undefined ? clipGradNorm(this.optimizer.params(), this.o.maxGradNorm) : Number.NaN;
    this.optimizer.step();
    this.optimizer.zeroGrad();
    this.o.scheduler?.step();
    this.updates++;
    return norm;
  }
  /** Micro-batches accumulated since the last update. */
  get pending(): number { return this.micro; }
}
