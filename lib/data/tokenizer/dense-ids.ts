// Token ids must be dense. The model's text vocabulary (embedding and output rows) is the largest
// id + 1, so one stray id of 99,999,999 in a 150k-token vocabulary asks for a 25 GB embedding,
// and the tokenizer library itself sizes its id tables by it. Checked on the declared ids before
// the tokenizer is built (building it with such an id took 5 s), and again on the built vocabulary.

/**
 * The largest token id a vocabulary of n tokens may hold: real tokenizers number their tokens
 * densely, added tokens sitting just past the model's vocabulary (sometimes after a gap).
 */
export const maxTokenId = (n: number): number => Math.min(2 * n + 1024, 2 ** 24);

/** The largest id of the vocabulary, after refusing ids that are not dense non-negative integers. */
export function checkIds(vocab: Map<string, number>, source: string): number {
  let max = -1;
  let maxToken = '';
  for (const [token, id] of vocab) {
    if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`${source}: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}; ids are non-negative integers`);
    if (id > max) { max = id; maxToken = token; }
  }
  const limit = maxTokenId(vocab.size);
  if (max > limit) {
    throw new RangeError(`${source}: token ${JSON.stringify(maxToken)} has id ${max}, but the vocabulary holds ${vocab.size} tokens `
      + `(ids above ${limit} are refused: the embedding would need ${max + 1} rows); the file is corrupt or its ids are not dense`);
  }
  return max;
}

/** Token → id as tokenizer.json declares them (model.vocab, then added_tokens), without building it. */
export function declaredIds(tj: Record<string, unknown>): Map<string, number> {
  const ids = new Map<string, number>();
  const vocab = (tj.model as { vocab?: unknown } | null | undefined)?.vocab;
  if (Array.isArray(vocab)) vocab.forEach((e, i) => ids.set(String(Array.isArray(e) ? e[0] : e), i)); // Unigram: [token, score] by id
  else if (vocab !== null && typeof vocab === 'object') for (const [t, id] of Object.entries(vocab)) ids.set(t, id as number);
  if (Array.isArray(tj.added_tokens)) {
    for (const a of tj.added_tokens as { content?: unknown; id?: unknown }[]) ids.set(String(a?.content), a?.id as number);
  }
  return ids;
}
