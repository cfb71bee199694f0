// The Janus-Pro module tree with its checkpoint names (deepseek-ai/Janus, MultiModalityCausalLM):
//   language_model        LlamaForCausalLM: model.embed_tokens, model.layers.N.*, model.norm, lm_head
//   vision_model          .vision_tower: the SigLIP ViT (understanding encoder)
//   aligner               MlpProjector: layers.0 (Linear), GELU, layers.2 (Linear), …
//   gen_vision_model      the frozen VQ image tokenizer (our ImageCodec)
//   gen_embed             Embedding(codebook, genEmbedDim)
//   gen_aligner           MlpProjector: genEmbedDim → LLM dim
//   gen_head              VisionHead: output_mlp_projector, GELU, vision_head
//   gen_image_start       ours: the learned input at the first image position (Janus feeds the
//                         <begin_of_image> token's text embedding there)
// See docs/adapters/autoregressive-vq.md for the name mapping, including the vision tower's.
import { GELU } from '../../nn/activation';
import { Sequential } from '../../nn/container';
import { Embedding, Linear, type FactoryOpts } from '../../nn/linear';
import { Module } from '../../nn/module';
import { DecoderLM } from '../../nn/transformer';
import { ViTEncoder } from '../../nn/vit';
import * as creation from '../../torch/creation';
import { normal_ } from '../../nn/init';
import { tidy } from '../../torch/scope';
import type { Tensor } from '../../torch/tensor';
import type { ImageCodec } from '../codecs/types';
import type { AutoregressiveVQConfig } from './config';

/**
 * Janus's MlpProjector ('mlp_gelu'): Linear(in, D), then (depth − 1) × [GELU, Linear(D, D)],
 * as one Sequential named `layers` (so the linears are layers.0, layers.2, …).
 */
export class MlpProjector extends Module {
  readonly layers: Sequential;
  constructor(inDim: number, outDim: number, depth: number, f: FactoryOpts = {}) {
    super();
    const mods: (Linear | GELU)[] = [new Linear(inDim, outDim, f)];
    for (let i = 1; i < depth; i++) mods.push(new GELU(), new Linear(outDim, outDim, f));
    this.layers = this.registerModule('layers', new Sequential(...mods));
  }
  forward(x: Tensor): Tensor { return this.layers.forward(x); }
}

/** Janus's VisionHead: vision_head(GELU(output_mlp_projector(h))) → code logits. */
export class VisionHead extends Module {
  readonly outputMlpProjector: Linear;
  readonly visionHead: Linear;
  constructor(dim: number, embedDim: number, codebookSize: number, f: FactoryOpts = {}) {
    super();
    this.outputMlpProjector = this.registerModule('output_mlp_projector', new Linear(dim, embedDim, f));
    this.visionHead = this.registerModule('vision_head', new Linear(embedDim, codebookSize, f));
  }
  /** The features vision_head reads: GELU(output_mlp_projector(h)) [.., embedDim]. */
  features(h: Tensor): Tensor {
    return tidy(() => this.outputMlpProjector.forward(h).gelu('none'));
  }
  forward(h: Tensor): Tensor {
    return tidy(() => this.visionHead.forward(this.features(h)));
  }
}

/** Janus's CLIPVisionTower wrapper: the ViT lives under `vision_tower`. */
export class VisionModel extends Module {
  readonly visionTower: ViTEncoder;
  constructor(c: AutoregressiveVQConfig, f: FactoryOpts = {}) {
    super();
    this.visionTower = this.registerModule('vision_tower', new ViTEncoder({
      imageSize: c.visionImageSize, patchSize: c.visionPatchSize, dim: c.visionDim, numHeads: c.visionHeads,
      numLayers: c.visionLayers, hiddenDim: c.visionHiddenDim, normEps: c.visionNormEps, approximate: 'tanh', ...f,
    }));
  }
  /** Images [B, 3, S, S] → patch features [B, N, visionDim]. */
  forward(pixels: Tensor): Tensor { return this.visionTower.forward(pixels); }
}

export class JanusModel extends Module {
  readonly languageModel: DecoderLM;
  readonly visionModel: VisionModel;
  readonly aligner: MlpProjector;
  readonly genVisionModel: ImageCodec;
  readonly genAligner: MlpProjector;
  readonly genHead: VisionHead;
  readonly genEmbed: Embedding;
  /** [dim]: the input embedding at the first generated-image position. */
  readonly genImageStart: Tensor;

  constructor(readonly config: AutoregressiveVQConfig, vocabSize: number, codec: ImageCodec, f: FactoryOpts = {}) {
    super();
    const c = config;
    this.languageModel = this.registerModule('language_model', new DecoderLM({
      vocabSize, dim: c.dim, numLayers: c.numLayers, numHeads: c.numHeads, numKvHeads: c.numKvHeads ?? undefined,
      hiddenDim: c.hiddenDim, norm: 'rms', mlp: 'swiglu', normEps: c.normEps, ropeBase: c.ropeBase, ...f,
    }));
    this.visionModel = this.registerModule('vision_model', new VisionModel(c, f));
    this.aligner = this.registerModule('aligner', new MlpProjector(c.visionDim, c.dim, c.alignerDepth, f));
    this.genVisionModel = this.registerModule('gen_vision_model', codec);
    this.genAligner = this.registerModule('gen_aligner', new MlpProjector(c.genEmbedDim, c.dim, c.genAlignerDepth, f));
    this.genHead = this.registerModule('gen_head', new VisionHead(c.dim, c.genHeadDim, c.codebookSize, f));
    this.genEmbed = this.registerModule('gen_embed', new Embedding(c.codebookSize, c.genEmbedDim, f));
    this.genImageStart = this.registerParameter('gen_image_start', normal_(creation.empty([c.dim], f)));
  }

  /** Condition images (normalised) → LLM-space features [B, conditionTokens, dim]. */
  conditionFeatures(pixels: Tensor): Tensor {
    return tidy(() => this.aligner.forward(this.visionModel.forward(pixels)));
  }

  /** Code ids [..] → LLM-space input embeddings [.., dim] (Janus's prepare_gen_img_embeds). */
  codeEmbeddings(codes: Tensor): Tensor {
    return tidy(() => this.genAligner.forward(this.genEmbed.forward(codes)));
  }

  forward(): never { throw new Error('JanusModel has no forward(); use the adapter (forward, answer, generate)'); }
}
