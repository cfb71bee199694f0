// An adapter's loss terms through the fused losses: loss = Σ_terms Σ_t w_t L_t,term. Each task
// normally lives in one term (answers in 'text', generation in 'image' or 'diffusion'), so the
// per-task losses are the terms' L_t added up.
import { TASKS } from '../data/tasks/kinds';
import { multitaskCrossEntropy, multitaskLinearCrossEntropy } from '../losses/cross-entropy';
import { multitaskDiffusionLoss } from '../losses/diffusion';
import * as creation from '../torch/creation';
import { dispose, tidy } from '../torch/scope';
import { ddpDenominators } from '../distributed/denominators';
import type { ProcessGroup } from '../distributed/group';
import { Tensor } from '../torch/tensor';
import type { Module } from '../nn/module';
import type { ForwardOutput, LossTerm } from './types';

export interface AdapterLossOptions {
  /** One weight per task in TASKS order (default 1 each): numbers, or a float tensor [T] made once by the caller. */
  weights?: readonly number[] | Tensor;
  /**
   * Per-term denominators [T] (by term name) instead of the term's own counts: e.g. the counts
   * summed over micro-batches or data-parallel ranks (see termCounts).
   */
  denominators?: Record<string, Tensor>;
  /** Label smoothing of the cross-entropy terms (default 0). */
  labelSmoothing?: number;
}

export interface AdapterLoss {
  /** 0-d, differentiable. */
  loss: Tensor;
  /** L_t per task [T], summed over terms, detached. */
  taskLoss: Tensor;
  /** Tokens (cross-entropy) or weighted token-draws (diffusion) per task [T], detached. */
  taskTokens: Tensor;
}

const T = TASKS.length;

function checkWeights(w: readonly number[] | Tensor | undefined): number[] | Tensor {
  if (w === undefined) return TASKS.map(() => 1);
  if (w instanceof Tensor) {
    if (w.ndim !== 1 || w.numel !== T) throw new RangeError(`task weights must be a 1-D tensor of ${T} (${TASKS.join(', ')}), got shape [${w.shape}]`);
    return w;
  }
  if (w.length !== T || w.some((x) => !Number.isFinite(x) || x < 0)) {
    throw new RangeError(`task weights must be ${T} finite numbers >= 0 (${TASKS.join(', ')}), got [${w.join(', ')}]`);
  }
  return [...w];
}

/** The per-task counts a term normalises by: valid targets (cross-entropy) or repeat × mask sum (diffusion). */
export function termCounts(term: LossTerm): Tensor {
  return tidy(() => {
    const device = term.taskIds.device;
    const counts = creation.zeros([T], { dtype: 'float32', device });
    if (term.kind === 'diffusion') {
      const m = term.mask == null ? creation.ones([term.taskIds.numel], { dtype: 'float32', device }) : term.mask.float().reshape([-1]);
      return counts.scatterAdd(0, term.taskIds.reshape([-1]), m).mul(term.repeat);
    }
    const valid = term.targets.reshape([-1]).ne(-100).float();
    return counts.scatterAdd(0, term.taskIds.reshape([-1]), valid);
  });
}

/**
 * Frees a forward output's tensors, except those that belong to the model (a linear
 * cross-entropy term may hand over a parameter itself as its weight). For callers that cannot
 * scope the forward pass in tidy() (e.g. an await between forward and loss).
 */
export function disposeForwardOutput(out: ForwardOutput, model: Module): void {
  const own = new Set([...model.parameters(), ...model.buffers()].map((t) => t._h));
  for (const term of out.terms) {
    for (const v of Object.values(term)) {
      if (v instanceof Tensor && !own.has(v._h) && !v.isDisposed) v.dispose();
    }
  }
}

/**
 * A micro-batch's loss as training needs it, normalisation included: the terms weighted per task,
 * each task divided by its token count — summed over every data-parallel rank when a group is
 * given, so that the gradient DDP averages equals one process's over the whole batch (see
 * distributed/denominators). The caller disposes the result's tensors.
 */
export async function trainingLoss(out: ForwardOutput, o: { weights: Tensor; group?: ProcessGroup | null }): Promise<AdapterLoss> {
  if (!o.group) return adapterLoss(out, { weights: o.weights });
  const denominators: Record<string, Tensor> = {};
  try {
    for (const term of out.terms) denominators[term.name] = await ddpDenominators(tidy(() => termCounts(term)), o.group);
    return adapterLoss(out, { weights: o.weights, denominators });
  } finally {
    dispose(Object.values(denominators));
  }
}

export function adapterLoss(out: ForwardOutput, o: AdapterLossOptions = {}): AdapterLoss {
  const weights = checkWeights(o.weights);
  if (out.terms.length === 0) throw new RangeError('the adapter returned no loss terms');
  return tidy(() => {
    let loss: Tensor | null = null;
    let taskLoss: Tensor | null = null;
    let taskTokens: Tensor | null = null;
    for (const term of out.terms) {
      const denominators = o.denominators?.[term.name] ?? null;
      let r: { loss: Tensor; taskLoss: Tensor; tokens: Tensor };
      if (term.kind === 'cross-entropy') {
        const x = multitaskCrossEntropy(term.logits, term.targets, term.taskIds, { weights, denominators, labelSmoothing: o.labelSmoothing });
        r = { loss: x.loss, taskLoss: x.taskLoss, tokens: x.taskTokens.float() };
      } else if (term.kind === 'linear-cross-entropy') {
        const x = multitaskLinearCrossEntropy(term.hidden, term.weight, term.targets, term.taskIds,
          { weights, denominators, labelSmoothing: o.labelSmoothing, bias: term.bias ?? null });
        r = { loss: x.loss, taskLoss: x.taskLoss, tokens: x.taskTokens.float() };
      } else {
        const x = multitaskDiffusionLoss(term.pred, term.target, term.taskIds, { weights, mask: term.mask ?? null, denominators, repeat: term.repeat });
        r = { loss: x.loss, taskLoss: x.taskLoss, tokens: x.taskWeight.float() };
      }
      loss = loss === null ? r.loss.float() : loss.add(r.loss.float());
      taskLoss = taskLoss === null ? r.taskLoss.float() : taskLoss.add(r.taskLoss.float());
      taskTokens = taskTokens === null ? r.tokens : taskTokens.add(r.tokens);
    }
    return { loss: loss!, taskLoss: taskLoss!, taskTokens: taskTokens! };
  });
}
