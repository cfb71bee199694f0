// Fused multitask losses (our libtorch custom ops, native/kernels/): one export line per loss.
export * from './cross-entropy';
export * from './diffusion';
