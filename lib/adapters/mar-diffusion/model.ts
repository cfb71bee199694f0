// The whole Harmon-style model under Harmon's top-level names: vae (the frozen codec), llm
// (Qwen2 / Llama layout), mar (MAR encoder, decoder and diffusion head), proj_in (MAR encoder
// → LLM) and proj_out (LLM → MAR encoder width, added residually), each proj a
// Sequential(Linear, SiLU, Linear) as Harmon's build_mlp.
import { SiLU } from '../../nn/activation';
import { Sequential } from '../../nn/container';
import { Linear, type FactoryOpts } from '../../nn/linear';
import { Module } from '../../nn/module';
import { DecoderLM } from '../../nn/transformer';
import * as F from '../../torch/functional';
import { tidy } from '../../torch/scope';
import type { Tensor } from '../../torch/tensor';
import type { ImageCodec } from '../codecs/types';
import type { MarDiffusionConfig } from './config';
import { Mar } from './mar';

export function buildMlp(inDim: number, hidden: number, out: number, f: FactoryOpts = {}): Sequential {
  return new Sequential(new Linear(inDim, hidden, f), new SiLU(), new Linear(hidden, out, f));
}

export class HarmonModel extends Module {
  readonly vae: ImageCodec;
  readonly llm: DecoderLM;
  readonly mar: Mar;
  readonly projIn: Sequential;
  readonly projOut: Sequential;
  constructor(readonly config: MarDiffusionConfig, codec: ImageCodec, f: FactoryOpts = {}) {
    super();
    const c = config;
    this.vae = this.registerModule('vae', codec);
    this.llm = this.registerModule('llm', new DecoderLM({
      vocabSize: c.vocabSize, dim: c.hiddenSize, numLayers: c.numLayers, numHeads: c.numHeads, numKvHeads: c.numKvHeads,
      hiddenDim: c.intermediateSize, ropeBase: c.ropeTheta, normEps: c.rmsNormEps, tieEmbeddings: c.tieWordEmbeddings,
      norm: 'rms', mlp: 'swiglu', bias: false, ...f,
    }));
    this.mar = this.registerModule('mar', new Mar(c, f));
    this.projIn = this.registerModule('proj_in', buildMlp(c.encoderEmbedDim, c.hiddenSize, c.hiddenSize, f));
    this.projOut = this.registerModule('proj_out', buildMlp(c.hiddenSize, c.hiddenSize, c.encoderEmbedDim, f));
  }

  /**
   * Harmon's extract_visual_feature: latents [B, N, C] with an optional mask [B, N] → the MAR
   * encoder's features xEnc [B, buffer + N, E] and the LLM inputs z [B, N + buffer, H] (buffer
   * tokens moved to the end of the image's positions).
   */
  visualFeatures(latents: Tensor, mask: Tensor | null): { xEnc: Tensor; z: Tensor } {
    return tidy(() => {
      const xEnc = this.mar.encode(latents, mask);
      const z = this.projIn.forward(xEnc);
      const buf = this.config.bufferSize;
      const n = this.mar.seqLen;
      return { xEnc, z: buf > 0 ? F.cat([z.narrow(1, buf, n), z.narrow(1, 0, buf)], 1) : z };
    });
  }

  /**
   * The end of Harmon's forward_mae_encoder and the MAR decoder: LLM hidden states at an image's
   * positions zLlm [B, N + buffer, H] (buffers last) → xEnc + proj_out(zLlm) (buffers first) →
   * the diffusion head's per-token conditions [B, N, Ddec].
   */
  decoderConditions(xEnc: Tensor, zLlm: Tensor, mask: Tensor): Tensor {
    return tidy(() => {
      const buf = this.config.bufferSize;
      const n = this.mar.seqLen;
      const z = buf > 0 ? F.cat([zLlm.narrow(1, n, buf), zLlm.narrow(1, 0, n)], 1) : zLlm;
      return this.mar.decode(xEnc.add(this.projOut.forward(z)), mask);
    });
  }

  forward(): never { throw new Error('HarmonModel: use the adapter (forward(batch), answer, generate)'); }

  override train(mode = true): this {
    super.train(mode);
    this.vae.eval(); // the codec is frozen: always in eval mode, as Harmon's train()
    return this;
  }
}
