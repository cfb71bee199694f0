// AdamW (Loshchilov & Hutter: decoupled weight decay), PyTorch's formula; the update of every
// parameter is one native call (native/optim.cc, a fused per-element loop for float32 on CPU).
import { native } from '../native/binding';
import { TorchError } from '../torch/errors';
import type { Tensor } from '../torch/tensor';
import { Optimizer, zerosLike, type Params } from './optimizer';

export type AdamWOptions = { lr: number; betas: [number, number]; eps: number; weightDecay: number; maximize: boolean };

export class AdamW extends Optimizer<AdamWOptions> {
  constructor(params: Params<AdamWOptions>, opts: Partial<AdamWOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, maximize: false, ...opts });
  }
  protected validate(g: AdamWOptions): void {
    const [b1, b2] = g.betas;
    if (!(g.lr >= 0)) throw new TorchError(`invalid learning rate ${g.lr}`, 'AdamW');
    if (!(g.eps >= 0)) throw new TorchError(`invalid epsilon ${g.eps}`, 'AdamW');
    if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1)) throw new TorchError(`invalid betas [${g.betas}]: each must be in [0, 1)`, 'AdamW');
    if (!(g.weightDecay >= 0)) throw new TorchError(`invalid weight decay ${g.weightDecay}`, 'AdamW');
  }
  protected initState(p: Tensor): Record<string, Tensor> {
    return { exp_avg: zerosLike(p), exp_avg_sq: zerosLike(p) };
  }
  /**
   * For each parameter with a gradient: step += 1; p *= 1 - lr·wd; m = β1 m + (1-β1) g;
   * v = β2 v + (1-β2) g²; p -= lr / (1-β1^step) · m / (√v / √(1-β2^step) + eps).
   */
  step(): void {
    this.ensureState();
    const hyper = this.rows(5, (g, r) => { r[0] = g.lr; r[1] = g.betas[0]; r[2] = g.betas[1]; r[3] = g.eps; r[4] = g.weightDecay; });
    const maximize = this.paramGroups.some((g) => g.maximize);
    if (maximize && !this.paramGroups.every((g) => g.maximize)) throw new TorchError('maximize must be the same in every group', 'AdamW');
    native.adamw(this.params().map((p) => p._h), this.stateHandles('exp_avg'), this.stateHandles('exp_avg_sq'), this.steps, hyper, maximize);
  }
}
