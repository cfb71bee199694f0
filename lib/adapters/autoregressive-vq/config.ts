// Configuration of the autoregressive-vq family (Janus-Pro style): presets, validation, and a
// description (parameter counts, batch format) computed without building the model, so the
// published-size preset can be inspected on a laptop.
import { NORMALIZATIONS, type NormalizationName } from '../../data/preprocess';
import type { CodecConfig } from '../codecs';
import type { BatchFormat } from '../types';
import { freezePresets, resolvePreset } from '../common/config';

export type HeadLoss = 'linear-cross-entropy' | 'cross-entropy';

export interface AutoregressiveVQConfig {
  // ---- language model (Llama layout: language_model.model.*, language_model.lm_head) -------
  /** Text vocabulary; null: the tokenizer's vocabSize. */
  vocabSize: number | null;
  /** Hidden size of the LLM (Janus-Pro-1B: 2048). */
  dim: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads (grouped-query attention); null: numHeads. */
  numKvHeads: number | null;
  /** SwiGLU hidden size (intermediate_size). */
  hiddenDim: number;
  /** RMSNorm epsilon. */
  normEps: number;
  /** Rotary base (rope_theta). */
  ropeBase: number;

  // ---- understanding encoder (vision_model.vision_tower: SigLIP ViT) and aligner ----------
  /** Side of the condition image (pixels). */
  visionImageSize: number;
  visionPatchSize: number;
  visionDim: number;
  visionLayers: number;
  visionHeads: number;
  visionHiddenDim: number;
  visionNormEps: number;
  /** Linear layers of the aligner MLP (Janus 'mlp_gelu' depth 2: layers.0, GELU, layers.2). */
  alignerDepth: number;

  // ---- generation: VQ codec (gen_vision_model), gen_embed, gen_aligner, gen_head ------------
  /** Side of the generated image (pixels) = the codec's imageSize. */
  imageSize: number;
  /** Pixels per visual token side (the codec's downsampling). */
  codecPatchSize: number;
  /** Number of VQ codes (gen_head's output size). */
  codebookSize: number;
  /** gen_embed: code → this many dims (Janus: 8), then gen_aligner → LLM dim. */
  genEmbedDim: number;
  /** Linear layers of gen_aligner. */
  genAlignerDepth: number;
  /** gen_head.output_mlp_projector width (image_token_embed). */
  genHeadDim: number;

  // ---- training --------------------------------------------------------------------------
  /** Gradient scale from the LLM into the condition image's features (UniMRG: 0.1). */
  conditionGradScale: number;
  /** How the text head's loss is computed ('linear-cross-entropy': logits never whole). */
  textLoss: HeadLoss;
  /** How gen_head's loss is computed. */
  imageLoss: HeadLoss;
  /** Whether post-training updates the understanding encoder (the aligner is always trained). */
  trainVisionEncoder: boolean;

  // ---- data --------------------------------------------------------------------------------
  template: 'qwen' | 'plain';
  normalization: NormalizationName;
}

const base: Omit<AutoregressiveVQConfig, 'dim' | 'numLayers' | 'numHeads' | 'hiddenDim' | 'visionImageSize' | 'visionPatchSize' | 'visionDim' | 'visionLayers' | 'visionHeads' | 'visionHiddenDim' | 'imageSize' | 'codecPatchSize' | 'codebookSize' | 'genEmbedDim' | 'genHeadDim'> = {
  vocabSize: null,
  numKvHeads: null,
  normEps: 1e-6,
  ropeBase: 10000,
  visionNormEps: 1e-6,
  alignerDepth: 2,
  genAlignerDepth: 2,
  conditionGradScale: 0.1,
  textLoss: 'linear-cross-entropy',
  imageLoss: 'linear-cross-entropy',
  trainVisionEncoder: true,
  template: 'qwen',
  normalization: 'siglip',
};

export const PRESETS: Readonly<Record<string, AutoregressiveVQConfig>> = freezePresets({
  /** 64 px, trains on 2 CPU cores in minutes. */
  tiny: {
    ...base,
    dim: 64, numLayers: 2, numHeads: 4, hiddenDim: 172,
    visionImageSize: 64, visionPatchSize: 8, visionDim: 64, visionLayers: 2, visionHeads: 4, visionHiddenDim: 128,
    imageSize: 64, codecPatchSize: 8, codebookSize: 256,
    genEmbedDim: 8, genHeadDim: 64,
  },
  /**
   * 64 px like tiny (same codec), twice as wide and deep: the shipped base models' size (bases/),
   * chosen from the learning curve in docs/results/ (tiny stops near 0.35 val accuracy).
   */
  mini: {
    ...base,
    dim: 128, numLayers: 4, numHeads: 4, hiddenDim: 344,
    visionImageSize: 64, visionPatchSize: 8, visionDim: 128, visionLayers: 4, visionHeads: 4, visionHiddenDim: 256,
    imageSize: 64, codecPatchSize: 8, codebookSize: 256,
    genEmbedDim: 8, genHeadDim: 128,
  },
  /** 128 px, a few million parameters: minutes per hundred steps on a CPU, seconds on a GPU. */
  small: {
    ...base,
    dim: 256, numLayers: 4, numHeads: 8, hiddenDim: 688,
    visionImageSize: 128, visionPatchSize: 16, visionDim: 192, visionLayers: 4, visionHeads: 4, visionHiddenDim: 768,
    imageSize: 128, codecPatchSize: 8, codebookSize: 1024,
    genEmbedDim: 8, genHeadDim: 256,
  },
  /**
   * Shaped like deepseek-ai/Janus-Pro-1B (its config.json): DeepSeek-LLM 1.3B body (2048 wide,
   * 24 layers, 16 heads, SwiGLU 5632, vocabulary 102400), SigLIP-L/16 at 384 px (1024 wide, 24
   * layers, 16 heads, MLP 4096; 576 condition tokens), aligner mlp_gelu depth 2 (1024 → 2048),
   * VQ-16 (16× downsampling: 24 × 24 = 576 tokens, 16384 codes of 8 dims), gen_aligner 8 → 2048,
   * gen_head 2048 → 2048 → 16384. For GPUs; do not build it on a small machine.
   */
  'janus-pro-1b': {
    ...base,
    vocabSize: 102400,
    dim: 2048, numLayers: 24, numHeads: 16, hiddenDim: 5632,
    visionImageSize: 384, visionPatchSize: 16, visionDim: 1024, visionLayers: 24, visionHeads: 16, visionHiddenDim: 4096,
    imageSize: 384, codecPatchSize: 16, codebookSize: 16384,
    genEmbedDim: 8, genHeadDim: 2048,
  },
});

const posInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Every problem of a config, one sentence each (empty when valid). */
export function configProblems(config: AutoregressiveVQConfig): string[] {
  const c = config as unknown as Record<string, unknown>;
  const p: string[] = [];
  const int = (k: keyof AutoregressiveVQConfig) => {
    if (!posInt(c[k])) p.push(`${k} must be a positive integer, got ${String(c[k])}`);
    return posInt(c[k]);
  };
  for (const k of ['dim', 'numLayers', 'numHeads', 'hiddenDim', 'visionImageSize', 'visionPatchSize', 'visionDim', 'visionLayers',
    'visionHeads', 'visionHiddenDim', 'alignerDepth', 'imageSize', 'codecPatchSize', 'codebookSize', 'genEmbedDim', 'genAlignerDepth', 'genHeadDim'] as const) int(k);
  if (c.vocabSize !== null && !posInt(c.vocabSize)) p.push(`vocabSize must be a positive integer or null (the tokenizer's), got ${String(c.vocabSize)}`);
  if (c.numKvHeads !== null && !posInt(c.numKvHeads)) p.push(`numKvHeads must be a positive integer or null (= numHeads), got ${String(c.numKvHeads)}`);
  if (posInt(c.dim) && posInt(c.numHeads)) {
    if (c.dim % c.numHeads !== 0) p.push(`dim ${c.dim} must be divisible by numHeads ${c.numHeads}`);
    else if ((c.dim / c.numHeads) % 2 !== 0) p.push(`dim / numHeads = ${c.dim / c.numHeads} must be even (rotary embeddings rotate pairs)`);
    if (posInt(c.numKvHeads) && c.numHeads % c.numKvHeads !== 0) p.push(`numHeads ${c.numHeads} must be divisible by numKvHeads ${c.numKvHeads}`);
  }
  if (posInt(c.visionDim) && posInt(c.visionHeads) && c.visionDim % c.visionHeads !== 0) p.push(`visionDim ${c.visionDim} must be divisible by visionHeads ${c.visionHeads}`);
  if (posInt(c.visionImageSize) && posInt(c.visionPatchSize) && c.visionImageSize % c.visionPatchSize !== 0) {
    p.push(`visionPatchSize ${c.visionPatchSize} must divide visionImageSize ${c.visionImageSize}`);
  }
  if (posInt(c.imageSize) && posInt(c.codecPatchSize)) {
    if (c.imageSize % c.codecPatchSize !== 0) p.push(`codecPatchSize ${c.codecPatchSize} must divide imageSize ${c.imageSize}`);
    else if (c.imageSize / c.codecPatchSize < 2) p.push(`imageSize / codecPatchSize must be at least 2 (at least 4 visual tokens), got ${c.imageSize / c.codecPatchSize}`);
  }
  for (const k of ['normEps', 'visionNormEps'] as const) {
    const v = c[k];
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) p.push(`${k} must be a finite number > 0, got ${String(v)}`);
  }
  if (typeof c.ropeBase !== 'number' || !(c.ropeBase > 1) || !Number.isFinite(c.ropeBase)) p.push(`ropeBase must be a finite number > 1, got ${String(c.ropeBase)}`);
  const s = c.conditionGradScale;
  if (typeof s !== 'number' || !(s >= 0) || !Number.isFinite(s)) p.push(`conditionGradScale must be a finite number >= 0, got ${String(s)}`);
  for (const k of ['textLoss', 'imageLoss'] as const) {
    if (c[k] !== 'linear-cross-entropy' && c[k] !== 'cross-entropy') p.push(`${k} must be 'linear-cross-entropy' or 'cross-entropy', got ${JSON.stringify(c[k])}`);
  }
  if (typeof c.trainVisionEncoder !== 'boolean') p.push(`trainVisionEncoder must be a boolean, got ${String(c.trainVisionEncoder)}`);
  if (c.template !== 'qwen' && c.template !== 'plain') p.push(`template must be 'qwen' or 'plain', got ${JSON.stringify(c.template)}`);
  if (typeof c.normalization !== 'string' || !(c.normalization in NORMALIZATIONS)) {
    p.push(`normalization must be one of ${Object.keys(NORMALIZATIONS).join(', ')}, got ${JSON.stringify(c.normalization)}`);
  }
  return p;
}

/** The VQ codec the model's visual tokens come from. */
export function codecConfig(c: AutoregressiveVQConfig): CodecConfig {
  return { kind: 'vq', imageSize: c.imageSize, patchSize: c.codecPatchSize, codebookSize: c.codebookSize };
}

/** A preset overridden by `overrides`; a RangeError names every bad field. */
export function resolveConfig(preset: string, overrides: Partial<AutoregressiveVQConfig> = {}): AutoregressiveVQConfig {
  return resolvePreset('autoregressive-vq', PRESETS, preset, overrides, configProblems);
}

/** What the data pipeline must produce for this config. */
export function batchFormatOf(c: AutoregressiveVQConfig): BatchFormat {
  return {
    conditionSize: c.visionImageSize,
    generationSize: c.imageSize,
    conditionTokens: (c.visionImageSize / c.visionPatchSize) ** 2,
    generationTokens: (c.imageSize / c.codecPatchSize) ** 2,
    normalization: c.normalization,
    template: c.template,
  };
}
