// The parameter names and shapes a config builds, computed without allocating anything: how
// the harmon-1.5b preset (≈ 2.4 B parameters) is inspected on a small machine. `shapes` leaves
// the codec's parameters (vae.*) out, as Harmon's checkpoint does; the counts include them.
import type { ModelDescription } from '../types';
import { codecParameterCount } from '../codecs';
import { batchFormatOf, codecConfig, seqLen, type MarDiffusionConfig } from './config';

export interface MarDiffusionDescription extends ModelDescription {
  /** [name, shape] of every parameter model.namedParameters() gives (vae.* excluded; the order may differ). */
  shapes: [string, number[]][];
}

/** Parameters per part: llm, mar (without the head), mar.diffloss, proj_in, proj_out, vae. */
export function describe(c: MarDiffusionConfig): MarDiffusionDescription {
  const out: [string, number[]][] = [];
  const add = (name: string, shape: number[]) => out.push([name, shape]);
  const linear = (p: string, i: number, o: number, bias = true) => { add(`${p}.weight`, [o, i]); if (bias) add(`${p}.bias`, [o]); };
  const layerNorm = (p: string, d: number) => { add(`${p}.weight`, [d]); add(`${p}.bias`, [d]); };

  // llm: Llama / Qwen2 layout (no q/k/v biases here: see docs/adapters/mar-diffusion.md).
  const H = c.hiddenSize, hd = H / c.numHeads;
  add('llm.model.embed_tokens.weight', [c.vocabSize, H]);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `llm.model.layers.${l}`;
    add(`${p}.input_layernorm.weight`, [H]);
    linear(`${p}.self_attn.q_proj`, H, c.numHeads * hd, false);
    linear(`${p}.self_attn.k_proj`, H, c.numKvHeads * hd, false);
    linear(`${p}.self_attn.v_proj`, H, c.numKvHeads * hd, false);
    linear(`${p}.self_attn.o_proj`, c.numHeads * hd, H, false);
    add(`${p}.post_attention_layernorm.weight`, [H]);
    linear(`${p}.mlp.gate_proj`, H, c.intermediateSize, false);
    linear(`${p}.mlp.up_proj`, H, c.intermediateSize, false);
    linear(`${p}.mlp.down_proj`, c.intermediateSize, H, false);
  }
  add('llm.model.norm.weight', [H]);
  if (!c.tieWordEmbeddings) add('llm.lm_head.weight', [c.vocabSize, H]);

  // mar
  const N = seqLen(c), E = c.encoderEmbedDim, D = c.decoderEmbedDim, buf = c.bufferSize;
  const block = (p: string, d: number) => {
    layerNorm(`${p}.norm1`, d);
    linear(`${p}.attn.qkv`, d, 3 * d);
    linear(`${p}.attn.proj`, d, d);
    layerNorm(`${p}.norm2`, d);
    const hidden = Math.floor(d * c.mlpRatio);
    linear(`${p}.mlp.fc1`, d, hidden);
    linear(`${p}.mlp.fc2`, hidden, d);
  };
  if (c.classNum > 0) add('mar.class_emb.weight', [c.classNum, E]);
  add('mar.fake_latent', [1, E]);
  linear('mar.z_proj', c.latentDim, E);
  layerNorm('mar.z_proj_ln', E);
  add('mar.encoder_pos_embed_learned', [1, N + buf, E]);
  for (let l = 0; l < c.encoderDepth; l++) block(`mar.encoder_blocks.${l}`, E);
  layerNorm('mar.encoder_norm', E);
  linear('mar.decoder_embed', E, D);
  add('mar.mask_token', [1, 1, D]);
  add('mar.decoder_pos_embed_learned', [1, N + buf, D]);
  for (let l = 0; l < c.decoderDepth; l++) block(`mar.decoder_blocks.${l}`, D);
  layerNorm('mar.decoder_norm', D);
  add('mar.diffusion_pos_embed_learned', [1, N, D]);
  const W = c.diffusionWidth, net = 'mar.diffloss.net';
  linear(`${net}.time_embed.mlp.0`, 256, W);
  linear(`${net}.time_embed.mlp.2`, W, W);
  linear(`${net}.cond_embed`, D, W);
  linear(`${net}.input_proj`, c.latentDim, W);
  for (let l = 0; l < c.diffusionDepth; l++) {
    const p = `${net}.res_blocks.${l}`;
    layerNorm(`${p}.in_ln`, W);
    linear(`${p}.mlp.0`, W, W);
    linear(`${p}.mlp.2`, W, W);
    linear(`${p}.adaLN_modulation.1`, W, 3 * W);
  }
  linear(`${net}.final_layer.linear`, W, c.learnSigma ? 2 * c.latentDim : c.latentDim);
  linear(`${net}.final_layer.adaLN_modulation.1`, W, 2 * W);

  linear('proj_in.0', E, H);
  linear('proj_in.2', H, H);
  linear('proj_out.0', H, H);
  linear('proj_out.2', H, E);

  const parameters: Record<string, number> = { llm: 0, mar: 0, 'mar.diffloss': 0, proj_in: 0, proj_out: 0 };
  for (const [n, shape] of out) {
    const part = n.startsWith('mar.diffloss.') ? 'mar.diffloss' : n.split('.')[0];
    parameters[part] += shape.reduce((a, b) => a * b, 1);
  }
  parameters.vae = codecParameterCount(codecConfig(c));
  const total = Object.values(parameters).reduce((a, b) => a + b, 0);
  // Both policies train everything but the codec (Harmon has no other part to hold back).
  return { shapes: out, parameters, total, trainable: total - parameters.vae, batchFormat: batchFormatOf(c) };
}
