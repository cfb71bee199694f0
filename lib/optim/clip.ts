// Gradient clipping by total norm, one native call (native/optim.cc).
import { native } from '../native/binding';
import type { Tensor } from '../torch/tensor';

/**
 * The norm of all gradients taken together (order normType; Infinity for the max), and scales
 * them in place by maxNorm / (norm + 1e-6) when that is below 1 — torch.nn.utils.clip_grad_norm_.
 * Parameters without a gradient are skipped. Returns the norm before clipping.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, normType = 2, opts: { errorIfNonfinite?: boolean } = {}): number {
  return native.clipGradNorm([...params].map((p) => p._h), maxNorm, normType, opts.errorIfNonfinite ?? false);
}
