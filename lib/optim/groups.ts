// Parameter groups by name: the usual "no weight decay on biases and norms" split.
import type { Tensor } from '../torch/tensor';
import { namePredicate, type NamePattern } from '../nn/module';

/**
 * Two groups from named parameters (trainable ones only): with weightDecay, and without it for
 * 1-D tensors (biases, norm weights) and names matching `noDecay`.
 */
export function weightDecayGroups(named: Iterable<[string, Tensor]>, weightDecay: number, noDecay?: NamePattern): [{ params: Tensor[]; weightDecay: number }, { params: Tensor[]; weightDecay: number }] {
  const extra = noDecay === undefined ? () => false : namePredicate(noDecay);
  const decay: Tensor[] = [];
  const none: Tensor[] = [];
  for (const [n, p] of named) {
    if (!p.requiresGrad) continue;
    (p.ndim < 2 || extra(n) ? none : decay).push(p);
  }
  return [{ params: decay, weightDecay }, { params: none, weightDecay: 0 }];
}
