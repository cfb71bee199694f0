// The query-diffusion configuration (MetaQuery / OpenUni style), its presets and validation.
// Field groups mirror the published model's parts: `vision` (InternViT + InternVL's pixel
// shuffle and mlp1 projector), `llm` (Qwen2-style decoder), `numQueries` (OpenUni's
// `meta_queries`), `connector` (OpenUni's ConnectorEncoder; its width is the LLM's, as with
// proj_type 'enc_proj'), `dit` (SANA's SanaTransformer2DModel), `codec` (the frozen continuous
// autoencoder standing in for DC-AE), `flow` (training) and `sampling` (generate()).
import type { NormalizationName } from '../../data/preprocess';
import type { CodecConfig } from '../codecs';
import { NORMALIZATIONS } from '../../data/preprocess';
import { freezePresets, resolvePreset } from '../common/config';
import type { BatchFormat } from '../types';

export interface VisionConfig {
  patchSize: number;
  dim: number;
  numLayers: number;
  numHeads: number;
  hiddenDim: number;
  /** InternVL's pixel shuffle: r × r neighbouring patches become one token (r = 1 / downsample_ratio; 1 = none). */
  pixelShuffle: number;
}

export interface LLMConfig {
  /** Vocabulary rows; 0 = the tokenizer's vocabulary size. */
  vocabSize: number;
  dim: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  hiddenDim: number;
  ropeBase: number;
  tieEmbeddings: boolean;
  /** Bias on the attention projections (Qwen2: q/k/v). */
  bias: boolean;
}

export interface ConnectorConfig {
  numLayers: number;
  numHeads: number;
  /** The MLP's intermediate size (OpenUni's connector.intermediate_size). */
  hiddenDim: number;
}

export interface DiTConfig {
  /** Inner width = numHeads × headDim (SANA: num_attention_heads × attention_head_dim). */
  numHeads: number;
  headDim: number;
  numLayers: number;
  crossHeads: number;
  crossHeadDim: number;
  /** Width of the condition the connector's projector hands over (SANA's caption_channels). */
  captionChannels: number;
  /** GLUMBConv expansion (SANA: 2.5). */
  mlpRatio: number;
  /** Patch side on the latent grid (SANA: 1). */
  patchSize: number;
  /** 'linear' (SANA's ReLU linear attention) or 'softmax' self-attention; same parameters. */
  selfAttention: 'linear' | 'softmax';
  /** 'sincos' adds a fixed 2-D position table (a non-persistent buffer); SANA-512 uses none. */
  positionEmbedding: 'sincos' | 'none';
}

export interface CodecShape {
  /** Pixels per latent token side. */
  patchSize: number;
  latentDim: number;
}

export interface FlowConfig {
  /** Training times: 'logit-normal' (t = sigmoid(n), n ~ N(mean, std)) or 'uniform'. */
  timeSampling: 'logit-normal' | 'uniform';
  logitMean: number;
  logitStd: number;
  /** Noise draws per image (k ≥ 1). */
  repeat: number;
  /** Probability of dropping a generation row's condition in training (classifier-free guidance). */
  conditionDropout: number;
}

export interface SamplingConfig {
  steps: number;
  cfg: number;
}

export interface QueryDiffusionConfig {
  /** Side of the condition image fed to the vision encoder. */
  conditionSize: number;
  /** Side of generated images (the codec's imageSize). */
  generationSize: number;
  normalization: NormalizationName;
  template: 'plain' | 'qwen';
  vision: VisionConfig;
  llm: LLMConfig;
  /** Learnable query tokens (OpenUni: num_queries = 256). */
  numQueries: number;
  connector: ConnectorConfig;
  dit: DiTConfig;
  codec: CodecShape;
  flow: FlowConfig;
  sampling: SamplingConfig;
  /** Scale of the gradient from the LLM into the condition image's features (UniMRG: 0.1). */
  conditionGradScale: number;
  /**
   * Parts left frozen under the 'post-training' policy. UniMRG post-training updates everything
   * but the codec (both false); OpenUni's own training froze both (freeze_lmm, freeze_transformer).
   */
  freeze: { lmm: boolean; transformer: boolean };
}

const FLOW: FlowConfig = { timeSampling: 'logit-normal', logitMean: 0, logitStd: 1, repeat: 1, conditionDropout: 0.1 };

const tiny: QueryDiffusionConfig = {
  conditionSize: 64,
  generationSize: 64,
  normalization: 'siglip',
  template: 'qwen',
  vision: { patchSize: 8, dim: 64, numLayers: 2, numHeads: 4, hiddenDim: 128, pixelShuffle: 2 },
  llm: { vocabSize: 0, dim: 128, numLayers: 2, numHeads: 4, numKvHeads: 2, hiddenDim: 256, ropeBase: 10000, tieEmbeddings: false, bias: false },
  numQueries: 16,
  connector: { numLayers: 1, numHeads: 4, hiddenDim: 256 },
  dit: { numHeads: 4, headDim: 24, numLayers: 3, crossHeads: 4, crossHeadDim: 24, captionChannels: 96, mlpRatio: 2.5, patchSize: 1, selfAttention: 'linear', positionEmbedding: 'sincos' },
  codec: { patchSize: 8, latentDim: 16 },
  flow: { ...FLOW, repeat: 2 },
  sampling: { steps: 16, cfg: 2 },
  conditionGradScale: 0.1,
  freeze: { lmm: false, transformer: false },
};

/** 64 px like tiny (same codec), wider and deeper understanding side: the shipped base models' size (bases/). */
const mini: QueryDiffusionConfig = {
  ...tiny,
  vision: { patchSize: 8, dim: 128, numLayers: 4, numHeads: 4, hiddenDim: 256, pixelShuffle: 2 },
  llm: { ...tiny.llm, dim: 128, numLayers: 4, numHeads: 4, numKvHeads: 2, hiddenDim: 344 },
};

const small: QueryDiffusionConfig = {
  conditionSize: 128,
  generationSize: 128,
  normalization: 'siglip',
  template: 'qwen',
  vision: { patchSize: 8, dim: 192, numLayers: 4, numHeads: 6, hiddenDim: 768, pixelShuffle: 2 },
  llm: { vocabSize: 0, dim: 384, numLayers: 6, numHeads: 6, numKvHeads: 2, hiddenDim: 1024, ropeBase: 10000, tieEmbeddings: false, bias: true },
  numQueries: 64,
  connector: { numLayers: 2, numHeads: 6, hiddenDim: 1024 },
  dit: { numHeads: 8, headDim: 32, numLayers: 6, crossHeads: 8, crossHeadDim: 32, captionChannels: 384, mlpRatio: 2.5, patchSize: 1, selfAttention: 'linear', positionEmbedding: 'sincos' },
  codec: { patchSize: 8, latentDim: 32 },
  flow: { ...FLOW, repeat: 2 },
  sampling: { steps: 20, cfg: 3 },
  conditionGradScale: 0.1,
  freeze: { lmm: false, transformer: false },
};

/**
 * OpenUni-B-512 (configs/models/openuni_b_internvl3_1b_sana_0_6b_512_hf.py): InternVL3-1B
 * (InternViT-300M at 448 px, patch 14, pixel shuffle 0.5 → 256 tokens; Qwen2.5-0.5B: 896 wide,
 * 24 layers, 14 / 2 heads, 4864 MLP, vocabulary 151674, untied head), 256 queries, connector
 * 896 wide × 6 layers × 14 heads × 3072 MLP, SANA-0.6B at 512 px (1152 = 36 × 32 wide,
 * 28 layers, cross-attention 16 × 72, caption_channels 2304, mlp_ratio 2.5, patch 1, no
 * position table), DC-AE f32c32 latents (32 channels, 16 × 16 at 512 px).
 */
const openuniB512: QueryDiffusionConfig = {
  conditionSize: 448,
  generationSize: 512,
  normalization: 'imagenet',
  template: 'qwen',
  vision: { patchSize: 14, dim: 1024, numLayers: 24, numHeads: 16, hiddenDim: 4096, pixelShuffle: 2 },
  llm: { vocabSize: 151674, dim: 896, numLayers: 24, numHeads: 14, numKvHeads: 2, hiddenDim: 4864, ropeBase: 1_000_000, tieEmbeddings: false, bias: true },
  numQueries: 256,
  connector: { numLayers: 6, numHeads: 14, hiddenDim: 3072 },
  dit: { numHeads: 36, headDim: 32, numLayers: 28, crossHeads: 16, crossHeadDim: 72, captionChannels: 2304, mlpRatio: 2.5, patchSize: 1, selfAttention: 'linear', positionEmbedding: 'none' },
  codec: { patchSize: 32, latentDim: 32 },
  flow: { ...FLOW, timeSampling: 'uniform' },
  sampling: { steps: 20, cfg: 4.5 },
  conditionGradScale: 0.1,
  freeze: { lmm: false, transformer: false },
};

/** OpenUni-L-512: InternVL3-2B (Qwen2.5-1.5B) + SANA-1.6B (2240 = 70 × 32 wide, 20 layers, cross 20 × 112). */
const openuniL512: QueryDiffusionConfig = {
  ...openuniB512,
  llm: { vocabSize: 151674, dim: 1536, numLayers: 28, numHeads: 12, numKvHeads: 2, hiddenDim: 8960, ropeBase: 1_000_000, tieEmbeddings: false, bias: true },
  connector: { numLayers: 6, numHeads: 24, hiddenDim: 8960 },
  dit: { numHeads: 70, headDim: 32, numLayers: 20, crossHeads: 20, crossHeadDim: 112, captionChannels: 2304, mlpRatio: 2.5, patchSize: 1, selfAttention: 'linear', positionEmbedding: 'none' },
};

export const PRESETS: Readonly<Record<string, QueryDiffusionConfig>> = freezePresets({
  tiny, mini, small, 'openuni-b-512': openuniB512, 'openuni-l-512': openuniL512,
});

// ---- validation -----------------------------------------------------------------------------

type Overrides = { [K in keyof QueryDiffusionConfig]?: QueryDiffusionConfig[K] extends object ? Partial<QueryDiffusionConfig[K]> : QueryDiffusionConfig[K] };

/** The continuous autoencoder whose latents the DiT decodes. */
export function codecConfig(c: QueryDiffusionConfig): CodecConfig {
  return { kind: 'continuous', imageSize: c.generationSize, patchSize: c.codec.patchSize, latentDim: c.codec.latentDim };
}

/** A preset with `overrides` merged in (one level deep for the field groups); a RangeError names every bad field. */
export function resolveConfig(preset: string, overrides: Overrides | Partial<QueryDiffusionConfig> = {}): QueryDiffusionConfig {
  return resolvePreset('query-diffusion', PRESETS, preset, overrides, configProblems);
}

/** What the data pipeline must produce: the condition image's tokens after pixel shuffle, one position per query. */
export function batchFormatOf(c: QueryDiffusionConfig): BatchFormat {
  return {
    conditionSize: c.conditionSize, generationSize: c.generationSize,
    conditionTokens: conditionTokens(c), generationTokens: c.numQueries,
    normalization: c.normalization, template: c.template,
  };
}

const posInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Every problem of a config, each naming its field (empty when valid). */
export function configProblems(c: QueryDiffusionConfig): string[] {
  const p: string[] = [];
  const int = (name: string, v: unknown) => { if (!posInt(v)) p.push(`${name}: must be a positive integer, got ${JSON.stringify(v)}`); };
  const num = (name: string, v: unknown, lo: number, hi: number) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) p.push(`${name}: must be a number in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  };
  const oneOf = (name: string, v: unknown, xs: readonly unknown[]) => { if (!xs.includes(v)) p.push(`${name}: must be one of ${xs.map((x) => JSON.stringify(x)).join(', ')}, got ${JSON.stringify(v)}`); };
  const divides = (name: string, a: number, b: number, what: string) => { if (posInt(a) && posInt(b) && b % a !== 0) p.push(`${name}: ${a} must divide ${what} ${b}`); };

  int('conditionSize', c.conditionSize);
  int('generationSize', c.generationSize);
  oneOf('normalization', c.normalization, Object.keys(NORMALIZATIONS));
  oneOf('template', c.template, ['plain', 'qwen']);
  const v = c.vision;
  for (const f of ['patchSize', 'dim', 'numLayers', 'numHeads', 'hiddenDim', 'pixelShuffle'] as const) int(`vision.${f}`, v[f]);
  divides('vision.patchSize', v.patchSize, c.conditionSize, 'conditionSize');
  divides('vision.numHeads', v.numHeads, v.dim, 'vision.dim');
  if (posInt(v.patchSize) && posInt(v.pixelShuffle) && posInt(c.conditionSize) && (c.conditionSize / v.patchSize) % v.pixelShuffle !== 0) {
    p.push(`vision.pixelShuffle: ${v.pixelShuffle} must divide the ${c.conditionSize / v.patchSize} patches per side`);
  }
  const l = c.llm;
  if (!(typeof l.vocabSize === 'number' && Number.isInteger(l.vocabSize) && l.vocabSize >= 0)) p.push(`llm.vocabSize: must be an integer >= 0 (0 = the tokenizer's), got ${JSON.stringify(l.vocabSize)}`);
  for (const f of ['dim', 'numLayers', 'numHeads', 'numKvHeads', 'hiddenDim'] as const) int(`llm.${f}`, l[f]);
  divides('llm.numHeads', l.numHeads, l.dim, 'llm.dim');
  if (posInt(l.numHeads) && posInt(l.numKvHeads) && l.numHeads % l.numKvHeads !== 0) p.push(`llm.numKvHeads: ${l.numKvHeads} must divide llm.numHeads ${l.numHeads}`);
  if (posInt(l.dim) && posInt(l.numHeads) && (l.dim / l.numHeads) % 2 !== 0) p.push(`llm.numHeads: the head width llm.dim / llm.numHeads = ${l.dim / l.numHeads} must be even (rotary)`);
  num('llm.ropeBase', l.ropeBase, 1, Infinity);
  oneOf('llm.tieEmbeddings', l.tieEmbeddings, [true, false]);
  oneOf('llm.bias', l.bias, [true, false]);
  int('numQueries', c.numQueries);
  const k = c.connector;
  if (!(typeof k.numLayers === 'number' && Number.isInteger(k.numLayers) && k.numLayers >= 0)) p.push(`connector.numLayers: must be an integer >= 0, got ${JSON.stringify(k.numLayers)}`);
  int('connector.numHeads', k.numHeads);
  int('connector.hiddenDim', k.hiddenDim);
  divides('connector.numHeads', k.numHeads, l.dim, 'the connector width llm.dim');
  const d = c.dit;
  for (const f of ['numHeads', 'headDim', 'numLayers', 'crossHeads', 'crossHeadDim', 'captionChannels', 'patchSize'] as const) int(`dit.${f}`, d[f]);
  num('dit.mlpRatio', d.mlpRatio, 0.01, 64);
  oneOf('dit.selfAttention', d.selfAttention, ['linear', 'softmax']);
  oneOf('dit.positionEmbedding', d.positionEmbedding, ['sincos', 'none']);
  if (d.positionEmbedding === 'sincos' && posInt(d.numHeads) && posInt(d.headDim) && (d.numHeads * d.headDim) % 4 !== 0) {
    p.push(`dit.positionEmbedding: 'sincos' needs the width dit.numHeads × dit.headDim (${d.numHeads * d.headDim}) divisible by 4`);
  }
  const cd = c.codec;
  int('codec.patchSize', cd.patchSize);
  int('codec.latentDim', cd.latentDim);
  divides('codec.patchSize', cd.patchSize, c.generationSize, 'generationSize');
  if (posInt(cd.patchSize) && cd.latentDim > 3 * cd.patchSize * cd.patchSize) p.push(`codec.latentDim: ${cd.latentDim} exceeds the ${3 * cd.patchSize * cd.patchSize} values of a patch`);
  if (posInt(cd.patchSize) && posInt(c.generationSize) && posInt(d.patchSize) && (c.generationSize / cd.patchSize) % d.patchSize !== 0) {
    p.push(`dit.patchSize: ${d.patchSize} must divide the latent grid side ${c.generationSize / cd.patchSize}`);
  }
  const f = c.flow;
  oneOf('flow.timeSampling', f.timeSampling, ['logit-normal', 'uniform']);
  num('flow.logitMean', f.logitMean, -10, 10);
  num('flow.logitStd', f.logitStd, 0, 10);
  int('flow.repeat', f.repeat);
  num('flow.conditionDropout', f.conditionDropout, 0, 1);
  int('sampling.steps', c.sampling.steps);
  num('sampling.cfg', c.sampling.cfg, 0, 100);
  num('conditionGradScale', c.conditionGradScale, 0, 1);
  oneOf('freeze.lmm', c.freeze.lmm, [true, false]);
  oneOf('freeze.transformer', c.freeze.transformer, [true, false]);
  return p;
}

/** Tokens one condition image takes in the LLM sequence. */
export function conditionTokens(c: QueryDiffusionConfig): number {
  return (c.conditionSize / c.vision.patchSize / c.vision.pixelShuffle) ** 2;
}
