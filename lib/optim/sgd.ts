// SGD with momentum, dampening, Nesterov and (coupled) weight decay, PyTorch's formula; one
// native call per step.
import { native } from '../native/binding';
import { TorchError } from '../torch/errors';
import type { Tensor } from '../torch/tensor';
import { Optimizer, zerosLike, type Params } from './optimizer';

export type SGDOptions = { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean; maximize: boolean };

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Params<SGDOptions>, opts: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...opts });
  }
  protected validate(g: SGDOptions): void {
    if (!(g.lr >= 0)) throw new TorchError(`invalid learning rate ${g.lr}`, 'SGD');
    if (!(g.momentum >= 0)) throw new TorchError(`invalid momentum ${g.momentum}`, 'SGD');
    if (!(g.weightDecay >= 0)) throw new TorchError(`invalid weight decay ${g.weightDecay}`, 'SGD');
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) throw new TorchError('Nesterov momentum requires a momentum and zero dampening', 'SGD');
  }
  protected initState(p: Tensor, g: SGDOptions): Record<string, Tensor> {
    return g.momentum !== 0 ? { momentum_buffer: zerosLike(p) } : {};
  }
  /**
   * d = g + wd·p; with momentum: buf = d at the first step, else momentum·buf + (1-dampening)·d,
   * and d = nesterov ? d + momentum·buf : buf; then p -= lr·d.
   */
  step(): void {
    this.ensureState();
    const hyper = this.rows(5, (g, r) => { r[0] = g.lr; r[1] = g.momentum; r[2] = g.dampening; r[3] = g.weightDecay; r[4] = g.nesterov ? 1 : 0; });
    const maximize = this.paramGroups.some((g) => g.maximize);
    const bufs = this.params().map((p) => (this.stateTensors.get(p)!.momentum_buffer ?? p)._h);
    native.sgd(this.params().map((p) => p._h), bufs, this.steps, hyper, maximize);
  }
}
