// A small diffusion transformer laid out and named as diffusers' SanaTransformer2DModel
// (`transformer.` in OpenUni): patch_embed.proj, time_embed (AdaLayerNormSingle: emb.
// timestep_embedder.linear_{1,2}, linear), caption_projection.linear_{1,2}, caption_norm,
// transformer_blocks.N.{attn1, attn2, ff.conv_{inverted,depth,point}, scale_shift_table},
// scale_shift_table, proj_out. Tokens are the codec's latent grid; the condition (the connector's
// output) enters through cross-attention, the time through adaLN-single modulation. It predicts
// the flow-matching velocity ε − x0.
import { timestepEmbedding } from '../../nn/timestep';
import { Conv2d } from '../../nn/conv';
import { ModuleList } from '../../nn/container';
import { attend } from '../../nn/attention';
import { Linear } from '../../nn/linear';
import { Module } from '../../nn/module';
import { LayerNorm, RMSNorm } from '../../nn/normalization';
import { noGrad } from '../../torch/autograd';
import * as creation from '../../torch/creation';
import type { Device, DType } from '../../torch/dtype';
import { tidy } from '../../torch/scope';
import type { Tensor } from '../../torch/tensor';
import type { DiTConfig } from './config';

type Factory = { dtype?: DType; device?: Device };

/** A named group of submodules (a PyTorch container whose forward is its owner's business). */
class Group extends Module {
  forward(): never { throw new Error(`${this.constructor.name} has no forward() of its own`); }
}

/** SANA feeds times in [0, 1000] (num_train_timesteps); t ∈ [0, 1] is scaled by this. */
export const TIMESTEP_SCALE = 1000;

/** The DiT's sinusoidal timestep features [N, channels] (shared with MAR's head: nn/timestep.ts). */
export const timestepFeatures = (t: Tensor, channels = 256): Tensor => timestepEmbedding(t, channels);

/** A fixed 2-D sin-cos table [g·g, dim] (rows row-major over the grid): half the width for x, half for y. */
export function sincosTable(g: number, dim: number): Float32Array {
  const out = new Float32Array(g * g * dim);
  const quarter = dim / 4;
  for (let i = 0; i < g; i++) {
    for (let j = 0; j < g; j++) {
      const row = (i * g + j) * dim;
      for (let k = 0; k < quarter; k++) {
        const w = 1 / 10000 ** (k / quarter);
        out[row + k] = Math.sin(j * w);
        out[row + quarter + k] = Math.cos(j * w);
        out[row + 2 * quarter + k] = Math.sin(i * w);
        out[row + 3 * quarter + k] = Math.cos(i * w);
      }
    }
  }
  return out;
}

/** diffusers' Attention with to_q, to_k, to_v and to_out.0. */
class SanaAttention extends Module {
  readonly toQ: Linear;
  readonly toK: Linear;
  readonly toV: Linear;
  readonly toOut: ModuleList<Linear>;
  constructor(queryDim: number, contextDim: number, readonly heads: number, readonly headDim: number, qkvBias: boolean, readonly kind: 'linear' | 'softmax', f: Factory) {
    super();
    const inner = heads * headDim;
    this.toQ = this.registerModule('to_q', new Linear(queryDim, inner, { bias: qkvBias, ...f }));
    this.toK = this.registerModule('to_k', new Linear(contextDim, inner, { bias: qkvBias, ...f }));
    this.toV = this.registerModule('to_v', new Linear(contextDim, inner, { bias: qkvBias, ...f }));
    this.toOut = this.registerModule('to_out', new ModuleList([new Linear(inner, queryDim, { bias: true, ...f })]));
  }

  /** x [B, N, queryDim], context [B, S, contextDim] (self-attention when omitted) → [B, N, queryDim]. */
  forward(x: Tensor, context?: Tensor): Tensor {
    return tidy(() => {
      const [B, N] = x.shape;
      const src = context ?? x;
      const S = src.shape[1];
      const H = this.heads, d = this.headDim;
      const q = this.toQ.forward(x).view(B, N, H, d).transpose(1, 2);
      const k = this.toK.forward(src).view(B, S, H, d).transpose(1, 2);
      const v = this.toV.forward(src).view(B, S, H, d).transpose(1, 2);
      const out = this.kind === 'softmax' ? attend(q, k, v, null) : linearAttention(q, k, v);
      return this.toOut.at(0).forward(out.transpose(1, 2).reshape(B, N, H * d));
    });
  }
}

/**
 * SANA's ReLU linear attention (SanaLinearAttnProcessor2_0), in float32:
 * out_i = Σ_j v_j (φ(k_j)·φ(q_i)) / (Σ_j φ(k_j)·φ(q_i) + ε), φ = ReLU. q, k, v [B, H, N, d].
 * ε is 1e-6 here (diffusers: 1e-15), which keeps the gradient finite when a query is all ≤ 0.
 */
export function linearAttention(q: Tensor, k: Tensor, v: Tensor): Tensor {
  return tidy(() => {
    const dtype = q.dtype;
    const qf = q.float().relu(), kf = k.float().relu(), vf = v.float();
    const kv = kf.transpose(2, 3).matmul(vf); // [B, H, d, d]: Σ_j φ(k_j)ᵀ v_j
    const num = qf.matmul(kv); // [B, H, N, d]
    const den = qf.matmul(kf.sum(2, true).transpose(2, 3)); // [B, H, N, 1]
    const out = num.div(den.add(1e-6));
    return out.dtype === dtype ? out : out.to(dtype);
  });
}

/** SANA's Mix-FFN (GLUMBConv, no residual, no norm): 1×1 conv → SiLU → 3×3 depthwise conv → GLU → 1×1 conv. */
class GLUMBConv extends Module {
  readonly convInverted: Conv2d;
  readonly convDepth: Conv2d;
  readonly convPoint: Conv2d;
  constructor(dim: number, ratio: number, f: Factory) {
    super();
    const hidden = Math.floor(ratio * dim);
    this.convInverted = this.registerModule('conv_inverted', new Conv2d(dim, hidden * 2, 1, f));
    this.convDepth = this.registerModule('conv_depth', new Conv2d(hidden * 2, hidden * 2, 3, { padding: 1, groups: hidden * 2, ...f }));
    this.convPoint = this.registerModule('conv_point', new Conv2d(hidden, dim, 1, { bias: false, ...f }));
  }
  /** x [B, N, dim] on an h × w grid → [B, N, dim]. */
  forward(x: Tensor, h: number, w: number): Tensor {
    return tidy(() => {
      const [B, N, D] = x.shape;
      const img = x.transpose(1, 2).reshape([B, D, h, w]);
      const a = this.convDepth.forward(this.convInverted.forward(img).silu());
      const [val, gate] = a.chunk(2, 1);
      return this.convPoint.forward(val.mul(gate.silu())).reshape([B, D, N]).transpose(1, 2);
    });
  }
}

class SanaBlock extends Module {
  readonly norm1: LayerNorm;
  readonly attn1: SanaAttention;
  readonly norm2: LayerNorm;
  readonly attn2: SanaAttention;
  readonly ff: GLUMBConv;
  readonly scaleShiftTable: Tensor;
  constructor(readonly dim: number, c: DiTConfig, f: Factory) {
    super();
    this.norm1 = this.registerModule('norm1', new LayerNorm(dim, { elementwiseAffine: false, eps: 1e-6, ...f }));
    this.attn1 = this.registerModule('attn1', new SanaAttention(dim, dim, c.numHeads, c.headDim, false, c.selfAttention, f));
    this.norm2 = this.registerModule('norm2', new LayerNorm(dim, { elementwiseAffine: false, eps: 1e-6, ...f }));
    this.attn2 = this.registerModule('attn2', new SanaAttention(dim, dim, c.crossHeads, c.crossHeadDim, true, 'softmax', f));
    this.ff = this.registerModule('ff', new GLUMBConv(dim, c.mlpRatio, f));
    this.scaleShiftTable = this.registerParameter('scale_shift_table', tidy(() => creation.randn([6, dim], f).div(Math.sqrt(dim))));
  }
  /** x [B, N, D], context [B, S, D], t6 [B, 6D] (time_embed.linear's output). */
  forward(x: Tensor, context: Tensor, t6: Tensor, h: number, w: number): Tensor {
    return tidy(() => {
      const B = x.shape[0];
      const [shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp] = this.scaleShiftTable.unsqueeze(0).add(t6.reshape([B, 6, this.dim])).chunk(6, 1);
      const a = this.norm1.forward(x).mul(scaleMsa.add(1)).add(shiftMsa);
      let hs = x.add(gateMsa.mul(this.attn1.forward(a)));
      hs = hs.add(this.attn2.forward(hs, context));
      const m = this.norm2.forward(hs).mul(scaleMlp.add(1)).add(shiftMlp);
      return hs.add(gateMlp.mul(this.ff.forward(m, h, w)));
    });
  }
}

export class SanaTransformer extends Module {
  readonly dim: number;
  readonly patchEmbed: Group & { proj: Conv2d };
  readonly timeEmbed: Group;
  readonly timestepLinear1: Linear;
  readonly timestepLinear2: Linear;
  readonly timeLinear: Linear;
  readonly captionLinear1: Linear;
  readonly captionLinear2: Linear;
  readonly captionNorm: RMSNorm;
  readonly blocks: ModuleList<SanaBlock>;
  readonly scaleShiftTable: Tensor;
  readonly normOut: Group & { norm: LayerNorm };
  readonly projOut: Linear;
  readonly posEmbed: Tensor | null;
  /** Latent grid side and channels (the codec's). */
  constructor(readonly config: DiTConfig, readonly gridSize: number, readonly channels: number, f: Factory) {
    super();
    const c = config;
    const D = this.dim = c.numHeads * c.headDim;
    const p = c.patchSize;
    const pe = this.registerModule('patch_embed', new Group()) as Group & { proj: Conv2d };
    (pe as { proj: Conv2d }).proj = pe.registerModule('proj', new Conv2d(channels, D, p, { stride: p, ...f }));
    this.patchEmbed = pe;
    const side = gridSize / p;
    this.posEmbed = c.positionEmbedding === 'sincos'
      ? pe.registerBuffer('pos_embed', creation.tensor(sincosTable(side, D), { shape: [1, side * side, D], ...f }), false)
      : null;
    this.timeEmbed = this.registerModule('time_embed', new Group());
    const emb = this.timeEmbed.registerModule('emb', new Group());
    const te = emb.registerModule('timestep_embedder', new Group());
    this.timestepLinear1 = te.registerModule('linear_1', new Linear(256, D, f));
    this.timestepLinear2 = te.registerModule('linear_2', new Linear(D, D, f));
    this.timeLinear = this.timeEmbed.registerModule('linear', new Linear(D, 6 * D, f));
    const cp = this.registerModule('caption_projection', new Group());
    this.captionLinear1 = cp.registerModule('linear_1', new Linear(c.captionChannels, D, f));
    this.captionLinear2 = cp.registerModule('linear_2', new Linear(D, D, f));
    this.captionNorm = this.registerModule('caption_norm', new RMSNorm(D, { eps: 1e-5, ...f }));
    this.blocks = this.registerModule('transformer_blocks', new ModuleList(Array.from({ length: c.numLayers }, () => new SanaBlock(D, c, f))));
    this.scaleShiftTable = this.registerParameter('scale_shift_table', tidy(() => creation.randn([2, D], f).div(Math.sqrt(D))));
    const no = this.registerModule('norm_out', new Group()) as Group & { norm: LayerNorm };
    (no as { norm: LayerNorm }).norm = no.registerModule('norm', new LayerNorm(D, { elementwiseAffine: false, eps: 1e-6, ...f }));
    this.normOut = no;
    this.projOut = this.registerModule('proj_out', new Linear(D, p * p * channels, f));
    // Zero-initialised output (as DiT / PixArt): the first prediction is 0, training starts stable.
    noGrad(() => { this.projOut.weight.zero_(); this.projOut.bias!.zero_(); });
  }

  /** The caption path: condition [B, S, captionChannels] → cross-attention context [B, S, D]. */
  context(caption: Tensor): Tensor {
    return tidy(() => this.captionNorm.forward(this.captionLinear2.forward(this.captionLinear1.forward(caption).gelu('tanh'))));
  }

  /** Times t [B] in [0, 1] → (t6 [B, 6D] for the blocks, embedded [B, D] for the output norm). */
  time(t: Tensor): { t6: Tensor; embedded: Tensor } {
    return tidy(() => {
      const embedded = this.timestepLinear2.forward(this.timestepLinear1.forward(timestepFeatures(t.mul(TIMESTEP_SCALE))).silu());
      return { t6: this.timeLinear.forward(embedded.silu()), embedded };
    });
  }

  /**
   * Velocity for noisy latents x [B, T, C] (T = gridSize², row-major) at times t [B] given the
   * cross-attention context [B, S, D] (from context()). Returns [B, T, C].
   */
  forward(x: Tensor, t: Tensor, context: Tensor): Tensor {
    return tidy(() => {
      const [B, , C] = x.shape;
      const g = this.gridSize, p = this.config.patchSize, s = g / p;
      let h = this.patchEmbed.proj.forward(x.transpose(1, 2).reshape([B, C, g, g])).flatten(2).transpose(1, 2);
      if (this.posEmbed) h = h.add(this.posEmbed.to(h.dtype));
      const { t6, embedded } = this.time(t);
      for (const block of this.blocks) h = block.forward(h, context, t6, s, s);
      const [shift, scale] = this.scaleShiftTable.unsqueeze(0).add(embedded.unsqueeze(1)).chunk(2, 1);
      const out = this.projOut.forward(this.normOut.norm.forward(h).mul(scale.add(1)).add(shift));
      // SANA's unpatchify: [B, s, s, p, p, C] → [B, C, s·p, s·p], then back to row-major tokens.
      const img = out.reshape([B, s, s, p, p, C]).permute([0, 5, 1, 3, 2, 4]).reshape([B, C, g * g]);
      return img.transpose(1, 2).contiguous();
    });
  }
}
