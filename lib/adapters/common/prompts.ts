// Prompts for inference: the same chat template and placeholders as training, cut where the
// model's own output begins (the answer text, or the generated image's first placeholder).
import { encodeChat, IMAGE_TAG } from '../../data/tokenizer/chat';
import type { TextTokenizer } from '../../data/tokenizer/types';
import type { BatchFormat } from '../types';

export interface EncodedPrompt {
  ids: number[];
  /** 1 at condition-image placeholder positions. */
  conditionMask: Uint8Array;
}

function encodeOptions(f: BatchFormat) {
  return { template: f.template, conditionTokens: f.conditionTokens, generationTokens: f.generationTokens };
}

/** `<image>\n{question}` up to where the answer starts. */
export function questionPrompt(tok: TextTokenizer, f: BatchFormat, question: string): EncodedPrompt {
  // An empty answer still carries the trained end token: the first trained position is where
  // the answer would begin.
  const enc = encodeChat(tok, [{ user: `${IMAGE_TAG}\n${question}`, assistant: '' }], encodeOptions(f));
  const start = enc.labels.findIndex((l) => l !== -100);
  const n = start < 0 ? enc.ids.length : start;
  return { ids: enc.ids.slice(0, n), conditionMask: enc.conditionMask.slice(0, n) };
}

/**
 * `<image>\n{prompt}` followed by the generated image's placeholders. `generationStart` is the
 * index of the first placeholder; the ids run through the last one.
 */
export function generationPrompt(tok: TextTokenizer, f: BatchFormat, prompt: string): EncodedPrompt & { generationMask: Uint8Array; generationStart: number } {
  const enc = encodeChat(tok, [{ user: `${IMAGE_TAG}\n${prompt}`, assistant: { image: 'generation' } }], encodeOptions(f));
  const start = enc.generationMask.indexOf(1);
  const end = enc.generationMask.lastIndexOf(1) + 1;
  return { ids: enc.ids.slice(0, end), conditionMask: enc.conditionMask.slice(0, end), generationMask: enc.generationMask.slice(0, end), generationStart: start };
}
