// The understanding side of an InternVL-style LMM: `lmm.vision_model` (a ViT), InternVL's
// pixel shuffle (r × r neighbouring patch features concatenated into one token) and `lmm.mlp1`
// (LayerNorm → Linear → GELU → Linear), giving the features placed at the condition-image
// positions of the LLM sequence.
import { GELU } from '../../nn/activation';
import { Sequential } from '../../nn/container';
import { Linear } from '../../nn/linear';
import { Module } from '../../nn/module';
import { LayerNorm } from '../../nn/normalization';
import { ViTEncoder } from '../../nn/vit';
import type { Device, DType } from '../../torch/dtype';
import { tidy } from '../../torch/scope';
import type { Tensor } from '../../torch/tensor';
import type { VisionConfig } from './config';

/**
 * InternVL's pixel_shuffle (ps_version 'v2') with scale 1 / r, then flattened to tokens:
 * [B, N, C] patch features (N = s², s = patches per side) → [B, N / r², C r²].
 */
export function pixelShuffle(x: Tensor, r: number): Tensor {
  if (r === 1) return x.to(x.dtype);
  return tidy(() => {
    const [B, N, C] = x.shape;
    const s = Math.round(Math.sqrt(N));
    // n, w, h, c → n, w, h/r, c·r → n, h/r, w, c·r → n, h/r, w/r, c·r² → n, w/r, h/r, c·r²
    const y = x.reshape([B, s, s, C]).reshape([B, s, s / r, C * r]).permute([0, 2, 1, 3]).contiguous()
      .reshape([B, s / r, s / r, C * r * r]).permute([0, 2, 1, 3]).contiguous();
    return y.reshape([B, (s / r) * (s / r), C * r * r]);
  });
}

/** vision_model + mlp1, the two understanding parts of InternVLChatModel. */
export class VisionTower {
  readonly visionModel: ViTEncoder;
  readonly mlp1: Sequential;
  constructor(owner: Module, readonly config: VisionConfig, imageSize: number, llmDim: number, f: { dtype?: DType; device?: Device }) {
    const v = config;
    this.visionModel = owner.registerModule('vision_model', new ViTEncoder({
      imageSize, patchSize: v.patchSize, dim: v.dim, numHeads: v.numHeads, numLayers: v.numLayers, hiddenDim: v.hiddenDim, approximate: 'none', ...f,
    }));
    const width = v.dim * v.pixelShuffle * v.pixelShuffle;
    this.mlp1 = owner.registerModule('mlp1', new Sequential(
      new LayerNorm(width, { eps: 1e-5, ...f }),
      new Linear(width, llmDim, f),
      new GELU(),
      new Linear(llmDim, llmDim, f),
    ));
  }

  /** Normalised images [B, 3, S, S] → condition features [B, tokens, llmDim]. */
  features(images: Tensor): Tensor {
    return tidy(() => this.mlp1.forward(pixelShuffle(this.visionModel.forward(images), this.config.pixelShuffle)));
  }
}
