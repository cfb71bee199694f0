// Initialisers as PyTorch's torch.nn.init, drawing from libtorch's generator (torch.manualSeed).
import { noGrad } from '../torch/autograd';
import { TorchError } from '../torch/errors';
import type { Tensor } from '../torch/tensor';

/** fan_in and fan_out of a weight ([out, in, *kernel]), as torch.nn.init._calculate_fan_in_and_fan_out. */
export function fans(shape: number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new TorchError(`fan in/out needs a tensor with at least 2 dimensions, got ${shape.length}`, 'init');
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

export const uniform_ = (t: Tensor, a = 0, b = 1): Tensor => noGrad(() => t.uniform_(a, b));
export const normal_ = (t: Tensor, mean = 0, std = 1): Tensor => noGrad(() => t.normal_(mean, std));
export const zeros_ = (t: Tensor): Tensor => noGrad(() => t.zero_());
export const ones_ = (t: Tensor): Tensor => noGrad(() => t.fill_(1));
export const constant_ = (t: Tensor, v: number): Tensor => noGrad(() => t.fill_(v));

/** kaiming_uniform_ with leaky-relu slope a (fan_in mode): bound = gain * sqrt(3 / fan_in). */
export function kaimingUniform_(t: Tensor, a = 0): Tensor {
  const gain = Math.sqrt(2 / (1 + a * a));
  const bound = gain * Math.sqrt(3 / fans(t.shape).fanIn);
  return uniform_(t, -bound, bound);
}
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound);
}
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}
