// Hugging Face tokenizer.json tokenizers (BPE, WordPiece, Unigram; Qwen, Llama, ...) through
// @huggingface/tokenizers, a pure-JS implementation: no network, no native code.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { TextTokenizer } from './types';

export interface HuggingFaceOptions {
  /** Pad token; default the config's pad_token, else <|endoftext|>, else the EOS token. */
  pad?: string;
  /** EOS token; default the config's eos_token, else <|im_end|>, else </s>. */
  eos?: string;
}

function tokenName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

export class HuggingFaceTokenizer implements TextTokenizer {
  readonly kind = 'huggingface' as const;
  readonly padId: number;
  readonly eosId: number;
  readonly vocabSize: number;
  private readonly specialIds: Set<number>;

  constructor(private readonly tok: Tokenizer, config: Record<string, unknown> = {}, opts: HuggingFaceOptions = {}) {
    const find = (names: (string | undefined)[], what: string): number => {
      for (const n of names) {
        if (n === undefined) continue;
        const id = tok.token_to_id(n);
        if (id !== undefined) return id;
      }
      throw new RangeError(`tokenizer.json has no ${what} token (tried ${names.filter(Boolean).join(', ')}); pass { ${what}: '...' }`);
    };
    this.eosId = find([opts.eos, tokenName(config.eos_token), '<|im_end|>', '</s>', '<|endoftext|>'], 'eos');
    this.padId = find([opts.pad, tokenName(config.pad_token), '<|endoftext|>', opts.eos ?? tokenName(config.eos_token), '<|im_end|>', '</s>'], 'pad');
    const vocab = tok.get_vocab(true);
    let max = -1;
    for (const id of vocab.values()) if (id > max) max = id;
    this.vocabSize = max + 1;
    this.specialIds = new Set([...tok.get_added_tokens_decoder()].filter(([, t]) => t.special).map(([id]) => id));
  }

  /**
   * Loads a tokenizer.json (a file, or a folder holding tokenizer.json and optionally
   * tokenizer_config.json, as a Hugging Face model snapshot does).
   */
  static fromFile(file: string, opts: HuggingFaceOptions = {}): HuggingFaceTokenizer {
    let json = file;
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) json = path.join(file, 'tokenizer.json');
    if (!fs.existsSync(json)) throw new Error(`no tokenizer.json at ${json}`);
    let tj: unknown;
    try {
      tj = JSON.parse(fs.readFileSync(json, 'utf8'));
    } catch (e) {
      throw new Error(`cannot parse ${json}: ${(e as Error).message}`);
    }
    const cfgFile = path.join(path.dirname(json), 'tokenizer_config.json');
    const config = fs.existsSync(cfgFile) ? (JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as Record<string, unknown>) : {};
    return new HuggingFaceTokenizer(new Tokenizer(tj as object, config), config, opts);
  }

  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    return this.tok.decode([...ids], { skip_special_tokens: opts.skipSpecial ?? false, clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | undefined { return this.tok.token_to_id(token); }
  idToToken(id: number): string | undefined { return this.tok.id_to_token(id); }
  isSpecial(id: number): boolean { return this.specialIds.has(id); }
}
