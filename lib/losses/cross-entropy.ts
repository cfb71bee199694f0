// Fused multitask cross-entropy: our libtorch custom ops unimrg::multitask_cross_entropy and
// unimrg::multitask_linear_cross_entropy (native/kernels/multitask_ce*, linear_ce.cc), which
// compute the loss and its gradient in one pass. See docs/kernels.md for the contract.
import { native } from '../native/binding';
import type { Device } from '../torch/dtype';
import { handleOf } from '../torch/args';
import { TorchError } from '../torch/errors';
import { op } from '../torch/op';
import { tidy } from '../torch/scope';
import { Tensor } from '../torch/tensor';

const O = {
  ce: op('unimrg::multitask_cross_entropy'),
  linear: op('unimrg::multitask_linear_cross_entropy'),
  zeros: op('zeros'),
};

export type Reduction = 'mean' | 'sum' | 'none';

export interface CrossEntropyOptions {
  /**
   * One weight per task: w_t in loss = Σ_t w_t L_t. A number[] or a 1-D float tensor on the
   * logits' device. Omitted: all 1.0, and then `numTasks` says how many tasks there are.
   * A weights tensor that requires grad receives d loss / d w_t.
   */
  weights?: number[] | Tensor;
  /** T when `weights` is omitted (default 1 when taskIds is null too). */
  numTasks?: number;
  /** Targets equal to this are ignored (no loss, no gradient, not counted). Default -100. */
  ignoreIndex?: number;
  /** ε in [0, 1]: (1-ε) NLL + ε (lse - mean logit). Default 0. */
  labelSmoothing?: number;
  /** z-loss coefficient: adds z·lse² per token. Default 0. */
  zLoss?: number;
  /**
   * D_t per task instead of the task's token count (e.g. a count over every data-parallel
   * rank, or a fixed normaliser); L_t = S_t / D_t, 0 where D_t = 0.
   */
  denominators?: number[] | Tensor | null;
  /** mean: Σ_t w_t S_t/D_t (default); sum: Σ_t w_t S_t; none: per token w_t ℓ_i / D_t. */
  reduction?: Reduction;
  /**
   * Write the gradient into the logits' own memory: no N×V buffer at all. The logits are
   * destroyed (they hold the gradient after the call) whenever a gradient is computed; use it
   * when nothing else needs them (e.g. logits = hidden @ Wᵀ computed just for the loss).
   */
  inplace?: boolean;
}

export interface LinearCrossEntropyOptions extends Omit<CrossEntropyOptions, 'inplace' | 'reduction'> {
  /** Output-layer bias [V]. */
  bias?: Tensor | null;
  /** Tokens per chunk; 0 (default): one chunk of logits takes max(256 MiB, 4·V·H bytes, the float32 grad-weight size). */
  chunkSize?: number;
  /** Accumulate grad weight / grad bias in float32 for float16 / bfloat16 weights (default true). */
  fp32Accumulate?: boolean;
  /** mean or sum; 'none' is refused (the gradient is summed over chunks in the forward pass). */
  reduction?: 'mean' | 'sum';
}

export interface MultitaskLoss {
  /** The loss: 0-d for mean / sum, the targets' shape for none. float32 (float64 for float64 logits). */
  loss: Tensor;
  /** L_t = S_t / D_t per task, [T], detached (float32; float64 for float64 logits). */
  taskLoss: Tensor;
  /** C_t, the valid tokens of each task, [T] int64, detached. */
  taskTokens: Tensor;
}

// Argument checks have one authority, the C++ op (native/kernels/losses/multitask_ce.cc,
// linear_ce.cc), whose refusals surface as TorchErrors naming the argument. Here: only what the op
// cannot see — JavaScript types, the options that exist only here (numTasks, numbers for
// tensors) and the flattening of [..., V] / [...] / prefix-shaped task ids.

function fail(name: string, message: string): never {
  throw new TorchError(`${name}: ${message}`, name);
}

/** Tensor arguments are tensors (not disposed ones: the native call says so). */
function checkTensors(name: string, required: Record<string, unknown>, taskIds: unknown): void {
  for (const [arg, v] of Object.entries(required)) handleOf(v, name, arg);
  if (taskIds !== null) handleOf(taskIds, name, 'taskIds (or null)');
}

/** A 1-D float32 tensor on `device` from numbers (made inside the caller's tidy scope). */
function vector(values: number[], device: Device): Tensor {
  const t = new Tensor(native.fromBuffer(Float32Array.from(values), [values.length], 'float32'));
  return device === 'cpu' ? t : t.to(device);
}

const finiteNumbers = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** weights as a tensor on the logits' device (numbers, a tensor, or numTasks ones). */
function taskWeights(name: string, o: CrossEntropyOptions, device: Device, taskIdsGiven: boolean): Tensor {
  if (o.weights !== undefined) {
    const n = o.weights instanceof Tensor ? o.weights.numel : Array.isArray(o.weights) ? o.weights.length : -1;
    if (o.numTasks !== undefined && o.numTasks !== n) fail(name, `numTasks is ${o.numTasks} but weights has ${n} entries`);
    if (o.weights instanceof Tensor) return o.weights;
    if (!finiteNumbers(o.weights)) fail(name, 'weights must be a non-empty array of finite numbers or a 1-D tensor');
    return vector(o.weights, device);
  }
  const T = o.numTasks ?? (taskIdsGiven ? undefined : 1);
  if (T === undefined) fail(name, 'pass weights (one per task) or numTasks: the number of tasks is not read from taskIds (that would wait on the device)');
  if (!Number.isInteger(T) || T < 1) fail(name, `numTasks must be a positive integer, got ${T}`);
  return vector(new Array<number>(T).fill(1), device);
}

function taskDenominators(name: string, o: CrossEntropyOptions, device: Device): Tensor | null {
  const d = o.denominators;
  if (d === undefined || d === null || d instanceof Tensor) return d ?? null;
  if (!Array.isArray(d) || !d.every((x) => typeof x === 'number' && x >= 0)) fail(name, `denominators must be numbers >= 0 (one per task) or a tensor, got ${JSON.stringify(d)}`);
  return vector(d, device);
}

/**
 * targets and taskIds flattened to [N]. taskIds may have the targets' shape, or a prefix of it
 * (e.g. one task per sequence: targets [B, S], taskIds [B]); null means every token is task 0.
 */
function flatTokens(name: string, targets: Tensor, taskIds: Tensor | null, N: number, device: Device): [Tensor, Tensor] {
  // Checked before flattening, which matches task ids to the targets' shape.
  if (targets.numel !== N) fail(name, `targets have ${targets.numel} elements but there are ${N} rows of logits`);
  const y = targets.ndim === 1 ? targets : targets.reshape(-1);
  if (taskIds === null) {
    return [y, new Tensor(native.call(O.zeros.id, [N], 'int64', null, device, null))];
  }
  const ts = targets.shape;
  const ks = taskIds.shape;
  if (ks.length === ts.length && ks.every((s, i) => s === ts[i])) return [y, taskIds.ndim === 1 ? taskIds : taskIds.reshape(-1)];
  if (ks.length < ts.length && ks.every((s, i) => s === ts[i])) {
    let t = taskIds;
    while (t.ndim < ts.length) t = t.unsqueeze(-1);
    return [y, t.expand(ts).reshape(-1)];
  }
  return fail(name, `taskIds must have the targets' shape [${ts}] or a prefix of it, got [${ks}]`);
}

/** logits [..., V] as [N, V]: 2-D tensors pass as they are (any row stride). */
function flatLogits(name: string, logits: Tensor, what = 'logits'): [Tensor, number, number] {
  const s = logits.shape;
  if (s.length < 2) fail(name, `${what} must be [N, ${what === 'logits' ? 'V' : 'H'}] (or [..., ${what === 'logits' ? 'V' : 'H'}]), got shape [${s}]`);
  const last = s[s.length - 1];
  const N = s.slice(0, -1).reduce((a, b) => a * b, 1);
  return [s.length === 2 ? logits : logits.reshape(N, last), N, last];
}

function wrap(hs: number[], reduction: Reduction, targetShape: number[]): MultitaskLoss {
  let loss = new Tensor(hs[0]);
  if (reduction === 'none' && targetShape.length !== 1) loss = loss.reshape(targetShape);
  return { loss, taskLoss: new Tensor(hs[1]), taskTokens: new Tensor(hs[2]) };
}

/**
 * Cross-entropy over several tasks at once, fused: one pass computes the loss and the gradient
 * (kept for backward). Per token i of task t with target y ≠ ignoreIndex:
 * ℓ_i = (1-ε)(lse_i - x_iy) + ε(lse_i - mean_j x_ij) + z·lse_i²; S_t = Σ ℓ_i, C_t = count,
 * D_t = denominators[t] ?? C_t, L_t = S_t / D_t (0 when D_t = 0); mean: Σ_t w_t L_t.
 *
 * logits [..., V] (float32, float16, bfloat16; float64 on CPU), targets [...] int64/int32,
 * taskIds [...] (or a prefix shape, or null for a single task). Returns { loss, taskLoss, taskTokens }.
 */
export function multitaskCrossEntropy(logits: Tensor, targets: Tensor, taskIds: Tensor | null, opts: CrossEntropyOptions = {}): MultitaskLoss {
  const name = 'multitaskCrossEntropy';
  checkTensors(name, { logits, targets }, taskIds);
  const reduction = opts.reduction ?? 'mean';
  return tidy(() => {
    const [x, N] = flatLogits(name, logits);
    const device = logits.device;
    const [y, t] = flatTokens(name, targets, taskIds, N, device);
    const w = taskWeights(name, opts, device, taskIds !== null);
    const d = taskDenominators(name, opts, device);
    const hs = native.call(O.ce.id, x._h, y._h, t._h, w._h, opts.ignoreIndex ?? -100, opts.labelSmoothing ?? 0,
      opts.zLoss ?? 0, d?._h ?? null, reduction, opts.inplace ?? false) as number[];
    return wrap(hs, reduction, targets.shape);
  });
}

/**
 * The output layer and the cross-entropy fused: logits = hidden · weightᵀ + bias are made one
 * chunk of tokens at a time and never exist whole; the gradients wrt hidden, weight and bias
 * are computed in the forward pass. hidden [..., H], weight [V, H], bias [V] | null.
 */
export function multitaskLinearCrossEntropy(hidden: Tensor, weight: Tensor, targets: Tensor, taskIds: Tensor | null,
  opts: LinearCrossEntropyOptions = {}): MultitaskLoss {
  const name = 'multitaskLinearCrossEntropy';
  checkTensors(name, { hidden, weight, targets }, taskIds);
  if (opts.bias != null) handleOf(opts.bias, name, 'bias');
  const reduction = opts.reduction ?? 'mean';
  return tidy(() => {
    const [h, N] = flatLogits(name, hidden, 'hidden');
    const device = hidden.device;
    const bias = opts.bias ?? null;
    const [y, t] = flatTokens(name, targets, taskIds, N, device);
    const w = taskWeights(name, opts, device, taskIds !== null);
    const d = taskDenominators(name, opts, device);
    const hs = native.call(O.linear.id, h._h, weight._h, y._h, t._h, w._h, bias?._h ?? null, opts.ignoreIndex ?? -100,
      opts.labelSmoothing ?? 0, opts.zLoss ?? 0, d?._h ?? null, reduction, opts.chunkSize ?? 0, opts.fp32Accumulate ?? true) as number[];
    return wrap(hs, reduction, targets.shape);
  });
}
