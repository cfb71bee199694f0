// Sizes of an autoregressive-vq model from its config alone (no tensor is allocated): how the
// janus-pro-1b preset is inspected on a small machine.
import { sceneTokenizer } from '../../data/tokenizer/scene-vocabulary';
import type { ModelDescription } from '../types';
import { codecParameterCount } from '../codecs';
import { batchFormatOf, codecConfig, type AutoregressiveVQConfig } from './config';

/**
 * Parameter counts from the config alone (no tensor is allocated). vocabSize null (the
 * tokenizer's) counts `vocabSize` rows (default: the scene tokenizer's).
 */
export function describe(c: AutoregressiveVQConfig, vocabSize = c.vocabSize ?? sceneTokenizer().vocabSize): ModelDescription {
  const V = vocabSize;
  const D = c.dim;
  const kv = c.numKvHeads ?? c.numHeads;
  const headDim = D / c.numHeads;
  const linear = (i: number, o: number, bias = true) => i * o + (bias ? o : 0);
  const attn = D * D * 2 + 2 * D * kv * headDim; // q, o: D×D; k, v: D×(kv·headDim); no biases (Llama)
  const block = attn + 3 * D * c.hiddenDim + 2 * D;
  const language = V * D + c.numLayers * block + D + V * D;
  const vd = c.visionDim;
  const patches = (c.visionImageSize / c.visionPatchSize) ** 2;
  const vblock = 4 * linear(vd, vd) + linear(vd, c.visionHiddenDim) + linear(c.visionHiddenDim, vd) + 4 * vd;
  const vision = 3 * c.visionPatchSize ** 2 * vd + vd + patches * vd + c.visionLayers * vblock + 2 * vd;
  const mlp = (i: number, depth: number) => linear(i, D) + (depth - 1) * linear(D, D);
  const codec = codecParameterCount(codecConfig(c));
  const parameters: Record<string, number> = {
    language_model: language,
    vision_model: vision,
    aligner: mlp(vd, c.alignerDepth),
    gen_vision_model: codec,
    gen_aligner: mlp(c.genEmbedDim, c.genAlignerDepth),
    gen_head: linear(D, c.genHeadDim) + linear(c.genHeadDim, c.codebookSize),
    gen_embed: c.codebookSize * c.genEmbedDim,
    gen_image_start: D,
  };
  const total = Object.values(parameters).reduce((a, b) => a + b, 0);
  const trainable = total - codec - (c.trainVisionEncoder ? 0 : vision);
  return { batchFormat: batchFormatOf(c), parameters, total, trainable };
}
