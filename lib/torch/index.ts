// `import { torch } from 'unimrg'`: the tensor API over libtorch.
import { autograd, enableGrad, isGradEnabled, noGrad, setGradEnabled } from './autograd';
import { autocast, getAutocastDtype, isAutocastEnabled } from './autocast';
import { backend, cuda, getNumThreads, getRngState, manualSeed, setNumThreads, setRngState } from './backend';
import * as creation from './creation';
import * as F from './functional';
import { ops } from './ops';
import { jit } from './jit';
import { dispose, emptyCache, keep, memory, tidy } from './scope';
import { Tensor } from './tensor';
import { TorchError } from './errors';

export { Tensor } from './tensor';
export type { NestedArray, Scalar, TensorOrScalar } from './tensor';
export { TorchError } from './errors';
export { ScriptModule, type ScriptOutput, type JitLoadOptions, type JitDefineOptions } from './jit';
export type { DType, Device, TypedArray } from './dtype';
export type { TensorOptions } from './creation';
export type { AutocastDevice, AutocastOptions } from './autocast';

export const torch = {
  Tensor,
  TorchError,
  ...creation,
  cat: F.cat, stack: F.stack, where: F.where, maximum: F.maximum, minimum: F.minimum,
  softmax: F.softmax, logSoftmax: F.logSoftmax, layerNorm: F.layerNorm, dropout: F.dropout,
  embedding: F.embedding, linear: F.linear, conv2d: F.conv2d, interpolate: F.interpolate, pad: F.pad,
  scaledDotProductAttention: F.scaledDotProductAttention,
  matmul: (a: Tensor, b: Tensor) => a.matmul(b),
  /** torch.nn.functional, PyTorch's spelling. */
  nn: { functional: F },
  ops,
  jit,
  autograd, noGrad, enableGrad, isGradEnabled, setGradEnabled,
  autocast, isAutocastEnabled, getAutocastDtype,
  tidy, keep, dispose, memory, emptyCache,
  backend, setNumThreads, getNumThreads, manualSeed, getRngState, setRngState, cuda,
};
export default torch;
