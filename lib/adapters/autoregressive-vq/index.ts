// The autoregressive-vq family (Janus-Pro style): `definition` is what adapters.create() loads.
import { checkedConfig } from '../common/config';
import type { FamilyDefinition } from '../types';
import { AutoregressiveVQAdapter } from './adapter';
import { codecConfig, configProblems, PRESETS, resolveConfig, type AutoregressiveVQConfig } from './config';

export { AutoregressiveVQAdapter } from './adapter';
export { PRESETS, resolveConfig, codecConfig, configProblems, batchFormatOf, type AutoregressiveVQConfig, type HeadLoss } from './config';
export { describe } from './describe';
export type { ModelDescription } from '../types';
export { JanusModel, MlpProjector, VisionHead, VisionModel } from './model';
export { fromJanusPro, JANUS_NAME_RULES } from './janus-weights';

export const definition: FamilyDefinition<AutoregressiveVQConfig> = {
  family: 'autoregressive-vq',
  presets: PRESETS,
  resolveConfig,
  codecConfig,
  create: (config, opts) => new AutoregressiveVQAdapter(checkedConfig('autoregressive-vq', config, configProblems), opts),
};
