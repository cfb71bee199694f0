// The fused multitask diffusion loss (unimrg::multitask_diffusion_loss, native/kernels/diffusion_loss*):
// per-task masked mean squared error of a diffusion head's predictions (eps, v or flow targets),
// weighted over tasks, with the gradient computed in the forward pass. See docs/diffusion-loss.md.
import { native } from '../native/binding';
import { handleOf } from '../torch/args';
import { TorchError } from '../torch/errors';
import { op } from '../torch/op';
import { Tensor } from '../torch/tensor';
import * as creation from '../torch/creation';

const OP = 'multitaskDiffusionLoss';
const lossOp = op('unimrg::multitask_diffusion_loss');

export interface MultitaskDiffusionLossOptions {
  /** Weight of each task, [T] (a tensor on pred's device, or numbers). T = the number of tasks. */
  weights: Tensor | number[];
  /** Per-token weight [N] (float or bool; 0 drops the token); default all ones. */
  mask?: Tensor | null;
  /** Per-task denominators D_t [T] instead of repeat * (mask sum of the task), e.g. global
   *  token counts all-reduced over data-parallel ranks. */
  denominators?: Tensor | number[] | null;
  /** Noise draws per token k (MAR's diffusion_batch_mul): pred has N * k rows, draw-major. */
  repeat?: number;
}

export interface MultitaskDiffusionLossResult {
  /** sum_t w_t L_t, a 0-d tensor (float32; float64 for float64 inputs); differentiable. */
  loss: Tensor;
  /** L_t per task [T], detached. */
  taskLoss: Tensor;
  /** The denominators D_t used [T], detached. */
  taskWeight: Tensor;
}

function fail(message: string): never {
  throw new TorchError(message, OP);
}

/**
 * The multitask diffusion loss over tokens of several tasks:
 *
 *   L_t  = (sum over rows r of tokens i of task t: m_i |pred_r - target_r|^2 / C) / D_t  (0 when D_t = 0)
 *   D_t  = denominators[t], or repeat * (sum of m_i over the tokens of task t)
 *   loss = sum_t w_t L_t
 *
 * pred and target are [N * repeat, C]; rows are draw-major (row d * N + i is draw d of token i,
 * what `x.repeat(k, 1)` gives), so taskIds [N] and mask [N] describe tokens, never repeated rows.
 * The gradient with respect to pred (and target, and weights) is computed in the forward pass.
 * mask and denominators are constants: passing ones that require grad is an error.
 */
export function multitaskDiffusionLoss(pred: Tensor, target: Tensor, taskIds: Tensor, opts: MultitaskDiffusionLossOptions): MultitaskDiffusionLossResult {
  // Argument checks have one authority, the C++ op (native/kernels/losses/diffusion_loss_check.cc),
  // whose refusals surface as TorchErrors; here only JavaScript types and numbers made into tensors.
  for (const [arg, v] of [['pred', pred], ['target', target], ['taskIds', taskIds]] as const) handleOf(v, OP, arg);
  if (opts === undefined || opts === null || opts.weights === undefined) fail('options.weights (one weight per task) is required');
  if (opts.mask != null) handleOf(opts.mask, OP, 'mask');
  const made: Tensor[] = [];
  try {
    const weights = vector(opts.weights, 'weights', pred, made);
    const denominators = opts.denominators == null ? null : vector(opts.denominators, 'denominators', pred, made);
    const hs = native.call(lossOp.id, pred._h, target._h, taskIds._h, weights._h, opts.mask?._h ?? null, denominators?._h ?? null, opts.repeat ?? 1) as number[];
    return { loss: new Tensor(hs[0]), taskLoss: new Tensor(hs[1]), taskWeight: new Tensor(hs[2]) };
  } finally {
    for (const t of made) t.dispose();
  }
}

/** A tensor as given, or numbers made into a tensor on pred's device, float64 for float64 pred and
 *  float32 otherwise (the caller frees it). */
function vector(v: Tensor | number[], name: string, pred: Tensor, made: Tensor[]): Tensor {
  if (v instanceof Tensor) return v;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    fail(`${name} must be a tensor or an array of finite numbers`);
  }
  // Numbers are checked here, on the host, for free; the op checks tensors (CPU refuses, CUDA
  // poisons the loss with NaN rather than wait on the device: native/kernels/losses/nonnegative.h).
  if (name === 'denominators' && v.some((x) => x < 0)) fail(`denominators must be >= 0, got [${v.join(', ')}]`);
  const t = creation.tensor(v, { dtype: pred.dtype === 'float64' ? 'float64' : 'float32', device: pred.device });
  made.push(t);
  return t;
}

// The noise helpers (noised inputs, targets, schedules) travel with the loss.
export * from './noise';
