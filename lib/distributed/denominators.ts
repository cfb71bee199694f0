// The fused multitask losses normalise task t by D_t. Under data parallelism each rank sees only
// its shard's token counts C_t^r; for the averaged gradient to equal one process over the whole
// batch, every rank must divide by the global count: D_t = (Σ_r C_t^r) / worldSize, because DDP
// averages (divides by worldSize) the per-rank gradients of Σ_t w_t S_t^r / D_t.
import { Tensor } from '../torch/tensor';
import type { ProcessGroup } from './group';

/** Σ over ranks of taskTokens ([T], e.g. MultitaskLoss.taskTokens), as float64. */
export async function globalTaskTokens(taskTokens: Tensor, group: ProcessGroup): Promise<Tensor> {
  const c = taskTokens.detach().to('float64', { copy: true }).contiguous();
  await group.allReduce(c, 'sum');
  return c;
}

/**
 * The `denominators` to pass to multitaskCrossEntropy / multitaskDiffusionLoss on this rank when
 * gradients are averaged over ranks (DistributedDataParallel): global token counts / worldSize,
 * float32 (use .to(dtype) for float64 logits). The mean over ranks of the losses computed with
 * them equals the single-process loss.
 */
export async function ddpDenominators(taskTokens: Tensor, group: ProcessGroup): Promise<Tensor> {
  const total = await globalTaskTokens(taskTokens, group);
  const d = total.div(group.worldSize).to('float32');
  total.dispose();
  return d;
}
