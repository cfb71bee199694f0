// A word-level tokenizer with a deterministic vocabulary: special tokens first, then the words
// sorted alphabetically. Text is lower-cased and split into words, numbers and punctuation;
// special tokens written literally are kept whole. The scene vocabulary is enumerated from the
// generator's own word lists, so every scene question and answer encodes without <unk>.
import type { TextTokenizer } from './types';

export const WORD_SPECIALS = [
  '<pad>', '<unk>', '<bos>', '<eos>', '<|im_start|>', '<|im_end|>', '<image>', '<|image_gen|>',
] as const;

const PUNCT = '?.,!:;\'"()-';
const NO_SPACE_BEFORE = new Set(['?', '.', ',', '!', ':', ';', ')', '\n']);
const NO_SPACE_AFTER = new Set(['(', '\n']);

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface WordTokenizerJSON {
  type: 'word';
  specials: string[];
  words: string[];
}

export class WordTokenizer implements TextTokenizer {
  readonly kind = 'word' as const;
  private readonly vocab: string[];
  private readonly index = new Map<string, number>();
  private readonly specials: string[];
  private readonly specialRe: RegExp;
  private readonly unkId: number;
  readonly padId: number;
  readonly eosId: number;

  constructor(words: readonly string[], specials: readonly string[] = WORD_SPECIALS) {
    for (const need of ['<pad>', '<unk>', '<eos>']) {
      if (!specials.includes(need)) throw new RangeError(`WordTokenizer: specials must include ${need}`);
    }
    this.specials = [...specials];
    // The newline is always a word: chat templates are made of it.
    const sortedWords = [...new Set([...words.map((w) => w.toLowerCase()), '\n'])].filter((w) => w.length > 0 && !specials.includes(w)).sort();
    this.vocab = [...this.specials, ...sortedWords];
    this.vocab.forEach((t, i) => this.index.set(t, i));
    this.specialRe = new RegExp(`(${[...this.specials].sort((a, b) => b.length - a.length).map(escapeRe).join('|')})`);
    this.unkId = this.index.get('<unk>')!;
    this.padId = this.index.get('<pad>')!;
    this.eosId = this.index.get('<eos>')!;
  }

  /** Splits plain text (no special tokens) into word, number, punctuation and newline pieces. */
  static pieces(text: string): string[] {
    const out: string[] = [];
    const re = new RegExp(`\\n|[${escapeRe(PUNCT)}]|[^\\s${escapeRe(PUNCT)}]+`, 'g');
    for (const m of text.toLowerCase().matchAll(re)) out.push(m[0]);
    return out;
  }

  /** A tokenizer whose vocabulary is every piece of the given texts. */
  static fromCorpus(texts: Iterable<string>, specials: readonly string[] = WORD_SPECIALS): WordTokenizer {
    const words = new Set<string>();
    for (const t of texts) for (const p of WordTokenizer.pieces(t)) words.add(p);
    return new WordTokenizer([...words], specials);
  }

  static fromJSON(j: WordTokenizerJSON): WordTokenizer {
    if (j?.type !== 'word' || !Array.isArray(j.words) || !Array.isArray(j.specials)) {
      throw new RangeError('not a word tokenizer JSON ({ type: "word", specials, words })');
    }
    return new WordTokenizer(j.words, j.specials);
  }

  toJSON(): WordTokenizerJSON {
    return { type: 'word', specials: [...this.specials], words: this.vocab.slice(this.specials.length) };
  }

  get vocabSize(): number { return this.vocab.length; }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const part of text.split(this.specialRe)) {
      if (part === '') continue;
      const special = this.index.get(part);
      if (special !== undefined && this.specials.includes(part)) { ids.push(special); continue; }
      for (const p of WordTokenizer.pieces(part)) ids.push(this.index.get(p) ?? this.unkId);
    }
    return ids;
  }

  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    let out = '';
    let prev: string | undefined;
    for (const id of ids) {
      const t = this.vocab[id];
      if (t === undefined) throw new RangeError(`token id ${id} is outside the vocabulary (size ${this.vocab.length})`);
      const special = id < this.specials.length;
      if (special && opts.skipSpecial) continue;
      const glue = prev === undefined || special || this.specials.includes(prev) || NO_SPACE_BEFORE.has(t) || NO_SPACE_AFTER.has(prev);
      out += glue ? t : ` ${t}`;
      prev = t;
    }
    return out;
  }

  tokenToId(token: string): number | undefined { return this.index.get(token); }
  idToToken(id: number): string | undefined { return this.vocab[id]; }
}
