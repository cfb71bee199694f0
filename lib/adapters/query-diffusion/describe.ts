// Sizes of a query-diffusion model computed from its config alone, so a published-size preset
// (openuni-b-512: about 1.5 B parameters) can be described without allocating it.
import { sceneTokenizer } from '../../data/tokenizer/scene-vocabulary';
import type { ModelDescription } from '../types';
import { codecParameterCount } from '../codecs';
import { batchFormatOf, codecConfig, type QueryDiffusionConfig } from './config';

/** Parts: lmm.vision_model, lmm.mlp1, lmm.language_model, meta_queries, connector, projector, transformer, vae. */
export interface QueryDiffusionDescription extends ModelDescription {
  /** Side of the codec's latent grid the DiT denoises. */
  latentGrid: number;
  latentDim: number;
}

const linear = (i: number, o: number, bias = true) => i * o + (bias ? o : 0);
const layerNorm = (d: number) => 2 * d;

/** A pre-norm ViT / connector block (LayerNorms, q/k/v/out with bias, fc1/fc2). */
const vitBlock = (d: number, h: number) => 2 * layerNorm(d) + 4 * linear(d, d) + linear(d, h) + linear(h, d);

/**
 * trainable: all but the codec, less the parts `freeze` names. llm.vocabSize 0 (the tokenizer's)
 * counts `vocabSize` rows (default: the scene tokenizer's).
 */
export function describe(c: QueryDiffusionConfig, vocabSize = c.llm.vocabSize || sceneTokenizer().vocabSize): QueryDiffusionDescription {
  const v = c.vision, l = c.llm, k = c.connector, d = c.dit;
  const patches = (c.conditionSize / v.patchSize) ** 2;
  const vision = linear(3 * v.patchSize * v.patchSize, v.dim) + patches * v.dim + v.numLayers * vitBlock(v.dim, v.hiddenDim) + layerNorm(v.dim);
  const w = v.dim * v.pixelShuffle * v.pixelShuffle;
  const mlp1 = layerNorm(w) + linear(w, l.dim) + linear(l.dim, l.dim);
  const kv = (l.dim / l.numHeads) * l.numKvHeads;
  const llmLayer = 2 * l.dim + linear(l.dim, l.dim, l.bias) + 2 * linear(l.dim, kv, l.bias) + linear(l.dim, l.dim, l.bias) + 3 * l.dim * l.hiddenDim;
  const llm = vocabSize * l.dim * (l.tieEmbeddings ? 1 : 2) + l.numLayers * llmLayer + l.dim;
  const queries = c.numQueries * l.dim;
  const connector = k.numLayers * vitBlock(l.dim, k.hiddenDim);
  const projector = linear(l.dim, d.captionChannels);
  const D = d.numHeads * d.headDim, ci = d.crossHeads * d.crossHeadDim, p = d.patchSize, C = c.codec.latentDim;
  const hidden = Math.floor(d.mlpRatio * D);
  const block = 3 * D * D + linear(D, D) // attn1: to_q/k/v without bias, to_out.0
    + 3 * linear(D, ci) + linear(ci, D) // attn2
    + linear(D, 2 * hidden) + 2 * hidden * 9 + 2 * hidden + hidden * D // ff
    + 6 * D; // scale_shift_table
  const transformer = linear(C * p * p, D) + linear(256, D) + linear(D, D) + linear(D, 6 * D) + linear(d.captionChannels, D) + linear(D, D) + D
    + d.numLayers * block + 2 * D + linear(D, p * p * C);
  const vae = codecParameterCount(codecConfig(c));
  const parameters = { 'lmm.vision_model': vision, 'lmm.mlp1': mlp1, 'lmm.language_model': llm, meta_queries: queries, connector, projector, transformer, vae };
  const total = Object.values(parameters).reduce((a, b) => a + b, 0);
  const trainable = total - vae - (c.freeze.lmm ? vision + mlp1 + llm : 0) - (c.freeze.transformer ? transformer : 0);
  return { parameters, total, trainable, batchFormat: batchFormatOf(c), latentGrid: c.generationSize / c.codec.patchSize, latentDim: C };
}
