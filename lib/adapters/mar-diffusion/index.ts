// mar-diffusion: Harmon-style unified models (an LLM between a MAR encoder and decoder, a frozen
// continuous autoencoder, a per-token MLP diffusion head). See docs/adapters/mar-diffusion.md.
import { checkedConfig } from '../common/config';
import type { FamilyDefinition } from '../types';
import { MarDiffusionAdapter } from './adapter';
import { codecConfig, configProblems, PRESETS, resolveConfig, type MarDiffusionConfig } from './config';

export { MarDiffusionAdapter } from './adapter';
export { PRESETS, resolveConfig, codecConfig, configProblems, batchFormatOf, gridSize, seqLen, imagePositions, type MarDiffusionConfig } from './config';
export { describe, type MarDiffusionDescription } from './describe';
export type { ModelDescription } from '../types';
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
  create: (config, opts) => new MarDiffusionAdapter(checkedConfig('mar-diffusion', config, configProblems), opts),
};
