// timm's ViT Block (timm.models.vision_transformer.Block), the block of MAR's encoder and
// decoder, under timm's names: norm1, attn.qkv (fused q/k/v), attn.proj, norm2, mlp.fc1,
// mlp.fc2. Bidirectional; an optional key mask [B, S] (true = attend) hides masked tokens,
// which is how a fixed-length sequence stands in for MAR's dropping of masked tokens.
import { attend, attentionBias } from '../../nn/attention';
import { Dropout } from '../../nn/activation';
import { Linear, type FactoryOpts } from '../../nn/linear';
import { MLP } from '../../nn/mlp';
import { Module } from '../../nn/module';
import { LayerNorm } from '../../nn/normalization';
import { xavierUniform_, zeros_ } from '../../nn/init';
import { tidy } from '../../torch/scope';
import type { Tensor } from '../../torch/tensor';

export interface MarBlockConfig extends FactoryOpts {
  dim: number;
  numHeads: number;
  mlpRatio: number;
  attnDropout: number;
  projDropout: number;
}

/** timm's Attention: qkv [3·dim, dim] with bias, proj. */
export class FusedAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly projDrop: Dropout;
  readonly headDim: number;
  constructor(readonly dim: number, readonly numHeads: number, readonly attnDropout: number, projDropout: number, f: FactoryOpts = {}) {
    super();
    this.headDim = dim / numHeads;
    this.qkv = this.registerModule('qkv', new Linear(dim, 3 * dim, { bias: true, ...f }));
    this.proj = this.registerModule('proj', new Linear(dim, dim, { bias: true, ...f }));
    this.projDrop = this.registerModule('proj_drop', new Dropout(projDropout));
  }
  /** x [B, S, dim]; keyMask [B, S] bool (true = may be attended to) or null. */
  forward(x: Tensor, keyMask: Tensor | null = null): Tensor {
    return tidy(() => {
      const [B, S, D] = x.shape;
      // [B, S, 3, H, d] -> [3, B, H, S, d], timm's layout of the fused projection.
      const qkv = this.qkv.forward(x).reshape(B, S, 3, this.numHeads, this.headDim).permute(2, 0, 3, 1, 4);
      const [q, k, v] = [qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2)];
      const bias = keyMask ? attentionBias(S, S, { attentionMask: keyMask, dtype: q.dtype, device: q.device }) : null;
      const p = this.training ? this.attnDropout : 0;
      const out = attend(q, k, v, bias, { dropoutP: p }).transpose(1, 2).reshape(B, S, D);
      return this.projDrop.forward(this.proj.forward(out));
    });
  }
}

/** x + attn(norm1(x)), then h + mlp(norm2(h)); LayerNorm eps 1e-6, exact GELU (timm's defaults). */
export class MarBlock extends Module {
  readonly norm1: LayerNorm;
  readonly attn: FusedAttention;
  readonly norm2: LayerNorm;
  readonly mlp: MLP;
  readonly drop: Dropout;
  constructor(c: MarBlockConfig) {
    super();
    const f = { dtype: c.dtype, device: c.device };
    this.norm1 = this.registerModule('norm1', new LayerNorm(c.dim, { eps: 1e-6, ...f }));
    this.attn = this.registerModule('attn', new FusedAttention(c.dim, c.numHeads, c.attnDropout, c.projDropout, f));
    this.norm2 = this.registerModule('norm2', new LayerNorm(c.dim, { eps: 1e-6, ...f }));
    this.mlp = this.registerModule('mlp', new MLP(c.dim, Math.floor(c.dim * c.mlpRatio), { approximate: 'none', ...f }));
    this.drop = this.registerModule('mlp_drop', new Dropout(c.projDropout));
  }
  forward(x: Tensor, keyMask: Tensor | null = null): Tensor {
    return tidy(() => {
      const h = x.add(this.attn.forward(this.norm1.forward(x), keyMask));
      return h.add(this.drop.forward(this.mlp.forward(this.norm2.forward(h))));
    });
  }
}

/** MAR's initialisation of a Linear: xavier-uniform weight, zero bias. */
export function xavierLinear(l: Linear): Linear {
  xavierUniform_(l.weight);
  if (l.bias) zeros_(l.bias);
  return l;
}
