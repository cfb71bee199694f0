// The mar-diffusion (Harmon-style) configuration: one flat object whose field names follow
// Harmon's config (configs/models/qwen2_5_1_5b_kl16_mar_h.py: the Qwen2 LLM, MAR's arguments,
// the KL-16 autoencoder's latent size), presets and validation.
import type { CodecConfig } from '../codecs';
import { freezePresets, resolvePreset } from '../common/config';
import type { BatchFormat } from '../types';

export interface MarDiffusionConfig {
  // ---- images and the frozen continuous codec -------------------------------------------
  /** Side of condition and generated images (pixels). */
  imageSize: number;
  /** Pixels per latent token side (Harmon: the KL-16 VAE's stride 16). gridSize = imageSize / patchSize. */
  patchSize: number;
  /** Channels per latent token (Harmon: vae_embed_dim 16; MAR patch_size 1, so token_embed_dim = 16). */
  latentDim: number;

  // ---- the LLM (Qwen2 / Llama layout: llm.model.*, llm.lm_head) --------------------------
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  intermediateSize: number;
  ropeTheta: number;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;

  // ---- MAR encoder / decoder (timm ViT blocks: mar.encoder_blocks.N, mar.decoder_blocks.N) ---
  encoderEmbedDim: number;
  encoderDepth: number;
  encoderNumHeads: number;
  decoderEmbedDim: number;
  decoderDepth: number;
  decoderNumHeads: number;
  mlpRatio: number;
  /** Buffer tokens (filled with mar.fake_latent) in front of the image tokens; they pass through the LLM too. */
  bufferSize: number;
  /** Rows of MAR's class embedding (unused by Harmon, kept for the checkpoint layout; 0 = none). */
  classNum: number;
  attnDropout: number;
  projDropout: number;
  /** Lower end of the truncated normal (mean 1.0, std 0.25) the mask ratio is drawn from. */
  maskRatioMin: number;

  // ---- the per-token diffusion head (mar.diffloss.net: SimpleMLPAdaLN) ---------------------
  /** diffloss_w */
  diffusionWidth: number;
  /** diffloss_d: adaLN residual blocks. */
  diffusionDepth: number;
  /** diffusion_batch_mul: noise draws per token (k). */
  diffusionBatchMul: number;
  /** Training timesteps of the discrete cosine schedule (1000). */
  numTimesteps: number;
  /** Sampling steps of the head (respaced, as MAR's num_sampling_steps). */
  samplingSteps: number;
  /** 'ddpm' (MAR's p_sample, fixed posterior variance, scaled by temperature) or 'ddim' (eta 0). */
  sampler: 'ddpm' | 'ddim';
  /**
   * Clamp of the head's x0 estimate while sampling (0 = none, MAR's clip_denoised=False). The
   * first steps of the 1000-step cosine chain have ᾱ ≈ 2e-9, so they multiply any error of an
   * imperfectly trained head by ~10³; a bound a little above the codec's latent range keeps a
   * small model's samples finite.
   */
  clipDenoised: number;
  /** Head outputs 2·latentDim (ε and the variance interpolation, as the published head); only ε is trained here. */
  learnSigma: boolean;

  // ---- UniMRG and decoding ---------------------------------------------------------------
  /** Gradient scale from the LLM into the condition image's features (UniMRG: 0.1). */
  conditionGradScale: number;
  /** MAR decoding iterations (generate's default steps). */
  generationSteps: number;
  /** Default classifier-free guidance scale of generate (1 = none). */
  cfg: number;
  /**
   * Default sampling temperature of the head (MAR's: scales the noise of each DDPM step; 1 in
   * MAR). tiny and small use 0, the chain of posterior means: UniMRG's targets (depth, boundaries,
   * the image itself) are determined by the input, and a small head's noise only blurs them.
   */
  temperature: number;
  template: 'plain' | 'qwen';
}

const TINY: MarDiffusionConfig = {
  imageSize: 64, patchSize: 8, latentDim: 16,
  vocabSize: 128, hiddenSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 128,
  ropeTheta: 10000, rmsNormEps: 1e-6, tieWordEmbeddings: false,
  encoderEmbedDim: 64, encoderDepth: 1, encoderNumHeads: 4,
  decoderEmbedDim: 64, decoderDepth: 1, decoderNumHeads: 4,
  mlpRatio: 2, bufferSize: 4, classNum: 0, attnDropout: 0, projDropout: 0, maskRatioMin: 0.7,
  diffusionWidth: 64, diffusionDepth: 2, diffusionBatchMul: 4, numTimesteps: 1000, samplingSteps: 10,
  sampler: 'ddpm', learnSigma: false, clipDenoised: 10,
  conditionGradScale: 0.1, generationSteps: 8, cfg: 1, temperature: 0, template: 'qwen',
};

/** 64 px like tiny (same codec), twice as wide and deep: the shipped base models' size (bases/). */
const MINI: MarDiffusionConfig = {
  ...TINY,
  hiddenSize: 128, numLayers: 4, numHeads: 4, numKvHeads: 2, intermediateSize: 344,
  encoderEmbedDim: 128, encoderDepth: 2, encoderNumHeads: 4,
  decoderEmbedDim: 128, decoderDepth: 1, decoderNumHeads: 4,
  diffusionWidth: 128, diffusionDepth: 2,
};

const SMALL: MarDiffusionConfig = {
  ...TINY,
  imageSize: 128, patchSize: 8, latentDim: 16,
  vocabSize: 1024, hiddenSize: 256, numLayers: 4, numHeads: 4, numKvHeads: 2, intermediateSize: 688,
  encoderEmbedDim: 256, encoderDepth: 2, encoderNumHeads: 4,
  decoderEmbedDim: 256, decoderDepth: 2, decoderNumHeads: 4,
  mlpRatio: 4, bufferSize: 16,
  diffusionWidth: 256, diffusionDepth: 3, samplingSteps: 25, generationSteps: 16,
};

/**
 * Harmon-1.5B: Qwen2.5-1.5B-Instruct (its config.json), MAR-H encoder and decoder (mar_huge:
 * 1280 wide, 20 blocks, 16 heads, mlp_ratio 4), buffer 64, diffloss_w 1536, diffloss_d 12,
 * diffusion_batch_mul 4, 100 sampling steps; KL-16 latents: 16 channels on a 16 × 16 grid at
 * 256 px. Too large to allocate in tests: see describe().
 */
const HARMON_1_5B: MarDiffusionConfig = {
  imageSize: 256, patchSize: 16, latentDim: 16,
  vocabSize: 151936, hiddenSize: 1536, numLayers: 28, numHeads: 12, numKvHeads: 2, intermediateSize: 8960,
  ropeTheta: 1000000, rmsNormEps: 1e-6, tieWordEmbeddings: true,
  encoderEmbedDim: 1280, encoderDepth: 20, encoderNumHeads: 16,
  decoderEmbedDim: 1280, decoderDepth: 20, decoderNumHeads: 16,
  mlpRatio: 4, bufferSize: 64, classNum: 1000, attnDropout: 0.1, projDropout: 0.1, maskRatioMin: 0.7,
  diffusionWidth: 1536, diffusionDepth: 12, diffusionBatchMul: 4, numTimesteps: 1000, samplingSteps: 100,
  sampler: 'ddpm', learnSigma: true, clipDenoised: 0,
  conditionGradScale: 0.1, generationSteps: 64, cfg: 1, temperature: 1, template: 'qwen',
};

export const PRESETS: Readonly<Record<string, MarDiffusionConfig>> = freezePresets({
  tiny: { ...TINY },
  mini: { ...MINI },
  small: { ...SMALL },
  'harmon-1.5b': { ...HARMON_1_5B },
});

/** The continuous autoencoder the model's latent tokens come from. */
export function codecConfig(c: MarDiffusionConfig): CodecConfig {
  return { kind: 'continuous', imageSize: c.imageSize, patchSize: c.patchSize, latentDim: c.latentDim };
}

/** A preset overridden by `overrides`; a RangeError names every bad field at once. */
export function resolveConfig(preset: string, overrides: Partial<MarDiffusionConfig> = {}): MarDiffusionConfig {
  return resolvePreset('mar-diffusion', PRESETS, preset, overrides, configProblems);
}

/** What the data pipeline must produce: every image, condition or generated, takes imagePositions LLM positions. */
export function batchFormatOf(c: MarDiffusionConfig): BatchFormat {
  const P = imagePositions(c);
  return { conditionSize: c.imageSize, generationSize: c.imageSize, conditionTokens: P, generationTokens: P, normalization: 'siglip', template: c.template };
}

/** Every problem of a config, one sentence each (empty when valid). */
export function configProblems(c: MarDiffusionConfig): string[] {
  const bad: string[] = [];
  const int = (k: keyof MarDiffusionConfig, min = 1) => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) bad.push(`${k} must be an integer >= ${min}, got ${String(v)}`);
  };
  const num = (k: keyof MarDiffusionConfig, lo: number, hi: number, openLo = false) => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || (openLo ? v <= lo : v < lo) || v > hi) bad.push(`${k} must be a number in ${openLo ? '(' : '['}${lo}, ${hi}], got ${String(v)}`);
  };
  const bool = (k: keyof MarDiffusionConfig) => { if (typeof c[k] !== 'boolean') bad.push(`${k} must be a boolean, got ${String(c[k])}`); };
  for (const k of ['imageSize', 'patchSize', 'latentDim', 'vocabSize', 'hiddenSize', 'numLayers', 'numHeads', 'numKvHeads', 'intermediateSize',
    'encoderEmbedDim', 'encoderDepth', 'encoderNumHeads', 'decoderEmbedDim', 'decoderDepth', 'decoderNumHeads',
    'diffusionWidth', 'diffusionDepth', 'diffusionBatchMul', 'numTimesteps', 'samplingSteps', 'generationSteps'] as const) int(k);
  int('bufferSize', 0);
  int('classNum', 0);
  num('mlpRatio', 0, 64, true);
  num('ropeTheta', 0, 1e12, true);
  num('rmsNormEps', 0, 1, true);
  num('attnDropout', 0, 0.99);
  num('projDropout', 0, 0.99);
  num('maskRatioMin', 0, 1, true);
  num('conditionGradScale', 0, 1);
  num('cfg', 1, 100);
  num('temperature', 0, 10);
  num('clipDenoised', 0, 1e6);
  bool('tieWordEmbeddings');
  bool('learnSigma');
  if (c.sampler !== 'ddpm' && c.sampler !== 'ddim') bad.push(`sampler must be 'ddpm' or 'ddim', got ${String(c.sampler)}`);
  if (c.template !== 'qwen' && c.template !== 'plain') bad.push(`template must be 'qwen' or 'plain', got ${String(c.template)}`);
  if (Number.isInteger(c.imageSize) && Number.isInteger(c.patchSize) && c.patchSize > 0 && c.imageSize % c.patchSize !== 0) {
    bad.push(`patchSize ${c.patchSize} must divide imageSize ${c.imageSize} (a whole grid of latent tokens)`);
  }
  const divides = (dim: keyof MarDiffusionConfig, heads: keyof MarDiffusionConfig) => {
    const d = c[dim] as number, h = c[heads] as number;
    if (Number.isInteger(d) && Number.isInteger(h) && h > 0 && d % h !== 0) bad.push(`${heads} ${h} must divide ${dim} ${d}`);
  };
  divides('hiddenSize', 'numHeads');
  divides('encoderEmbedDim', 'encoderNumHeads');
  divides('decoderEmbedDim', 'decoderNumHeads');
  if (Number.isInteger(c.numHeads) && Number.isInteger(c.numKvHeads) && c.numKvHeads > 0 && c.numHeads % c.numKvHeads !== 0) {
    bad.push(`numKvHeads ${c.numKvHeads} must divide numHeads ${c.numHeads}`);
  }
  if (Number.isInteger(c.hiddenSize) && Number.isInteger(c.numHeads) && c.numHeads > 0 && (c.hiddenSize / c.numHeads) % 2 !== 0) {
    bad.push(`hiddenSize / numHeads (${c.hiddenSize / c.numHeads}) must be even (rotary embeddings)`);
  }
  if (Number.isInteger(c.samplingSteps) && Number.isInteger(c.numTimesteps) && c.samplingSteps > c.numTimesteps) {
    bad.push(`samplingSteps ${c.samplingSteps} must be <= numTimesteps ${c.numTimesteps}`);
  }
  return bad;
}

export const gridSize = (c: MarDiffusionConfig): number => c.imageSize / c.patchSize;
export const seqLen = (c: MarDiffusionConfig): number => gridSize(c) ** 2;
/** LLM positions per image: the image tokens followed by the buffer tokens (Harmon moves them to the end). */
export const imagePositions = (c: MarDiffusionConfig): number => seqLen(c) + c.bufferSize;
