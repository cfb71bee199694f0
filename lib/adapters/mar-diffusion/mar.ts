// MAR (Li et al. 2024, "Autoregressive Image Generation without Vector Quantization") as Harmon
// uses it: a bidirectional ViT encoder over the visible continuous tokens plus `bufferSize`
// buffer tokens, a ViT decoder that fills masked positions with a learned mask token, and the
// per-token diffusion head. Names follow Harmon's `mar.*` (timm blocks, MAR's parameters).
//
// MAR drops masked tokens from the encoder's sequence; with a mask ratio drawn per image the
// visible counts differ between rows, so here the sequence keeps its full length and masked
// tokens are (a) zeroed before the input projection and (b) hidden from attention by a key
// mask. Visible and buffer outputs are then exactly MAR's; masked outputs are discarded (the
// decoder puts the mask token there).
import { ModuleList } from '../../nn/container';
import { normal_ } from '../../nn/init';
import { Embedding, Linear, type FactoryOpts } from '../../nn/linear';
import { Module } from '../../nn/module';
import { LayerNorm } from '../../nn/normalization';
import * as creation from '../../torch/creation';
import * as F from '../../torch/functional';
import { ops } from '../../torch/ops';
import { tidy } from '../../torch/scope';
import type { Tensor } from '../../torch/tensor';
import { MarBlock, xavierLinear } from './block';
import type { MarDiffusionConfig } from './config';
import { seqLen } from './config';
import { DiffLoss } from './diffusion-head';
import type { Device } from '../../torch/dtype';

export class Mar extends Module {
  readonly classEmb: Embedding | null;
  readonly fakeLatent: Tensor;
  readonly zProj: Linear;
  readonly zProjLn: LayerNorm;
  readonly encoderPosEmbedLearned: Tensor;
  readonly encoderBlocks: ModuleList<MarBlock>;
  readonly encoderNorm: LayerNorm;
  readonly decoderEmbed: Linear;
  readonly maskToken: Tensor;
  readonly decoderPosEmbedLearned: Tensor;
  readonly decoderBlocks: ModuleList<MarBlock>;
  readonly decoderNorm: LayerNorm;
  readonly diffusionPosEmbedLearned: Tensor;
  readonly diffloss: DiffLoss;
  readonly seqLen: number;
  readonly bufferSize: number;
  readonly tokenEmbedDim: number;

  constructor(readonly config: MarDiffusionConfig, f: FactoryOpts = {}) {
    super();
    const c = config;
    const n = seqLen(c);
    this.seqLen = n;
    this.bufferSize = c.bufferSize;
    this.tokenEmbedDim = c.latentDim;
    const E = c.encoderEmbedDim, D = c.decoderEmbedDim;
    const block = (dim: number, numHeads: number) => new MarBlock({ dim, numHeads, mlpRatio: c.mlpRatio, attnDropout: c.attnDropout, projDropout: c.projDropout, ...f });
    const param = (name: string, shape: number[]) => this.registerParameter(name, normal_(creation.empty(shape, f), 0, 0.02));

    this.classEmb = c.classNum > 0 ? this.registerModule('class_emb', new Embedding(c.classNum, E, f)) : null;
    if (this.classEmb) normal_(this.classEmb.weight, 0, 0.02);
    this.fakeLatent = param('fake_latent', [1, E]);
    this.zProj = this.registerModule('z_proj', xavierLinear(new Linear(c.latentDim, E, f)));
    this.zProjLn = this.registerModule('z_proj_ln', new LayerNorm(E, { eps: 1e-6, ...f }));
    this.encoderPosEmbedLearned = param('encoder_pos_embed_learned', [1, n + c.bufferSize, E]);
    this.encoderBlocks = this.registerModule('encoder_blocks', new ModuleList(Array.from({ length: c.encoderDepth }, () => block(E, c.encoderNumHeads))));
    this.encoderNorm = this.registerModule('encoder_norm', new LayerNorm(E, { eps: 1e-6, ...f }));
    this.decoderEmbed = this.registerModule('decoder_embed', xavierLinear(new Linear(E, D, f)));
    this.maskToken = param('mask_token', [1, 1, D]);
    this.decoderPosEmbedLearned = param('decoder_pos_embed_learned', [1, n + c.bufferSize, D]);
    this.decoderBlocks = this.registerModule('decoder_blocks', new ModuleList(Array.from({ length: c.decoderDepth }, () => block(D, c.decoderNumHeads))));
    this.decoderNorm = this.registerModule('decoder_norm', new LayerNorm(D, { eps: 1e-6, ...f }));
    this.diffusionPosEmbedLearned = param('diffusion_pos_embed_learned', [1, n, D]);
    // MAR's initialize_weights: xavier-uniform Linear weights and zero biases in the blocks too.
    for (const blocks of [this.encoderBlocks, this.decoderBlocks]) {
      for (const [, m] of blocks.namedModules()) if (m instanceof Linear) xavierLinear(m);
    }
    this.diffloss = this.registerModule('diffloss', new DiffLoss({
      inChannels: c.latentDim, width: c.diffusionWidth, depth: c.diffusionDepth, zChannels: D, learnSigma: c.learnSigma, ...f,
    }));
  }

  /**
   * forward_mae_encoder: tokens [B, N, C] and mask [B, N] (bool, true = masked, or null = all
   * visible) → [B, buffer + N, E] (buffer positions first, as MAR). Masked positions' outputs
   * carry no information about any token and are to be discarded.
   */
  encode(tokens: Tensor, mask: Tensor | null): Tensor {
    return tidy(() => {
      const [B, N] = tokens.shape;
      const E = this.config.encoderEmbedDim;
      const visible = mask ? tokens.mul(mask.logicalNot().unsqueeze(-1).to(tokens.dtype)) : tokens;
      let x = this.zProj.forward(visible);
      if (this.bufferSize > 0) x = F.cat([this.fakeLatent.unsqueeze(1).expand(B, this.bufferSize, E), x], 1);
      x = this.zProjLn.forward(x.add(this.encoderPosEmbedLearned));
      const keyMask = mask ? F.cat([creation.ones([B, this.bufferSize], { dtype: 'bool', device: tokens.device }), mask.logicalNot()], 1) : null;
      for (const b of this.encoderBlocks) x = b.forward(x, keyMask);
      if (N !== this.seqLen) throw new RangeError(`MAR: expected ${this.seqLen} tokens per image, got ${N}`);
      return this.encoderNorm.forward(x);
    });
  }

  /**
   * forward_mae_decoder: encoder features [B, buffer + N, E] and mask [B, N] → per-token
   * conditions of the diffusion head [B, N, Ddec] (diffusion position embedding added).
   */
  decode(x: Tensor, mask: Tensor): Tensor {
    return tidy(() => {
      const B = x.shape[0];
      let h = this.decoderEmbed.forward(x);
      const maskWithBuffer = F.cat([creation.zeros([B, this.bufferSize], { dtype: 'bool', device: x.device }), mask], 1);
      h = F.where(maskWithBuffer.unsqueeze(-1), this.maskToken, h);
      h = h.add(this.decoderPosEmbedLearned);
      for (const b of this.decoderBlocks) h = b.forward(h, null);
      h = this.decoderNorm.forward(h).narrow(1, this.bufferSize, this.seqLen);
      return h.add(this.diffusionPosEmbedLearned);
    });
  }

  forward(): never { throw new Error('Mar: call encode(), decode() or diffloss.net'); }
}

/** Φ, the standard normal CDF. */
function normalCdf(x: number): number {
  return 0.5 * (1 + erf(x / Math.SQRT2));
}

function erf(z: number): number {
  const a = Math.abs(z);
  let r: number;
  if (a < 3) {
    // Maclaurin series: erf(z) = 2/√π Σ (-1)^n z^(2n+1) / (n! (2n+1)); accurate to ~1e-12 for |z| < 3.
    let term = a, sum = a;
    for (let n = 1; n < 100; n++) {
      term *= (-a * a) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // Asymptotic expansion of erfc (relative error < 1e-5 at |z| = 3, where erfc is 2e-5).
    r = 1 - Math.exp(-a * a) / (a * Math.sqrt(Math.PI)) * (1 - 1 / (2 * a * a) + 3 / (4 * a ** 4));
  }
  return z < 0 ? -r : r;
}

/**
 * Mask ratios [B] from MAR's truncated normal (mean 1.0, std 0.25, truncated to [min, 1.0]) by
 * inverse-CDF sampling of libtorch uniforms (so torch.manualSeed governs them).
 */
export function maskRatios(b: number, min: number, device: Device = 'cpu'): Tensor {
  return tidy(() => {
    const lo = normalCdf((min - 1) / 0.25), hi = 0.5;
    const u = creation.rand([b], { dtype: 'float64', device }).mul(hi - lo).add(lo);
    // Φ⁻¹(u) = √2 erfinv(2u − 1)
    const z = (ops.aten.erfinv(u.mul(2).sub(1)) as Tensor).mul(Math.SQRT2);
    return z.mul(0.25).add(1).clamp(min, 1);
  });
}

/**
 * MAR's random_masking with a ratio per image: a random order per row; the first
 * ceil(N · ratio_b) positions of row b's order are masked. Returns bool [B, N] (true = masked).
 */
export function randomMasking(b: number, n: number, min: number, device: Device = 'cpu'): Tensor {
  return tidy(() => {
    const counts = (ops.aten.ceil(maskRatios(b, min, device).mul(n)) as Tensor).clamp(1, n).long();
    const ranks = randomRanks(b, n, device);
    return ranks.lt(counts.unsqueeze(1));
  });
}

/** Per row, the rank of each position in a random order (orders = argsort(rand); ranks = argsort(orders)). */
export function randomRanks(b: number, n: number, device: Device = 'cpu'): Tensor {
  return tidy(() => {
    const orders = creation.rand([b, n], { device }).sort(1).indices;
    return orders.sort(1).indices;
  });
}
