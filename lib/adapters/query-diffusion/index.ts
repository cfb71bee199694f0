// The query-diffusion family (MetaQuery / OpenUni style): `adapters.create('query-diffusion', preset)`.
import { checkedConfig } from '../common/config';
import type { FamilyDefinition } from '../types';
import { QueryDiffusionAdapter } from './adapter';
import { codecConfig, configProblems, PRESETS, resolveConfig, type QueryDiffusionConfig } from './config';

export { QueryDiffusionAdapter } from './adapter';
export { PRESETS, resolveConfig, codecConfig, configProblems, batchFormatOf, conditionTokens } from './config';
export type { QueryDiffusionConfig, VisionConfig, LLMConfig, ConnectorConfig, DiTConfig, CodecShape, FlowConfig, SamplingConfig } from './config';
export { QueryDiffusionModel, Connector } from './model';
export { SanaTransformer, linearAttention, timestepFeatures } from './dit';
export { pixelShuffle } from './vision';
export { describe, type QueryDiffusionDescription } from './describe';
export type { ModelDescription } from '../types';
export { sampleTimes, eulerSample, seededNoise } from './flow';

export const definition: FamilyDefinition<QueryDiffusionConfig> = {
  family: 'query-diffusion',
  presets: PRESETS,
  resolveConfig,
  codecConfig,
  create: (config, opts) => new QueryDiffusionAdapter(checkedConfig('query-diffusion', config, configProblems), opts),
};
