// `import { nn } from 'unimrg'`: modules with PyTorch / Hugging Face parameter names.
export { Module, namePredicate, type LoadResult, type NamePattern } from './module';
export { Linear, Embedding, type FactoryOpts } from './linear';
export { LayerNorm, RMSNorm, GroupNorm } from './normalization';
export { Conv2d, type Conv2dOpts } from './conv';
export { Dropout, ReLU, GELU, SiLU, Tanh, Sigmoid, Identity } from './activation';
export { RotaryEmbedding, applyRotary, rotateHalf, type RotaryTables } from './rotary';
export { Attention, attend, attentionBias, repeatKv, maskValue, type AttentionConfig, type AttentionInputs } from './attention';
export { SwiGLU, MLP } from './mlp';
export { KVCache, LayerKV } from './kv-cache';
export { TransformerBlock, DecoderModel, DecoderLM, type BlockConfig, type DecoderConfig } from './transformer';
export { PatchEmbedding, ViTBlock, ViTEncoder, type ViTConfig } from './vit';
export { Sequential, ModuleList } from './container';
export * as init from './init';
export { timestepEmbedding } from './timestep';
