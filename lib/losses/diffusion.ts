// The fused multitask diffusion loss (unimrg::multitask_diffusion_loss, native/kernels/diffusion_loss*):
// per-task masked mean squared error of a diffusion head's predictions (eps, v or flow targets),
// weighted over tasks, with the gradient computed in the forward pass. See docs/diffusion-loss.md.
import { native } from '../native/binding';
import type { Device } from '../torch/dtype';
import { handleOf } from '../torch/args';
import { TorchError } from '../torch/errors';
import { op } from '../torch/op';
import { Tensor } from '../torch/tensor';
import * as creation from '../torch/creation';

const OP = 'multitaskDiffusionLoss';
const lossOp = op('unimrg::multitask_diffusion_loss');
const FLOATS = new Set(['float32', 'float64', 'float16', 'bfloat16']);

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

function shapeText(s: number[]): string {
  return `[${s.join(', ')}]`;
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
  for (const [arg, v] of [['pred', pred], ['target', target], ['taskIds', taskIds]] as const) handleOf(v, OP, arg);
  if (opts === undefined || opts === null || opts.weights === undefined) fail('options.weights (one weight per task) is required');
  if (opts.mask != null) handleOf(opts.mask, OP, 'mask');
  const repeat = opts.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1) fail(`repeat (noise draws per token) must be an integer >= 1, got ${repeat}`);
  const ps = pred.shape;
  if (ps.length !== 2) fail(`pred must be 2-D [tokens * repeat, channels], got ${shapeText(ps)}; flatten the trailing dimensions (pred.flatten(1))`);
  const ts = target.shape;
  if (ts.length !== ps.length || ts.some((d, i) => d !== ps[i])) fail(`target shape ${shapeText(ts)} does not match pred shape ${shapeText(ps)}`);
  const pd = pred.dtype;
  if (!FLOATS.has(pd)) fail(`pred must be float32, float64, float16 or bfloat16, got ${pd}`);
  if (target.dtype !== pd) fail(`target dtype ${target.dtype} does not match pred dtype ${pd}`);
  const is = taskIds.shape;
  if (is.length !== 1) fail(`taskIds must be 1-D [tokens], got ${shapeText(is)}`);
  if (taskIds.dtype !== 'int64' && taskIds.dtype !== 'int32') fail(`taskIds must be int64 or int32, got ${taskIds.dtype}`);
  const n = is[0];
  if (ps[0] !== n * repeat) {
    fail(`pred has ${ps[0]} rows but taskIds has ${n} tokens and repeat is ${repeat}: expected ${n * repeat} rows ` +
      '(draw-major: row d * tokens + i is noise draw d of token i, as pred.repeat(k, 1) gives)');
  }
  const device = pred.device;
  const made: Tensor[] = [];
  try {
    const weights = vector(opts.weights, 'weights', device, pd, made);
    const ws = weights.shape;
    if (ws.length !== 1 || ws[0] < 1) fail(`weights must be 1-D [tasks] with at least one task, got ${shapeText(ws)}`);
    const tasks = ws[0];
    const mask = opts.mask ?? null;
    if (mask !== null) {
      const ms = mask.shape;
      if (ms.length !== 1 || ms[0] !== n) fail(`mask must be [tokens] = [${n}] (one value per token, not per repeated row), got ${shapeText(ms)}`);
      if (mask.requiresGrad) fail('mask is not differentiable; pass mask.detach()');
    }
    const denominators = opts.denominators == null ? null : vector(opts.denominators, 'denominators', device, pd, made);
    if (denominators !== null) {
      const ds = denominators.shape;
      if (ds.length !== 1 || ds[0] !== tasks) fail(`denominators must be [tasks] = [${tasks}] like weights, got ${shapeText(ds)}`);
      if (denominators.requiresGrad) fail('denominators are not differentiable; pass denominators.detach()');
    }
    for (const [name, t] of [['target', target], ['taskIds', taskIds], ['weights', weights], ['mask', mask], ['denominators', denominators]] as const) {
      if (t !== null && t.device !== device) fail(`${name} is on ${t.device} but pred is on ${device}`);
    }
    const hs = native.call(lossOp.id, pred._h, target._h, taskIds._h, weights._h, mask?._h ?? null, denominators?._h ?? null, repeat) as number[];
    return { loss: new Tensor(hs[0]), taskLoss: new Tensor(hs[1]), taskWeight: new Tensor(hs[2]) };
  } finally {
    for (const t of made) t.dispose();
  }
}

/** A tensor as given, or numbers made into a tensor on device, float64 for float64 pred and
 *  float32 otherwise (the caller frees it). */
function vector(v: Tensor | number[], name: string, device: Device, predDtype: string, made: Tensor[]): Tensor {
  if (v instanceof Tensor) return v;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    fail(`${name} must be a tensor or an array of finite numbers`);
  }
  // Free to check on the host; tensors are checked by the op (see native/kernels/losses/nonnegative.h).
  if (name === 'denominators' && v.some((x) => x < 0)) fail(`denominators must be >= 0, got [${v.join(', ')}]`);
  const t = creation.tensor(v, { dtype: predDtype === 'float64' ? 'float64' : 'float32', device });
  made.push(t);
  return t;
}

// The noise helpers (noised inputs, targets, schedules) travel with the loss.
export * from './noise';
