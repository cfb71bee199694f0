// Tokenizers behind one interface: the word-level scene tokenizer and a Hugging Face
// tokenizer.json (a small byte-level BPE written here), with the Qwen chat template.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { data } from '../../lib';
import { writeBpe } from '../helpers/bpe-tokenizer';

describe('word tokenizer', () => {
  test('the vocabulary is deterministic: specials first, then words sorted, whatever the corpus order', () => {
    const a = data.WordTokenizer.fromCorpus(['the red cube', 'Is there a cone?']);
    const b = data.WordTokenizer.fromCorpus(['is there a cone ?', 'cube red the']);
    expect(a.toJSON()).toEqual(b.toJSON());
    expect(a.toJSON().specials).toEqual([...data.WORD_SPECIALS]);
    const words = a.toJSON().words;
    expect(words).toEqual([...words].sort());
    expect(data.sceneTokenizer().toJSON()).toEqual(data.sceneTokenizer().toJSON());
  });

  test('encode / decode round-trips (lower-cased), specials stay whole, unknown words are <unk>', () => {
    const t = data.sceneTokenizer();
    const text = '<|im_start|>user\n<image>\nWhich is closer to the camera, the red cube or the blue sphere?<|im_end|>\n';
    const ids = t.encode(text);
    expect(ids[0]).toBe(t.tokenToId('<|im_start|>'));
    expect(ids).toContain(t.tokenToId('<image>'));
    expect(t.decode(ids)).toBe(text.toLowerCase());
    expect(t.encode('How many 7 cubes')).toEqual(['how', 'many', '7', 'cubes'].map((w) => t.tokenToId(w)));
    expect(t.encode('a zebra')).toEqual([t.tokenToId('a'), t.tokenToId('<unk>')]);
    expect(t.decode(t.encode('<|im_start|>yes<|im_end|>'), { skipSpecial: true })).toBe('yes');
    expect(() => t.decode([t.vocabSize])).toThrow(/outside the vocabulary/);
  });

  test('JSON round trip', () => {
    const t = data.sceneTokenizer();
    const u = data.WordTokenizer.fromJSON(JSON.parse(JSON.stringify(t.toJSON())));
    expect(u.encode('Is there a red cone in the image?')).toEqual(t.encode('Is there a red cone in the image?'));
    expect(() => data.WordTokenizer.fromJSON({ type: 'bpe' } as never)).toThrow(/not a word tokenizer/);
  });
});

describe('chat template (Qwen)', () => {
  const t = data.sceneTokenizer();

  test('renders ChatML and labels only the answers and their <|im_end|>', () => {
    const enc = data.encodeChat(t, [
      { user: '<image>\nHow many cubes are there?', assistant: '2' },
      { user: 'What color is the cone?', assistant: 'red' },
    ], { conditionTokens: 3 });
    expect(t.decode(enc.ids)).toBe(
      '<|im_start|>user\n<image><image><image>\nhow many cubes are there?<|im_end|>\n<|im_start|>assistant\n2<|im_end|>\n'
      + '<|im_start|>user\nwhat color is the cone?<|im_end|>\n<|im_start|>assistant\nred<|im_end|>\n');
    const labelled = enc.labels.map((l, i) => [l, i] as const).filter(([l]) => l !== -100);
    expect(labelled.map(([l]) => t.idToToken(l))).toEqual(['2', '<|im_end|>', 'red', '<|im_end|>']);
    for (const [l, i] of labelled) expect(enc.ids[i]).toBe(l);
    expect(Array.from(enc.conditionMask).reduce((a, b) => a + b, 0)).toBe(3);
    expect(enc.ids.filter((_, i) => enc.conditionMask[i] === 1).every((id) => id === t.tokenToId('<image>'))).toBe(true);
    expect(Array.from(enc.generationMask).every((v) => v === 0)).toBe(true);
  });

  test('a generated image is a run of placeholders, nothing labelled', () => {
    const enc = data.encodeChat(t, [{ user: '<image>\nGenerate the depth map of this image.', assistant: { image: 'generation' } }], { generationTokens: 4, system: 'generate an image.' });
    expect(enc.labels.every((l) => l === -100)).toBe(true);
    const gen = enc.ids.filter((_, i) => enc.generationMask[i] === 1);
    expect(gen).toEqual(new Array(4).fill(t.tokenToId('<|image_gen|>')));
    expect(t.decode(enc.ids)).toMatch(/^<\|im_start\|>system\ngenerate an image\.<\|im_end\|>\n<\|im_start\|>user\n<image>\ngenerate the depth map of this image\.<\|im_end\|>\n<\|im_start\|>assistant\n(<\|image_gen\|>){4}<\|im_end\|>\n$/);
  });

  test('plain template and bad options', () => {
    const enc = data.encodeChat(t, [{ user: 'Is there a cube?', assistant: 'no' }], { template: 'plain' });
    expect(t.decode(enc.ids)).toBe('is there a cube?\nno<eos>');
    expect(enc.labels.filter((l) => l !== -100).map((l) => t.idToToken(l))).toEqual(['no', '<eos>']);
    expect(() => data.encodeChat(t, [], { template: 'llama9' })).toThrow(/unknown chat template/);
    expect(() => data.encodeChat(t, [{ user: '<image>', assistant: 'x' }], { conditionTokens: 0 })).toThrow(/positive integer/);
    expect(() => data.encodeChat(t, [{ user: '<image>', assistant: 'x' }], { imageToken: '<img>' })).toThrow(/no token '<img>'/);
  });
});

describe('Hugging Face tokenizer.json', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-tok-'));
  const { vocab } = writeBpe(dir);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('BPE merges, byte-level round trip, special tokens and config tokens', () => {
    const t = data.HuggingFaceTokenizer.fromFile(dir);
    expect(t.kind).toBe('huggingface');
    expect(t.encode('hello world')).toEqual([vocab.hello, vocab['Ġworld']]);
    expect(t.encode(' cube')).toEqual([vocab['Ġcube']]);
    const text = 'Is the red cube closer? 3 ünïcode ✓';
    expect(t.decode(t.encode(text))).toBe(text);
    expect(t.encode('<|im_start|>hello<|im_end|>')).toEqual([vocab['<|im_start|>'], vocab.hello, vocab['<|im_end|>']]);
    expect(t.eosId).toBe(vocab['<|im_end|>']);
    expect(t.padId).toBe(vocab['<|endoftext|>']);
    expect(t.vocabSize).toBe(Object.keys(vocab).length);
    expect(t.decode(t.encode('<|im_start|>hello'), { skipSpecial: true })).toBe('hello');
  });

  test('the chat template through it labels the answer tokens and <|im_end|> only', () => {
    const t = data.HuggingFaceTokenizer.fromFile(path.join(dir, 'tokenizer.json'));
    const enc = data.encodeChat(t, [{ user: '<image>\nhello?', assistant: 'hello world' }], { conditionTokens: 2 });
    expect(t.decode(enc.ids)).toBe('<|im_start|>user\n<image><image>\nhello?<|im_end|>\n<|im_start|>assistant\nhello world<|im_end|>\n');
    expect(enc.labels.filter((l) => l !== -100)).toEqual([vocab.hello, vocab['Ġworld'], vocab['<|im_end|>']]);
  });

  test('missing and broken files, missing tokens', () => {
    expect(() => data.HuggingFaceTokenizer.fromFile(path.join(dir, 'nope'))).toThrow(/no tokenizer.json/);
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{ not json');
    expect(() => data.HuggingFaceTokenizer.fromFile(bad)).toThrow(/cannot parse/);
    const t = data.HuggingFaceTokenizer.fromFile(dir);
    expect(() => data.encodeChat(t, [{ user: 'x', assistant: { image: 'generation' } }], { generationToken: '<|vision_pad|>' })).toThrow(/no token '<\|vision_pad\|>'/);
  });
});
