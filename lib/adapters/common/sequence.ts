// Image positions in a token sequence: visual features go in at placeholder positions, hidden
// states come out of them. Both keep autograd (masked_scatter / masked_select are differentiable).
import { tidy } from '../../torch/scope';
import { Tensor } from '../../torch/tensor';

/**
 * embeds [B, L, D] with rows of `values` ([M, D] or [.., D], M = mask.sum()) written in order at
 * the positions where mask [B, L] is true.
 */
export function placeAt(embeds: Tensor, mask: Tensor, values: Tensor): Tensor {
  return tidy(() => {
    const D = embeds.shape[2];
    const flat = values.reshape([-1, D]);
    const m = mask.unsqueeze(-1).expandAs(embeds);
    const v = flat.dtype === embeds.dtype ? flat : flat.to(embeds.dtype);
    return embeds.maskedScatter(m, v);
  });
}

/** The rows of hidden [B, L, D] where mask [B, L] is true, in order: [M, D]. */
export function takeAt(hidden: Tensor, mask: Tensor): Tensor {
  return tidy(() => {
    const D = hidden.shape[2];
    const m = mask.unsqueeze(-1).expandAs(hidden);
    return hidden.maskedSelect(m).reshape([-1, D]);
  });
}

/**
 * The value of x with its gradient scaled by s: UniMRG scales the gradient that flows from the
 * LLM into the condition image's visual features by 0.1.
 */
export function scaleGrad(x: Tensor, s: number): Tensor {
  if (s === 1) return x;
  return tidy(() => {
    const d = x.detach();
    return d.add(x.sub(d).mul(s));
  });
}

/**
 * Next-token alignment: the prediction for position i+1 is made at position i. Returns the
 * [B, L-1] targets (labels shifted left) and task ids, flattened to [N], for logits taken at
 * positions 0..L-2.
 */
export function shiftTargets(labels: Tensor, taskIds: Tensor): { targets: Tensor; taskIds: Tensor } {
  return tidy(() => {
    const L = labels.shape[1];
    return {
      targets: labels.narrow(1, 1, L - 1).reshape([-1]),
      taskIds: taskIds.narrow(1, 1, L - 1).reshape([-1]),
    };
  });
}

/**
 * The answer tokens of a batch, next-token aligned: hidden [M, D] at every position whose next
 * label is trained (not -100), with those labels and their task ids [M]. M may be 0.
 */
export function answerRows(hidden: Tensor, labels: Tensor, taskIds: Tensor): { hidden: Tensor; targets: Tensor; taskIds: Tensor } {
  return tidy(() => {
    const [B, L] = labels.shape;
    const shifted = shiftTargets(labels, taskIds);
    const valid = shifted.targets.ne(-100).reshape([B, L - 1]);
    const pick = (t: Tensor) => takeAt(t.reshape([B, L - 1, 1]), valid).reshape([-1]);
    return { hidden: takeAt(hidden.narrow(1, 0, L - 1), valid), targets: pick(shifted.targets), taskIds: pick(shifted.taskIds) };
  });
}
