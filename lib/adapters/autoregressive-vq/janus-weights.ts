// Published Janus-Pro checkpoint names (deepseek-ai/Janus-Pro-1B, MultiModalityCausalLM) → ours.
// Everything but the vision tower keeps its name; the vision tower is timm's SigLIP layout
// (fused qkv, pos_embed [1, N, D]) and ours is Hugging Face's SigLIP layout (separate q/k/v,
// position_embedding.weight [N, D]), so those tensors are renamed, split or squeezed.
import { tidy } from '../../torch/scope';
import type { Tensor } from '../../torch/tensor';

const VT = 'vision_model.vision_tower.';

/** [pattern on the Janus name, replacement] in order; the first match wins. */
export const JANUS_NAME_RULES: readonly [RegExp, string][] = [
  [/^vision_model\.vision_tower\.patch_embed\.proj\.(weight|bias)$/, `${VT}embeddings.patch_embedding.$1`],
  [/^vision_model\.vision_tower\.blocks\.(\d+)\.norm([12])\.(weight|bias)$/, `${VT}encoder.layers.$1.layer_norm$2.$3`],
  [/^vision_model\.vision_tower\.blocks\.(\d+)\.attn\.proj\.(weight|bias)$/, `${VT}encoder.layers.$1.self_attn.out_proj.$2`],
  [/^vision_model\.vision_tower\.blocks\.(\d+)\.mlp\.(fc[12])\.(weight|bias)$/, `${VT}encoder.layers.$1.mlp.$2.$3`],
  [/^vision_model\.vision_tower\.norm\.(weight|bias)$/, `${VT}post_layernorm.$1`],
  [/^(language_model\.(model\.(embed_tokens|norm|layers\.\d+\.[a-z_.]+)|lm_head)\.weight)$/, '$1'],
  [/^((gen_)?aligner\.layers\.\d+\.(weight|bias))$/, '$1'],
  [/^(gen_head\.(output_mlp_projector|vision_head)\.(weight|bias))$/, '$1'],
  [/^(gen_embed\.weight)$/, '$1'],
];

export interface JanusConversion {
  /** Our names → tensors (renamed tensors are the input's own; split / squeezed ones are new views). */
  stateDict: Record<string, Tensor>;
  /** Janus tensors left out on purpose: the unused SigLIP attention-pool head, rotary caches. */
  dropped: string[];
  /** Janus tensors with no counterpart here: the VQ-16 tokenizer (gen_vision_model.*), unknown names. */
  unmapped: string[];
}

/**
 * A Janus-Pro state dict in our names. `beginOfImageId` (the <begin_of_image> token id of the
 * Janus tokenizer) fills gen_image_start from that row of embed_tokens, which is what Janus feeds
 * at the first image position; without it gen_image_start is left to the model's own value
 * (load with strict: false). The codec is not converted: our codecs are patch tokenizers, not
 * Janus's convolutional VQ-16 (see docs/adapters/autoregressive-vq.md).
 */
export function fromJanusPro(sd: Record<string, Tensor>, opts: { beginOfImageId?: number } = {}): JanusConversion {
  return tidy(() => {
    const out: Record<string, Tensor> = {};
    const dropped: string[] = [];
    const unmapped: string[] = [];
    for (const [name, t] of Object.entries(sd)) {
      if (/^vision_model\.vision_tower\.attn_pool\./.test(name) || /rotary_emb\.inv_freq$/.test(name)) { dropped.push(name); continue; }
      if (name === `${VT}pos_embed`) { out[`${VT}embeddings.position_embedding.weight`] = t.reshape([t.shape[t.shape.length - 2], t.shape[t.shape.length - 1]]); continue; }
      const qkv = /^vision_model\.vision_tower\.blocks\.(\d+)\.attn\.qkv\.(weight|bias)$/.exec(name);
      if (qkv) {
        const n = t.shape[0] / 3;
        ['q', 'k', 'v'].forEach((p, i) => { out[`${VT}encoder.layers.${qkv[1]}.self_attn.${p}_proj.${qkv[2]}`] = t.narrow(0, i * n, n); });
        continue;
      }
      const rule = JANUS_NAME_RULES.find(([re]) => re.test(name));
      if (rule) out[name.replace(rule[0], rule[1])] = t;
      else unmapped.push(name);
    }
    if (opts.beginOfImageId !== undefined) {
      const emb = sd['language_model.model.embed_tokens.weight'];
      if (emb === undefined) throw new RangeError('fromJanusPro: beginOfImageId given but the state dict has no language_model.model.embed_tokens.weight');
      const id = opts.beginOfImageId;
      if (!Number.isInteger(id) || id < 0 || id >= emb.shape[0]) throw new RangeError(`fromJanusPro: beginOfImageId ${id} is outside the vocabulary [0, ${emb.shape[0]})`);
      out.gen_image_start = emb.select(0, id);
    }
    return { stateDict: out, dropped, unmapped };
  });
}
