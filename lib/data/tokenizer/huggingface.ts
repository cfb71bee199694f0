// Hugging Face tokenizer.json tokenizers (BPE, WordPiece, Unigram; Qwen, Llama, ...) through
// @huggingface/tokenizers, a pure-JS implementation: no network, no native code.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { requireRegularFile } from '../../io/regular-file';
import { checkIds, declaredIds } from './dense-ids';
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

/** A JSON object from a file; every failure names the file. */
function readJsonObject(file: string, what: string): Record<string, unknown> {
  requireRegularFile(file, (m) => new Error(`${what}: ${m}`));
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot parse ${file}: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new RangeError(`${file}: ${what} must be a JSON object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
  }
  return v as Record<string, unknown>;
}

export class HuggingFaceTokenizer implements TextTokenizer {
  readonly kind = 'huggingface' as const;
  readonly padId: number;
  readonly eosId: number;
  readonly vocabSize: number;
  private readonly specialIds: Set<number>;

  /** `source` names the tokenizer in errors (fromFile passes the file). */
  constructor(private readonly tok: Tokenizer, config: Record<string, unknown> = {}, opts: HuggingFaceOptions = {}, source = 'tokenizer.json') {
    const find = (names: (string | undefined)[], what: string): number => {
      for (const n of names) {
        if (n === undefined) continue;
        const id = tok.token_to_id(n);
        if (id !== undefined) return id;
      }
      throw new RangeError(`${source} has no ${what} token (tried ${names.filter(Boolean).join(', ')}); pass { ${what}: '...' }`);
    };
    this.vocabSize = checkIds(tok.get_vocab(true), source) + 1;
    this.eosId = find([opts.eos, tokenName(config.eos_token), '<|im_end|>', '</s>', '<|endoftext|>'], 'eos');
    this.padId = find([opts.pad, tokenName(config.pad_token), '<|endoftext|>', opts.eos ?? tokenName(config.eos_token), '<|im_end|>', '</s>'], 'pad');
    this.specialIds = new Set([...tok.get_added_tokens_decoder()].filter(([, t]) => t.special).map(([id]) => id));
  }

  /**
   * Loads a tokenizer.json (a file, or a folder holding tokenizer.json and optionally
   * tokenizer_config.json, as a Hugging Face model snapshot does). Every error names the file.
   */
  static fromFile(file: string, opts: HuggingFaceOptions = {}): HuggingFaceTokenizer {
    let json = file;
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) json = path.join(file, 'tokenizer.json');
    if (!fs.existsSync(json)) throw new Error(`no tokenizer.json at ${json}`);
    const tj = readJsonObject(json, 'a Hugging Face tokenizer.json');
    checkIds(declaredIds(tj), json);
    const cfgFile = path.join(path.dirname(json), 'tokenizer_config.json');
    const config = fs.existsSync(cfgFile) ? readJsonObject(cfgFile, 'tokenizer_config.json') : {};
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(tj, config);
    } catch (e) {
      throw new RangeError(`${json} is not a Hugging Face tokenizer.json the loader can use: ${(e as Error).message}`);
    }
    return new HuggingFaceTokenizer(tok, config, opts, json);
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
