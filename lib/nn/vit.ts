// A ViT-style vision encoder with SigLIP / CLIP names: embeddings.{patch_embedding,
// position_embedding}, encoder.layers.N.{layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2,
// mlp.{fc1, fc2}}, post_layernorm. Bidirectional attention, no class token (as SigLIP).
import * as creation from '../torch/creation';
import { tidy } from '../torch/scope';
import type { Tensor } from '../torch/tensor';
import { Attention } from './attention';
import { Conv2d } from './conv';
import { ModuleList } from './container';
import { Embedding, type FactoryOpts } from './linear';
import { MLP } from './mlp';
import { Module } from './module';
import { LayerNorm } from './normalization';

export interface ViTConfig extends FactoryOpts {
  imageSize: number;
  patchSize: number;
  inChannels?: number;
  dim: number;
  numHeads: number;
  numLayers: number;
  hiddenDim: number;
  normEps?: number;
  /** GELU flavour of the MLP (SigLIP: 'tanh'). */
  approximate?: 'none' | 'tanh';
}

/** Non-overlapping patches → tokens: a conv with kernel = stride = patch, plus learned positions. */
export class PatchEmbedding extends Module {
  readonly patchEmbedding: Conv2d;
  readonly positionEmbedding: Embedding;
  readonly positionIds: Tensor;
  readonly numPatches: number;
  constructor(c: Pick<ViTConfig, 'imageSize' | 'patchSize' | 'inChannels' | 'dim' | 'dtype' | 'device'>) {
    super();
    const f = { dtype: c.dtype, device: c.device };
    if (c.imageSize % c.patchSize !== 0) throw new Error(`PatchEmbedding: imageSize ${c.imageSize} is not a multiple of patchSize ${c.patchSize}`);
    this.numPatches = (c.imageSize / c.patchSize) ** 2;
    this.patchEmbedding = this.registerModule('patch_embedding', new Conv2d(c.inChannels ?? 3, c.dim, c.patchSize, { stride: c.patchSize, ...f }));
    this.positionEmbedding = this.registerModule('position_embedding', new Embedding(this.numPatches, c.dim, f));
    this.positionIds = this.registerBuffer('position_ids', tidy(() => creation.arange(0, this.numPatches).unsqueeze(0)), false);
  }
  /** Images [B, C, H, W] → tokens [B, N, dim]. */
  forward(pixels: Tensor): Tensor {
    return tidy(() => {
      const x = this.patchEmbedding.forward(pixels).flatten(2).transpose(1, 2);
      return x.add(this.positionEmbedding.forward(this.positionIds));
    });
  }
}

export class ViTBlock extends Module {
  readonly layerNorm1: LayerNorm;
  readonly selfAttn: Attention;
  readonly layerNorm2: LayerNorm;
  readonly mlp: MLP;
  constructor(c: ViTConfig) {
    super();
    const f = { dtype: c.dtype, device: c.device };
    this.layerNorm1 = this.registerModule('layer_norm1', new LayerNorm(c.dim, { eps: c.normEps ?? 1e-6, ...f }));
    this.selfAttn = this.registerModule('self_attn', new Attention({ dim: c.dim, numHeads: c.numHeads, bias: true, outName: 'out_proj', causal: false, ...f }));
    this.layerNorm2 = this.registerModule('layer_norm2', new LayerNorm(c.dim, { eps: c.normEps ?? 1e-6, ...f }));
    this.mlp = this.registerModule('mlp', new MLP(c.dim, c.hiddenDim, { approximate: c.approximate ?? 'tanh', ...f }));
  }
  forward(x: Tensor, o: { attentionMask?: Tensor | null } = {}): Tensor {
    return tidy(() => {
      const h = x.add(this.selfAttn.forward(this.layerNorm1.forward(x), { causal: false, attentionMask: o.attentionMask }));
      return h.add(this.mlp.forward(this.layerNorm2.forward(h)));
    });
  }
}

class ViTLayers extends Module {
  readonly layers: ModuleList<ViTBlock>;
  constructor(c: ViTConfig) {
    super();
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: c.numLayers }, () => new ViTBlock(c))));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = x;
      for (const l of this.layers) h = l.forward(h);
      return h === x ? x.to(x.dtype) : h;
    });
  }
}

export class ViTEncoder extends Module {
  readonly embeddings: PatchEmbedding;
  readonly encoder: ViTLayers;
  readonly postLayernorm: LayerNorm;
  constructor(readonly config: ViTConfig) {
    super();
    this.embeddings = this.registerModule('embeddings', new PatchEmbedding(config));
    this.encoder = this.registerModule('encoder', new ViTLayers(config));
    this.postLayernorm = this.registerModule('post_layernorm', new LayerNorm(config.dim, { eps: config.normEps ?? 1e-6, dtype: config.dtype, device: config.device }));
  }
  /** Images [B, C, H, W] → patch features [B, N, dim]. */
  forward(pixels: Tensor): Tensor {
    return tidy(() => this.postLayernorm.forward(this.encoder.forward(this.embeddings.forward(pixels))));
  }
}
