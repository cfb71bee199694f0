// mar-diffusion: Harmon-style unified models (an LLM between a MAR encoder and decoder, a frozen
// continuous autoencoder, a per-token MLP diffusion head). See docs/adapters/mar-diffusion.md.
import type { FamilyDefinition } from '../types';
import { MarDiffusionAdapter } from './adapter';
import { codecConfig, PRESETS, resolveConfig, type MarDiffusionConfig } from './config';

export { MarDiffusionAdapter } from './adapter';
export { PRESETS, resolveConfig, codecConfig, validate, gridSize, seqLen, imagePositions, type MarDiffusionConfig } from './config';
export { describe, type ModelDescription } from './describe';
export { HarmonModel } from './model';
export { Mar, maskRatios, randomMasking } from './mar';
export { MarBlock, FusedAttention } from './block';
export { SimpleMLPAdaLN, DiffLoss, sampleTokens, respacedSchedule, spacedTimesteps } from './diffusion-head';
export { timestepEmbedding } from '../../nn/timestep';

export const definition: FamilyDefinition<MarDiffusionConfig> = {
  family: 'mar-diffusion',
  presets: PRESETS,
  resolveConfig,
  codecConfig,
  create: (config, opts) => new MarDiffusionAdapter(resolveConfig('tiny', { ...config }), opts),
};
