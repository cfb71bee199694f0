// The autoregressive-vq family (Janus-Pro style): `definition` is what adapters.create() loads.
import { sceneTokenizer } from '../../data/tokenizer/scene-vocabulary';
import { getRngState, manualSeed, setRngState } from '../../torch/backend';
import { createCodec, type CodecConfig } from '../codecs';
import type { ImageCodec } from '../codecs/types';
import type { CreateOptions, FamilyDefinition } from '../types';
import { AutoregressiveVQAdapter } from './adapter';
import { codecConfig, PRESETS, resolveConfig, type AutoregressiveVQConfig } from './config';
import { JanusModel } from './model';

export { AutoregressiveVQAdapter } from './adapter';
export { PRESETS, resolveConfig, codecConfig, configProblems, batchFormatOf, describe, type AutoregressiveVQConfig, type ConfigDescription, type HeadLoss } from './config';
export { JanusModel, MlpProjector, VisionHead, VisionModel } from './model';
export { fromJanusPro, JANUS_NAME_RULES } from './janus-weights';

/** Checks that a supplied codec has the config's shape; the message names the field to set. */
function checkCodec(codec: ImageCodec, c: AutoregressiveVQConfig): void {
  if (codec.kind !== 'vq') throw new RangeError(`autoregressive-vq needs a discrete codec (kind 'vq'), got kind '${codec.kind}'`);
  const problems: string[] = [];
  if (codec.imageSize !== c.imageSize) problems.push(`imageSize: codec ${codec.imageSize}, config ${c.imageSize}`);
  if (codec.numTokens !== (c.imageSize / c.codecPatchSize) ** 2) problems.push(`codecPatchSize: the codec has ${codec.numTokens} tokens (grid ${codec.gridSize}), config ${c.codecPatchSize} gives ${(c.imageSize / c.codecPatchSize) ** 2}`);
  if (codec.codebookSize !== c.codebookSize) problems.push(`codebookSize: codec ${codec.codebookSize}, config ${c.codebookSize}`);
  if (problems.length > 0) throw new RangeError(`autoregressive-vq: the codec does not match the config (${problems.join('; ')}); set these config fields to the codec's values`);
}

export function create(config: AutoregressiveVQConfig, opts: CreateOptions = {}): AutoregressiveVQAdapter {
  const c = resolveConfig('tiny', config); // re-validates a config built by hand
  const tokenizer = opts.tokenizer ?? sceneTokenizer();
  const vocabSize = c.vocabSize ?? tokenizer.vocabSize;
  if (vocabSize < tokenizer.vocabSize) {
    throw new RangeError(`autoregressive-vq: vocabSize ${vocabSize} is smaller than the tokenizer's ${tokenizer.vocabSize} tokens`);
  }
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed)) throw new RangeError(`autoregressive-vq: seed must be an integer, got ${seed}`);
  if (opts.codec !== undefined) checkCodec(opts.codec, c);
  // Seed initialisation without disturbing the caller's random stream.
  const saved = getRngState();
  let model: JanusModel;
  try {
    manualSeed(seed);
    const codec = opts.codec ?? createCodec({ ...codecConfig(c), seed } as CodecConfig);
    codec.freeze();
    model = new JanusModel(c, vocabSize, codec);
    if (!c.trainVisionEncoder) model.visionModel.freeze();
  } finally {
    setRngState(saved);
    saved.dispose();
  }
  if (opts.device !== undefined && opts.device !== 'cpu') model.to(opts.device);
  model.genVisionModel.eval();
  return new AutoregressiveVQAdapter(model, tokenizer, c);
}

export const definition: FamilyDefinition<AutoregressiveVQConfig> = {
  family: 'autoregressive-vq',
  presets: PRESETS,
  resolveConfig,
  codecConfig,
  create,
};
