// A pre-norm transformer block and a decoder-only language model, laid out and named as
// Hugging Face's Llama (model.embed_tokens, model.layers.N.{input_layernorm, self_attn, …},
// model.norm, lm_head) so Llama-family checkpoints load by name.
import * as creation from '../torch/creation';
import { tidy } from '../torch/scope';
import type { Tensor } from '../torch/tensor';
import { Attention, type AttentionInputs } from './attention';
import type { KVCache } from './kv-cache';
import { ModuleList } from './container';
import { Embedding, Linear, type FactoryOpts } from './linear';
import { MLP, SwiGLU } from './mlp';
import { Module } from './module';
import { LayerNorm, RMSNorm } from './normalization';
import { RotaryEmbedding } from './rotary';

export interface BlockConfig extends FactoryOpts {
  dim: number;
  numHeads: number;
  numKvHeads?: number;
  /** Hidden size of the feed-forward block. */
  hiddenDim: number;
  /** 'rms' + 'swiglu' is Llama; 'layer' + 'gelu' is GPT-2 / ViT style. */
  norm?: 'rms' | 'layer';
  mlp?: 'swiglu' | 'gelu';
  normEps?: number;
  bias?: boolean;
  /** Bias on the attention output projection (default: `bias`). Qwen2 has q/k/v biases only: bias true, outBias false. */
  outBias?: boolean;
  causal?: boolean;
  dropout?: number;
}

/** x + attn(norm1(x)), then h + mlp(norm2(h)). */
export class TransformerBlock extends Module {
  readonly inputLayernorm: RMSNorm | LayerNorm;
  readonly selfAttn: Attention;
  readonly postAttentionLayernorm: RMSNorm | LayerNorm;
  readonly mlp: SwiGLU | MLP;
  constructor(readonly config: BlockConfig) {
    super();
    const c = config;
    const f = { dtype: c.dtype, device: c.device };
    const norm = () => (c.norm ?? 'rms') === 'rms' ? new RMSNorm(c.dim, { eps: c.normEps ?? 1e-6, ...f }) : new LayerNorm(c.dim, { eps: c.normEps ?? 1e-5, ...f });
    this.inputLayernorm = this.registerModule('input_layernorm', norm());
    this.selfAttn = this.registerModule('self_attn', new Attention({
      dim: c.dim, numHeads: c.numHeads, numKvHeads: c.numKvHeads, bias: c.bias ?? false, outBias: c.outBias, causal: c.causal ?? true, dropout: c.dropout, ...f,
    }));
    this.postAttentionLayernorm = this.registerModule('post_attention_layernorm', norm());
    this.mlp = this.registerModule('mlp', (c.mlp ?? 'swiglu') === 'swiglu' ? new SwiGLU(c.dim, c.hiddenDim, { bias: c.bias ?? false, ...f }) : new MLP(c.dim, c.hiddenDim, { bias: c.bias ?? true, ...f }));
  }
  forward(x: Tensor, o: AttentionInputs = {}): Tensor {
    return tidy(() => {
      const h = x.add(this.selfAttn.forward(this.inputLayernorm.forward(x), o));
      return h.add(this.mlp.forward(this.postAttentionLayernorm.forward(h)));
    });
  }
}

export interface DecoderConfig extends Omit<BlockConfig, 'causal'> {
  vocabSize: number;
  numLayers: number;
  ropeBase?: number;
  tieEmbeddings?: boolean;
}

/** The body: embed_tokens, layers, norm (Hugging Face's LlamaModel). */
export class DecoderModel extends Module {
  readonly embedTokens: Embedding;
  readonly layers: ModuleList<TransformerBlock>;
  readonly norm: RMSNorm | LayerNorm;
  readonly rotary: RotaryEmbedding;
  constructor(readonly config: DecoderConfig) {
    super();
    const c = config;
    const f = { dtype: c.dtype, device: c.device };
    this.embedTokens = this.registerModule('embed_tokens', new Embedding(c.vocabSize, c.dim, f));
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: c.numLayers }, () => new TransformerBlock({ ...c, causal: true }))));
    this.norm = this.registerModule('norm', (c.norm ?? 'rms') === 'rms' ? new RMSNorm(c.dim, { eps: c.normEps ?? 1e-6, ...f }) : new LayerNorm(c.dim, { eps: c.normEps ?? 1e-5, ...f }));
    this.rotary = this.registerModule('rotary_emb', new RotaryEmbedding(c.dim / c.numHeads, c.ropeBase ?? 10000, f));
  }
  /** Token ids [B, T] → hidden states [B, T, dim]. */
  forward(ids: Tensor, o: { attentionMask?: Tensor | null } = {}): Tensor {
    return tidy(() => this.forwardEmbeds(this.embedTokens.forward(ids), o));
  }
  /**
   * Input embeddings [B, T, dim] → hidden states (Hugging Face's `inputs_embeds`): how unified
   * models put visual features at image positions of the sequence.
   */
  forwardEmbeds(embeds: Tensor, o: { attentionMask?: Tensor | null; causal?: boolean; cache?: KVCache | null; positions?: Tensor | null } = {}): Tensor {
    return tidy(() => {
      const T = embeds.shape[1];
      // With a cache, embeds are the positions after the cached ones; rows whose padding sits on
      // the left give their own positions ([B, T] int64).
      const start = o.cache?.length ?? 0;
      if (o.cache && o.cache.layers.length !== this.layers.length) {
        throw new Error(`DecoderModel: the cache has ${o.cache.layers.length} layers, the model ${this.layers.length}`);
      }
      const rotary = this.rotary.forward(o.positions ?? creation.arange(start, start + T, 1, { device: embeds.device }));
      let h = embeds;
      let i = 0;
      for (const layer of this.layers) {
        h = layer.forward(h, { rotary, attentionMask: o.attentionMask, causal: o.causal, cache: o.cache?.layers[i++] });
      }
      return this.norm.forward(h);
    });
  }
}

/** DecoderModel under `model.` plus `lm_head` (Hugging Face's LlamaForCausalLM). */
export class DecoderLM extends Module {
  readonly model: DecoderModel;
  readonly lmHead: Linear;
  constructor(readonly config: DecoderConfig) {
    super();
    this.model = this.registerModule('model', new DecoderModel(config));
    this.lmHead = this.registerModule('lm_head', new Linear(config.dim, config.vocabSize, { bias: false, dtype: config.dtype, device: config.device }));
    if (config.tieEmbeddings) {
      this.lmHead.weight.dispose();
      (this.lmHead as { weight: Tensor }).weight = this.lmHead.registerParameter('weight', this.model.embedTokens.weight);
    }
  }
  /** Logits [B, T, vocab]. */
  forward(ids: Tensor, o: { attentionMask?: Tensor | null } = {}): Tensor {
    return tidy(() => this.lmHead.forward(this.model.forward(ids, o)));
  }
}
