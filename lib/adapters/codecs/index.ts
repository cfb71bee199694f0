// Frozen image codecs: the patch VQ tokenizer (discrete tokens for autoregressive-vq) and the
// patch PCA autoencoder (continuous tokens for mar-diffusion and query-diffusion).
import type { Device, DType } from '../../torch/dtype';
import { PatchAutoencoder, type PatchAutoencoderConfig } from './patch-autoencoder';
import { PatchVQ, type PatchVQConfig } from './patch-vq';

export type { CodecKind, ImageCodec } from './types';
export { PatchVQ, kmeans, nearestCodes } from './patch-vq';
export type { PatchVQConfig, KMeansOptions, KMeansProgress, KMeansResult } from './patch-vq';
export { PatchAutoencoder, PatchMoments, fitPca } from './patch-autoencoder';
export type { PatchAutoencoderConfig, PcaResult } from './patch-autoencoder';
export { PatchCodec, patchify, unpatchify } from './patches';
export type { PatchGeometry } from './patches';
export * from './fit';
export * from './scene-targets';
export * from './codec-file';

export interface CodecOptions { dtype?: DType; device?: Device }

export type CodecConfig =
  | ({ kind: 'vq' } & PatchVQConfig)
  | ({ kind: 'continuous' } & PatchAutoencoderConfig);

/**
 * Parameter elements of a codec of this shape, without building it (the families' describe()):
 * vq, the codebook; continuous, the patch mean, the basis and the per-channel scale.
 */
export function codecParameterCount(config: CodecConfig): number {
  const patchDim = 3 * config.patchSize * config.patchSize;
  return config.kind === 'vq' ? config.codebookSize * patchDim : patchDim + config.latentDim * patchDim + config.latentDim;
}

/**
 * An unfitted codec of the given shape (vq: constant-colour codes; continuous: a DCT basis),
 * ready for `loadStateDict`, `loadCodec`'s weights or use as a crude data-free codec.
 * `fitCodec` / `fitCodecOnScenes` give fitted ones.
 */
export function createCodec(config: { kind: 'vq' } & PatchVQConfig, opts?: CodecOptions): PatchVQ;
export function createCodec(config: { kind: 'continuous' } & PatchAutoencoderConfig, opts?: CodecOptions): PatchAutoencoder;
export function createCodec(config: CodecConfig, opts?: CodecOptions): PatchVQ | PatchAutoencoder;
export function createCodec(config: CodecConfig, opts: CodecOptions = {}): PatchVQ | PatchAutoencoder {
  if (config === null || typeof config !== 'object') throw new TypeError(`createCodec: expected a config object, got ${String(config)}`);
  switch (config.kind) {
    case 'vq': return new PatchVQ(config, opts);
    case 'continuous': return new PatchAutoencoder(config, opts);
    default: throw new RangeError(`createCodec: kind must be 'vq' or 'continuous', got '${String((config as { kind?: unknown }).kind)}'`);
  }
}
