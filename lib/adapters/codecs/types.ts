// Image codecs: the frozen image tokenizer (discrete, for autoregressive-vq) or autoencoder
// (continuous, for mar-diffusion and query-diffusion) that turns generation targets into the
// tokens the UMM predicts and its predictions back into images. Fitted on the dataset by
// `unimrg tokenizer`, then frozen during post-training (UniMRG never updates them).
import type { Module } from '../../nn/module';
import type { Tensor } from '../../torch/tensor';

export type CodecKind = 'vq' | 'continuous';

export interface ImageCodec extends Module {
  readonly kind: CodecKind;
  /** Side of the square images it encodes (pixels). */
  readonly imageSize: number;
  /** Tokens per side: an image is gridSize² tokens, row-major. */
  readonly gridSize: number;
  /** gridSize². */
  readonly numTokens: number;
  /** vq: the number of codes (token ids are in [0, codebookSize)). */
  readonly codebookSize?: number;
  /** continuous: channels per token. */
  readonly latentDim?: number;
  /**
   * Images [B, 3, imageSize, imageSize] in [-1, 1] → vq: int64 codes [B, numTokens];
   * continuous: float latents [B, numTokens, latentDim] (roughly unit scale). Never records autograd.
   */
  encode(images: Tensor): Tensor;
  /** The inverse: codes or latents → images [B, 3, imageSize, imageSize] in [-1, 1]. */
  decode(tokens: Tensor): Tensor;
}
