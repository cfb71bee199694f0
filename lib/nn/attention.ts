// Multi-head attention with Hugging Face names (q_proj, k_proj, v_proj, o_proj / out_proj):
// causal, bidirectional and padding masks, grouped-query heads (fewer key/value heads, each
// shared by numHeads / numKvHeads query heads), rotary tables, cross-attention.
// The core is libtorch's scaled_dot_product_attention where it exists (≥ 2.0), a math path
// (softmax(q kᵀ / √d + bias) v) otherwise.
import * as creation from '../torch/creation';
import type { Device, DType } from '../torch/dtype';
import * as F from '../torch/functional';
import { tidy } from '../torch/scope';
import { Tensor } from '../torch/tensor';
import { Linear, type FactoryOpts } from './linear';
import { Module } from './module';
import type { LayerKV } from './kv-cache';
import { applyRotary, type RotaryTables } from './rotary';

export interface AttentionConfig extends FactoryOpts {
  dim: number;
  numHeads: number;
  /** Key/value heads (grouped-query attention); numHeads by default. */
  numKvHeads?: number;
  headDim?: number;
  /** Bias on q/k/v projections (Llama: false; ViT / SigLIP: true). */
  bias?: boolean;
  outBias?: boolean;
  /** Name of the output projection: 'o_proj' (Llama) or 'out_proj' (CLIP / SigLIP). */
  outName?: 'o_proj' | 'out_proj';
  /** Causal by default (decoders) or bidirectional (encoders). */
  causal?: boolean;
  dropout?: number;
}

export interface AttentionInputs {
  /** [B, S] with 1 (or true) for tokens to attend to and 0 for padding. */
  attentionMask?: Tensor | null;
  /** Overrides the module's causal setting. */
  causal?: boolean;
  rotary?: RotaryTables | null;
  /** Keys and values from another sequence [B, S, dim] (cross-attention; never causal). */
  context?: Tensor | null;
  /**
   * Incremental decoding: the keys and values of earlier positions, extended with this call's.
   * x then holds only the new positions; rotary tables must be for those positions, and an
   * attention mask covers every key, cached and new ([B, cached + T]). Not with context.
   */
  cache?: LayerKV | null;
}


/** A large finite negative for masked scores (finite, so a fully masked row gives no NaN). */
export const maskValue = (dtype: DType): number => (dtype === 'float16' ? -65504 : dtype === 'float64' ? -1e300 : -3e38);

/**
 * The additive attention bias [B|1, 1, T, S] for causal and/or padding masks, or null when
 * nothing is masked. Causal rows are aligned to the end of the keys (query i sees keys
 * ≤ i + S - T), as with a key/value cache.
 */
export function attentionBias(T: number, S: number, o: { causal?: boolean; attentionMask?: Tensor | null; dtype: DType; device: Device }): Tensor | null {
  if (!o.causal && !o.attentionMask) return null;
  return tidy(() => {
    let allowed: Tensor | null = null;
    if (o.causal) allowed = creation.ones([T, S], { dtype: 'bool', device: o.device }).tril(S - T);
    if (o.attentionMask) {
      const m = o.attentionMask;
      const keep = (m.dtype === 'bool' ? m : m.ne(0)).view(m.shape[0], 1, 1, m.shape[1]);
      allowed = allowed ? allowed.logicalAnd(keep) : keep;
    }
    const blocked = allowed!.logicalNot();
    return creation.zeros(blocked.shape, { dtype: o.dtype, device: o.device }).maskedFill(blocked, maskValue(o.dtype));
  });
}

/**
 * softmax(q kᵀ · scale + bias) v over [B, H, T, d] tensors, through torch's one attention path
 * (libtorch's fused kernel where it has one). `causal` applies only without a bias, where the
 * queries and keys are the same positions (a bias already holds any causal mask, end-aligned).
 */
export function attend(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | null, o: { causal?: boolean; dropoutP?: number; scale?: number } = {}): Tensor {
  return F.scaledDotProductAttention(q, k, v, { attnMask: bias, dropoutP: o.dropoutP ?? 0, isCausal: bias === null && (o.causal ?? false), scale: o.scale });
}

/** [B, Hkv, S, d] → [B, Hkv · rep, S, d], each key/value head repeated for its query heads. */
export function repeatKv(x: Tensor, rep: number): Tensor {
  if (rep === 1) return x.to(x.dtype);
  return tidy(() => {
    const [B, H, S, d] = x.shape;
    return x.unsqueeze(2).expand(B, H, rep, S, d).reshape(B, H * rep, S, d);
  });
}

export class Attention extends Module {
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly vProj: Linear;
  readonly oProj: Linear;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  constructor(readonly config: AttentionConfig) {
    super();
    const { dim, numHeads } = config;
    this.numHeads = numHeads;
    this.numKvHeads = config.numKvHeads ?? numHeads;
    this.headDim = config.headDim ?? dim / numHeads;
    if (!Number.isInteger(this.headDim)) throw new Error(`Attention: dim ${dim} is not divisible by numHeads ${numHeads}`);
    if (numHeads % this.numKvHeads !== 0) throw new Error(`Attention: numHeads ${numHeads} must be a multiple of numKvHeads ${this.numKvHeads}`);
    const f = { dtype: config.dtype, device: config.device, bias: config.bias ?? false };
    this.qProj = this.registerModule('q_proj', new Linear(dim, numHeads * this.headDim, f));
    this.kProj = this.registerModule('k_proj', new Linear(dim, this.numKvHeads * this.headDim, f));
    this.vProj = this.registerModule('v_proj', new Linear(dim, this.numKvHeads * this.headDim, f));
    this.oProj = this.registerModule(config.outName ?? 'o_proj', new Linear(numHeads * this.headDim, dim, { ...f, bias: config.outBias ?? f.bias }));
  }

  /** x [B, T, dim] → [B, T, dim]. */
  forward(x: Tensor, o: AttentionInputs = {}): Tensor {
    return tidy(() => {
      const [B, T] = x.shape;
      const src = o.context ?? x;
      const S = src.shape[1];
      const heads = (t: Tensor, h: number, len: number) => t.view(B, len, h, this.headDim).transpose(1, 2);
      let q = heads(this.qProj.forward(x), this.numHeads, T);
      let k = heads(this.kProj.forward(src), this.numKvHeads, S);
      const v0 = heads(this.vProj.forward(src), this.numKvHeads, S);
      if (o.rotary) {
        q = applyRotary(q, o.rotary);
        k = applyRotary(k, o.rotary);
      }
      let v1 = v0;
      let causal = o.context ? false : (o.causal ?? this.config.causal ?? true);
      let past = 0;
      if (o.cache) {
        if (o.context) throw new Error('Attention: a key/value cache does not take context');
        past = o.cache.length;
        ({ k, v: v1 } = o.cache.append(k, v0));
      }
      const keys = past + S;
      if (o.attentionMask && o.attentionMask.shape[1] !== keys) {
        throw new Error(`Attention: the attention mask covers ${o.attentionMask.shape[1]} keys, there are ${keys}${past ? ` (${past} cached)` : ''}`);
      }
      let bias = o.attentionMask ? attentionBias(T, keys, { causal, attentionMask: o.attentionMask, dtype: q.dtype, device: q.device }) : null;
      // libtorch's is_causal aligns the mask to the first key; with earlier keys cached the new
      // queries sit at the end: one query sees every key, several need the end-aligned bias.
      if (past > 0 && causal) {
        if (bias === null && T > 1) bias = attentionBias(T, keys, { causal: true, dtype: q.dtype, device: q.device });
        causal = false;
      }
      const rep = this.numHeads / this.numKvHeads;
      k = repeatKv(k, rep);
      const v = repeatKv(v1, rep);
      const p = this.training ? (this.config.dropout ?? 0) : 0;
      const out = attend(q, k, v, bias, { causal, dropoutP: p });
      return this.oProj.forward(out.transpose(1, 2).reshape(B, T, this.numHeads * this.headDim));
    });
  }
}
