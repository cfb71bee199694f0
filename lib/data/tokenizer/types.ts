// One interface for the word-level scene tokenizer and Hugging Face tokenizer.json tokenizers.

export interface TextTokenizer {
  readonly kind: 'word' | 'huggingface';
  readonly vocabSize: number;
  /** Token ids of text; special tokens written literally (e.g. "<|im_start|>") map to their ids. No BOS/EOS added. */
  encode(text: string): number[];
  decode(ids: readonly number[], opts?: { skipSpecial?: boolean }): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** Id used to pad batches (its labels are always -100). */
  readonly padId: number;
  readonly eosId: number;
}

/** Token ids the chat template and batching need, looked up by name. */
export function requireToken(t: TextTokenizer, token: string, what: string): number {
  const id = t.tokenToId(token);
  if (id === undefined) {
    throw new RangeError(`the ${t.kind} tokenizer has no token '${token}' (${what}); add it to the tokenizer or name another one in the options`);
  }
  return id;
}
