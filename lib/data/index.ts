// `import { data } from 'unimrg'`: the UniMRG data layer. Scenes, targets, preprocessing,
// tokenizers and task batching run on plain typed arrays; only toTensors() needs the addon.
export * as scenes from './scenes';
export * as label from './label';
export * from './ndarray';
export * from './targets';
export * from './preprocess';
export { resize } from './resize';
export type { Filter, ResizeOptions } from './resize';
export { Rng, hash32, permutation } from './rng';
export * from './tokenizer';
export * from './tasks';
export { readImage, readLabel, encodeImage, writeImage } from './image-io';
export type { ImageFormat } from './image-io';
export { LlavaDataset, PROBLEM_KINDS } from './llava';
export type { LlavaEntry, LlavaOptions, Problem, ProblemKind } from './llava';
export * from './loader';
