// unimrg: post-train unified multimodal models with UniMRG, on libtorch.
export { torch, Tensor, TorchError } from './torch';
export type { DType, Device, TensorOptions, NestedArray, TypedArray } from './torch';
export * as losses from './losses';
export * as data from './data';
export * as nn from './nn';
export * as optim from './optim';
export * as io from './io';
export * as distributed from './distributed';
export * as adapters from './adapters';
export * as unimrg from './unimrg';
