// The whole query-diffusion model as one module, named as OpenUni's OpenUniInternVL3SANAHF:
//   lmm.vision_model.*, lmm.mlp1.*        understanding encoder + projector (InternVL)
//   lmm.language_model.{model.*, lm_head} the LLM (Qwen2-style decoder)
//   meta_queries                          [numQueries, llm.dim] learnable queries
//   connector.layers.N.*                  bidirectional encoder over the queries' hidden states
//   projector                             connector width → the DiT's caption_channels
//   transformer.*                         the SANA-style DiT
//   vae.*                                 the frozen codec (its own names)
import { ModuleList } from '../../nn/container';
import { Linear } from '../../nn/linear';
import { Module } from '../../nn/module';
import { normal_ } from '../../nn/init';
import { DecoderLM } from '../../nn/transformer';
import { ViTBlock } from '../../nn/vit';
import * as creation from '../../torch/creation';
import type { Device, DType } from '../../torch/dtype';
import { tidy } from '../../torch/scope';
import type { Tensor } from '../../torch/tensor';
import type { ImageCodec } from '../codecs/types';
import { placeAt, scaleGrad, takeAt } from '../common/sequence';
import type { QueryDiffusionConfig } from './config';
import { SanaTransformer } from './dit';
import { VisionTower } from './vision';

type Factory = { dtype?: DType; device?: Device };

/** InternVLChatModel's parts: vision_model, mlp1, language_model. */
class LMM extends Module {
  readonly vision: VisionTower;
  readonly languageModel: DecoderLM;
  constructor(c: QueryDiffusionConfig, vocabSize: number, f: Factory) {
    super();
    this.vision = new VisionTower(this, c.vision, c.conditionSize, c.llm.dim, f);
    const l = c.llm;
    this.languageModel = this.registerModule('language_model', new DecoderLM({
      vocabSize, dim: l.dim, numLayers: l.numLayers, numHeads: l.numHeads, numKvHeads: l.numKvHeads, hiddenDim: l.hiddenDim,
      ropeBase: l.ropeBase, tieEmbeddings: l.tieEmbeddings, bias: l.bias, norm: 'rms', mlp: 'swiglu', normEps: 1e-6, ...f,
    }));
  }
  forward(): never { throw new Error('LMM has no forward(); use QueryDiffusionModel'); }
}

/** OpenUni's ConnectorEncoder: pre-norm blocks (layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1/fc2, tanh GELU), bidirectional. */
export class Connector extends Module {
  readonly layers: ModuleList<ViTBlock>;
  constructor(dim: number, c: QueryDiffusionConfig['connector'], f: Factory) {
    super();
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: c.numLayers }, () => new ViTBlock({
      imageSize: 1, patchSize: 1, dim, numHeads: c.numHeads, numLayers: 1, hiddenDim: c.hiddenDim, normEps: 1e-6, approximate: 'tanh', ...f,
    }))));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = x;
      for (const l of this.layers) h = l.forward(h);
      return h === x ? x.to(x.dtype) : h;
    });
  }
}

export interface SequenceInputs {
  ids: Tensor;
  attentionMask: Tensor | null;
  conditionMask: Tensor;
  /** null: no generation rows. */
  generationMask: Tensor | null;
  /** Normalised condition images [B, 3, S, S], or their features [B, n, D] when precomputed. */
  images?: Tensor;
  features?: Tensor;
  /** Generation rows (rows holding query placeholders). */
  generationRows: number;
}

export class QueryDiffusionModel extends Module {
  readonly lmm: LMM;
  readonly metaQueries: Tensor;
  readonly connector: Connector;
  readonly projector: Linear;
  readonly transformer: SanaTransformer;
  readonly vae: ImageCodec;

  constructor(readonly config: QueryDiffusionConfig, vocabSize: number, codec: ImageCodec, f: Factory) {
    super();
    const c = config;
    this.lmm = this.registerModule('lmm', new LMM(c, vocabSize, f));
    // OpenUni: zeros(num_queries, hidden) then normal_(std = 1 / sqrt(hidden)).
    this.metaQueries = this.registerParameter('meta_queries', tidy(() => normal_(creation.empty([c.numQueries, c.llm.dim], f), 0, 1 / Math.sqrt(c.llm.dim))));
    this.connector = this.registerModule('connector', new Connector(c.llm.dim, c.connector, f));
    this.projector = this.registerModule('projector', new Linear(c.llm.dim, c.dit.captionChannels, f));
    this.transformer = this.registerModule('transformer', new SanaTransformer(c.dit, codec.gridSize, codec.latentDim!, f));
    this.vae = this.registerModule('vae', codec);
  }

  get llm(): DecoderLM { return this.lmm.languageModel; }

  forward(): never { throw new Error('QueryDiffusionModel has no forward(); use the adapter'); }

  /** Condition-image features [B, tokens, llm.dim] (vision_model → pixel shuffle → mlp1). */
  conditionFeatures(images: Tensor): Tensor {
    return this.lmm.vision.features(images);
  }

  /**
   * Last hidden states [B, L, D] of the LLM over ids, with the condition features (gradient
   * scaled by conditionGradScale) at the condition placeholders and the meta queries at the
   * generation placeholders.
   */
  hidden(s: SequenceInputs): Tensor {
    return tidy(() => {
      const c = this.config;
      let embeds = this.llm.model.embedTokens.forward(s.ids);
      const feats = s.features ?? this.conditionFeatures(s.images!);
      embeds = placeAt(embeds, s.conditionMask, scaleGrad(feats, c.conditionGradScale));
      if (s.generationRows > 0 && s.generationMask) {
        const q = this.metaQueries.unsqueeze(0).expand(s.generationRows, c.numQueries, c.llm.dim);
        embeds = placeAt(embeds, s.generationMask, q);
      }
      return this.llm.model.forwardEmbeds(embeds, { attentionMask: s.attentionMask });
    });
  }

  /** The DiT condition [G, numQueries, captionChannels] from the hidden states at the query positions. */
  condition(hidden: Tensor, generationMask: Tensor, rows: number): Tensor {
    return tidy(() => {
      const q = takeAt(hidden, generationMask).reshape([rows, this.config.numQueries, this.config.llm.dim]);
      return this.projector.forward(this.connector.forward(q));
    });
  }
}
