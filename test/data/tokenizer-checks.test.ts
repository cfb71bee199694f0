// A Hugging Face tokenizer is checked as it loads: ids must be dense (one stray id of 99,999,999
// made a 100-million-row embedding, a 25 GB allocation error naming neither the file nor the
// token), and every JSON problem names the file it is in.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { data } from '../../lib';
import { writeBpe } from '../helpers/bpe-tokenizer';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-tokcheck-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A tokenizer folder from the test BPE, with edit() applied to its tokenizer.json. */
function folder(name: string, edit: (tj: { added_tokens: { id: number; content: string }[]; model: { vocab: Record<string, number> } }) => void = () => undefined): string {
  const d = path.join(root, name);
  fs.mkdirSync(d);
  writeBpe(d);
  const f = path.join(d, 'tokenizer.json');
  const tj = JSON.parse(fs.readFileSync(f, 'utf8'));
  edit(tj);
  fs.writeFileSync(f, JSON.stringify(tj));
  return d;
}

test('an id of 99,999,999 is refused at once, naming the file, the token and the id', () => {
  const d = folder('sparse', (tj) => { tj.added_tokens[4].id = 99_999_999; });
  const t0 = performance.now();
  expect(() => data.HuggingFaceTokenizer.fromFile(d)).toThrow(RangeError);
  expect(() => data.HuggingFaceTokenizer.fromFile(d)).toThrow(
    `${path.join(d, 'tokenizer.json')}: token "<|image_gen|>" has id 99999999, but the vocabulary holds`);
  expect(performance.now() - t0).toBeLessThan(2000); // refused before the library builds 100-million-entry tables
});

test('the bound: dense vocabularies with added tokens past the model vocabulary pass; negative ids do not', () => {
  const n = 270; // the test BPE's tokens
  expect(data.maxTokenId(n)).toBe(2 * n + 1024);
  expect(data.maxTokenId(50_000_000)).toBe(2 ** 24);
  const gap = folder('gap', (tj) => { tj.added_tokens.forEach((a, i) => { a.id = 1000 + i; }); }); // Qwen-style: a gap below the added tokens
  expect(data.HuggingFaceTokenizer.fromFile(gap).vocabSize).toBe(1005);
  const neg = folder('negative', (tj) => { tj.model.vocab.hello = -3; });
  expect(() => data.HuggingFaceTokenizer.fromFile(neg)).toThrow(/tokenizer\.json: token "hello" has id -3; ids are non-negative integers/);
});

test('JSON problems name the file: tokenizer_config.json, a wrong shape, a tokenizer.json that is a folder', () => {
  const cfg = folder('cfg');
  fs.writeFileSync(path.join(cfg, 'tokenizer_config.json'), '{ "eos_token": ');
  expect(() => data.HuggingFaceTokenizer.fromFile(cfg)).toThrow(`cannot parse ${path.join(cfg, 'tokenizer_config.json')}`);
  fs.writeFileSync(path.join(cfg, 'tokenizer_config.json'), '["eos"]');
  expect(() => data.HuggingFaceTokenizer.fromFile(cfg)).toThrow(`${path.join(cfg, 'tokenizer_config.json')}: tokenizer_config.json must be a JSON object, got an array`);
  const shape = folder('shape', (tj) => { (tj as { model: unknown }).model = { type: 'Nonsense' }; });
  expect(() => data.HuggingFaceTokenizer.fromFile(shape)).toThrow(`${path.join(shape, 'tokenizer.json')} is not a Hugging Face tokenizer.json the loader can use: Unknown TokenizerModel type: Nonsense`);
  const nested = path.join(root, 'nested');
  fs.mkdirSync(path.join(nested, 'tokenizer.json'), { recursive: true });
  expect(() => data.HuggingFaceTokenizer.fromFile(nested)).toThrow(`${path.join(nested, 'tokenizer.json')} is not a regular file (it is a directory)`);
  const noEos = folder('no-eos', (tj) => { tj.added_tokens = tj.added_tokens.filter((a) => !['<|im_end|>', '<|endoftext|>'].includes(a.content)); });
  fs.writeFileSync(path.join(noEos, 'tokenizer_config.json'), '{}');
  expect(() => data.HuggingFaceTokenizer.fromFile(noEos)).toThrow(`${path.join(noEos, 'tokenizer.json')} has no eos token`);
});
