// The query-diffusion family (MetaQuery / OpenUni style): `adapters.create('query-diffusion', preset)`.
import type { FamilyDefinition } from '../types';
import { QueryDiffusionAdapter } from './adapter';
import { codecConfig, PRESETS, resolveConfig, validate, type QueryDiffusionConfig } from './config';

export { QueryDiffusionAdapter } from './adapter';
export { PRESETS, resolveConfig, codecConfig, validate, conditionTokens } from './config';
export type { QueryDiffusionConfig, VisionConfig, LLMConfig, ConnectorConfig, DiTConfig, CodecShape, FlowConfig, SamplingConfig } from './config';
export { QueryDiffusionModel, Connector } from './model';
export { SanaTransformer, linearAttention, timestepFeatures } from './dit';
export { pixelShuffle } from './vision';
export { describeModel, type ModelDescription } from './describe';
export { sampleTimes, eulerSample, seededNoise } from './flow';

export const definition: FamilyDefinition<QueryDiffusionConfig> = {
  family: 'query-diffusion',
  presets: PRESETS,
  resolveConfig: (preset, overrides) => resolveConfig(preset, overrides ?? {}),
  codecConfig,
  create: (config, opts) => {
    const problems = validate(config);
    if (problems.length > 0) throw new RangeError(`invalid query-diffusion config: ${problems.join('; ')}`);
    return new QueryDiffusionAdapter(config, opts);
  },
};
