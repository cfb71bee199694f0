// Greedy answers for evaluation, shared by every family: the family supplies one function that
// gives the next-token logits at each row's last real position; this loop grows the rows until
// each emits its end token (the template's: <|im_end|> for qwen, EOS for plain).
import type { TextTokenizer } from '../../data/tokenizer/types';
import * as creation from '../../torch/creation';
import { noGrad } from '../../torch/autograd';
import { tidy } from '../../torch/scope';
import type { Tensor } from '../../torch/tensor';
import type { AnswerOptions, BatchFormat } from '../types';
import { questionPrompt } from './prompts';

export interface PromptTensors {
  /** int64 [B, L], right-padded. */
  ids: Tensor;
  /** bool [B, L] */
  attentionMask: Tensor;
  /** bool [B, L] */
  conditionMask: Tensor;
  /** int64 [B]: each row's last real position. */
  last: Tensor;
}

/** Rows of ids (and condition masks) as right-padded tensors. */
export function promptTensors(rows: { ids: number[]; conditionMask: ArrayLike<number> }[], padId: number, device: string): PromptTensors {
  const B = rows.length;
  const L = Math.max(...rows.map((r) => r.ids.length));
  const ids = new BigInt64Array(B * L).fill(BigInt(padId));
  const att = new Uint8Array(B * L);
  const cond = new Uint8Array(B * L);
  const last = new BigInt64Array(B);
  rows.forEach((r, b) => {
    r.ids.forEach((id, i) => { ids[b * L + i] = BigInt(id); att[b * L + i] = 1; cond[b * L + i] = r.conditionMask[i] ?? 0; });
    last[b] = BigInt(r.ids.length - 1);
  });
  const d = { device: device as 'cpu' };
  return tidy(() => ({
    ids: creation.tensor(ids, { shape: [B, L], ...d }),
    attentionMask: creation.tensor(att, { shape: [B, L], ...d }).to('bool'),
    conditionMask: creation.tensor(cond, { shape: [B, L], ...d }).to('bool'),
    last: creation.tensor(last, { shape: [B], ...d }),
  }));
}

export function stopIds(tok: TextTokenizer, f: BatchFormat): Set<number> {
  const s = new Set([tok.eosId]);
  if (f.template === 'qwen') {
    const end = tok.tokenToId('<|im_end|>');
    if (end !== undefined) s.add(end);
  }
  return s;
}

/**
 * nextLogits(prompt, images) → [B, V] logits of the token after each row's last position.
 */
export function greedyAnswers(tok: TextTokenizer, f: BatchFormat, images: Tensor, questions: string[],
  nextLogits: (p: PromptTensors, images: Tensor) => Tensor, o: AnswerOptions = {}): string[] {
  const B = images.shape[0];
  if (questions.length !== B) throw new RangeError(`answer: ${B} images but ${questions.length} questions`);
  const maxNew = o.maxNewTokens ?? 8;
  if (!Number.isInteger(maxNew) || maxNew < 1) throw new RangeError(`maxNewTokens must be a positive integer, got ${maxNew}`);
  const stops = stopIds(tok, f);
  const rows = questions.map((q) => questionPrompt(tok, f, q));
  const out: number[][] = rows.map(() => []);
  const done = rows.map(() => false);
  noGrad(() => {
    for (let step = 0; step < maxNew && done.includes(false); step++) {
      const next = tidy(() => {
        const p = promptTensors(rows.map((r, b) => ({ ids: [...r.ids, ...out[b]], conditionMask: r.conditionMask })), tok.padId, images.device);
        // The text head may be wider than the tokenizer (mar-diffusion's presets fix its size; Hugging
        // Face pads vocabularies): ids past the tokenizer's cannot be decoded, so they are never chosen.
        const logits = nextLogits(p, images);
        const V = Math.min(logits.shape[1], tok.vocabSize);
        return Array.from(logits.narrow(-1, 0, V).argmax(-1).toArray() as BigInt64Array, Number);
      });
      next.forEach((id, b) => {
        if (done[b]) return;
        if (stops.has(id)) done[b] = true;
        else out[b].push(id);
      });
    }
  });
  return out.map((ids) => tok.decode(ids, { skipSpecial: true }).trim());
}
