// Greedy answers for evaluation, shared by every family: the family supplies its language model
// and the condition features; this loop grows the rows until each emits its end token (the
// template's: <|im_end|> for qwen, EOS for plain).
import type { TextTokenizer } from '../../data/tokenizer/types';
import type { Linear } from '../../nn/linear';
import { KVCache } from '../../nn/kv-cache';
import type { DecoderModel } from '../../nn/transformer';
import { noGrad } from '../../torch/autograd';
import * as creation from '../../torch/creation';
import * as F from '../../torch/functional';
import { dispose, tidy } from '../../torch/scope';
import type { Tensor } from '../../torch/tensor';
import type { AnswerOptions, BatchFormat } from '../types';
import { padRows } from './collate';
import { questionPrompt } from './prompts';
import { placeAt } from './sequence';

export function stopIds(tok: TextTokenizer, f: BatchFormat): Set<number> {
  const s = new Set([tok.eosId]);
  if (f.template === 'qwen') {
    const end = tok.tokenToId('<|im_end|>');
    if (end !== undefined) s.add(end);
  }
  return s;
}

/** The language model answers come from, and what goes in at the prompt's image placeholders. */
export interface AnswerModel {
  /** Hugging Face's LlamaForCausalLM layout: model (embed_tokens, layers, norm) and lm_head. */
  lm: { model: DecoderModel; lmHead: Linear };
  /** Condition-image features, written in order at the prompt's condition placeholders. */
  features: Tensor;
}

/**
 * Greedy answers, one per image and question, with a key/value cache: the prompts, left-padded
 * so that every row ends at the same column (each row keeps its own positions 0, 1, …), run
 * once; then each step runs only the token each row chose.
 */
export function greedyAnswers(tok: TextTokenizer, f: BatchFormat, images: Tensor, questions: string[],
  m: AnswerModel, o: AnswerOptions = {}): string[] {
  const B = images.shape[0];
  if (questions.length !== B) throw new RangeError(`answer: ${B} images but ${questions.length} questions`);
  const maxNew = o.maxNewTokens ?? 8;
  if (!Number.isInteger(maxNew) || maxNew < 1) throw new RangeError(`maxNewTokens must be a positive integer, got ${maxNew}`);
  const stops = stopIds(tok, f);
  const rows = questions.map((q) => questionPrompt(tok, f, q));
  const out: number[][] = rows.map(() => []);
  const done = rows.map(() => false);
  const device = images.device;
  const { model, lmHead } = m.lm;
  // The text head may be wider than the tokenizer (mar-diffusion's presets fix its size; Hugging
  // Face pads vocabularies): ids past the tokenizer's cannot be decoded, so they are never chosen.
  const choose = (logits: Tensor) => tidy(() => {
    const V = Math.min(logits.shape[1], tok.vocabSize);
    return Array.from(logits.narrow(-1, 0, V).argmax(-1).toArray() as BigInt64Array, Number);
  });
  noGrad(() => {
    const cache = new KVCache(model.layers.length);
    // The attention mask (every key so far) and the next-token logits, carried from step to step.
    let state: { mask: Tensor; logits: Tensor } | null = null;
    try {
      state = tidy(() => {
        const p = padRows(rows, tok.padId, device, 'left');
        const embeds = placeAt(model.embedTokens.forward(p.ids), p.conditionMask, m.features);
        const h = model.forwardEmbeds(embeds, { attentionMask: p.attentionMask, positions: p.positions, cache });
        return { mask: p.attentionMask, logits: lmHead.forward(h.select(1, h.shape[1] - 1)) };
      });
      for (let step = 0; ; step++) {
        const next = choose(state.logits);
        next.forEach((id, b) => {
          if (done[b]) return;
          if (stops.has(id)) done[b] = true;
          else out[b].push(id);
        });
        if (step === maxNew - 1 || !done.includes(false)) break;
        // Finished rows decode on (rows never see each other); their tokens are ignored.
        const prev: { mask: Tensor; logits: Tensor } = state;
        state = tidy(() => {
          const mask = F.cat([prev.mask, creation.ones([B, 1], { dtype: 'bool', device })], 1);
          const ids = creation.tensor(BigInt64Array.from(next, BigInt), { shape: [B, 1], device });
          const positions = creation.tensor(BigInt64Array.from(rows, (r) => BigInt(r.ids.length + step)), { shape: [B, 1], device });
          const h = model.forwardEmbeds(model.embedTokens.forward(ids), { attentionMask: mask, positions, cache });
          return { mask, logits: lmHead.forward(h.select(1, 0)) };
        });
        dispose(prev);
      }
    } finally {
      cache.dispose();
      dispose(state);
    }
  });
  return out.map((ids) => tok.decode(ids, { skipSpecial: true }).trim());
}
