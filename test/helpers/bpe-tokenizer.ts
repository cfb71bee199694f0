// A Hugging Face tokenizer.json written by hand for tests (no download): byte-level BPE as GPT-2
// and Qwen use, so it encodes any text.
import * as fs from 'node:fs';
import * as path from 'node:path';

// GPT-2's byte-to-unicode table, to write a byte-level BPE tokenizer.json by hand.
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  const table: string[] = [];
  bs.forEach((b, i) => { table[b] = String.fromCodePoint(cs[i]); });
  return table;
}

/** Writes tokenizer.json (a small byte-level BPE: every byte, a few merges, Qwen-style specials) and tokenizer_config.json into dir. */
export function writeBpe(dir: string, specials = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<image>', '<|image_gen|>']): { vocab: Record<string, number> } {
  const table = bytesToUnicode();
  const vocab: Record<string, number> = {};
  table.forEach((ch) => { vocab[ch] = Object.keys(vocab).length; });
  const merges = ['h e', 'l l', 'he ll', 'hell o', 'Ġ w', 'o r', 'Ġw or', 'l d', 'Ġwor ld', 'Ġ c', 'u b', 'Ġc ub', 'Ġcub e'];
  for (const m of merges) vocab[m.replace(' ', '')] = Object.keys(vocab).length;
  const base = Object.keys(vocab).length;
  const tj = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: specials.map((content, i) => ({ id: base + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges },
  };
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tj));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|im_end|>', pad_token: '<|endoftext|>' }));
  specials.forEach((s, i) => { vocab[s] = base + i; });
  return { vocab };
}
