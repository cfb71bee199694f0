// Learning-rate schedules. A schedule multiplies each group's initial lr by m(step), where step
// counts the scheduler.step() calls made so far (call it after optimizer.step()); the lr for the
// first update is m(0) · lr. Warm-up + cosine follows Hugging Face's
// get_cosine_schedule_with_warmup (with a floor as in its cosine_with_min_lr variant).
import { TorchError } from '../torch/errors';
/** What a schedule needs of an optimiser: groups with a current and an initial lr. */
export interface LrOptimizer { paramGroups: { lr: number; initialLr: number }[] }

export abstract class LRScheduler {
  /** Number of scheduler.step() calls so far. */
  lastStep = 0;
  constructor(readonly optimizer: LrOptimizer) {}
  /** The lr multiplier after `step` completed steps. */
  abstract factor(step: number): number;
  step(): void { this.lastStep++; this.apply(); }
  /** Each group's current learning rate. */
  getLr(): number[] { return this.optimizer.paramGroups.map((g) => g.lr); }
  /** Sets every group's lr for the current step (subclass constructors call it last). */
  protected apply(): void {
    const f = this.factor(this.lastStep);
    for (const g of this.optimizer.paramGroups) g.lr = g.initialLr * f;
  }
  stateDict(): { lastStep: number } { return { lastStep: this.lastStep }; }
  loadStateDict(s: { lastStep: number }): void { this.lastStep = s.lastStep; this.apply(); }
}

/** Linear warm-up from 0 over warmupSteps, then cosine from 1 down to minLrRatio at totalSteps (and there after). */
export class WarmupCosine extends LRScheduler {
  readonly warmupSteps: number;
  readonly totalSteps: number;
  readonly minLrRatio: number;
  constructor(optimizer: LrOptimizer, o: { warmupSteps: number; totalSteps: number; minLrRatio?: number }) {
    super(optimizer);
    if (!(o.totalSteps > 0) || !(o.warmupSteps >= 0) || o.warmupSteps > o.totalSteps) {
      throw new TorchError(`WarmupCosine needs 0 <= warmupSteps (${o.warmupSteps}) <= totalSteps (${o.totalSteps}), totalSteps > 0`, 'WarmupCosine');
    }
    const r = o.minLrRatio ?? 0;
    if (!(r >= 0 && r <= 1)) throw new TorchError(`minLrRatio must be in [0, 1], got ${r}`, 'WarmupCosine');
    this.warmupSteps = o.warmupSteps;
    this.totalSteps = o.totalSteps;
    this.minLrRatio = r;
    this.apply();
  }
  factor(step: number): number {
    if (step < this.warmupSteps) return step / this.warmupSteps;
    const progress = Math.min(1, (step - this.warmupSteps) / Math.max(1, this.totalSteps - this.warmupSteps));
    return this.minLrRatio + (1 - this.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
  }
}

/** The initial lr throughout. */
export class ConstantLR extends LRScheduler {
  constructor(optimizer: LrOptimizer) { super(optimizer); this.apply(); }
  factor(): number { return 1; }
}

/** lr = initial lr · fn(step). */
export class LambdaLR extends LRScheduler {
  constructor(optimizer: LrOptimizer, private readonly fn: (step: number) => number) { super(optimizer); this.apply(); }
  factor(step: number): number {
    const f = this.fn(step);
    if (!Number.isFinite(f)) throw new TorchError(`the lambda schedule returned ${f} at step ${step}`, 'LambdaLR');
    return f;
  }
}
