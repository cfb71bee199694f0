// One 20,000-word conversation must not set the length of its batch (attention is O(L²): the
// run died on a 25 GB allocation naming neither the record nor its length). A sample over
// maxSequenceLength is refused: a LLaVA record is reported ('too-long', with the entry, the
// data.json file and the length) and passed over for that task only; a source that cannot
// report makes the batch fail with the record's index, id and length.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { data } from '../../lib';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-seqlen-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const json = path.join(root, 'data.json');
const WORDS = 20_000;
const turn = (q: string, a: string) => [{ from: 'human', value: `<image>\n${q}` }, { from: 'gpt', value: a }];
const longAnswer = Array.from({ length: WORDS }, (_, i) => ['red', 'cube', 'sphere', 'left'][i % 4]).join(' ');

beforeAll(async () => {
  await data.writeImage(path.join(root, 'img/a.png'), data.scenes.scene(1, { size: 64 }).image);
  fs.writeFileSync(json, JSON.stringify([
    { id: 'short', image: 'a.png', conversations: turn('Is there a cube?', 'yes') },
    { id: 'novel', image: 'a.png', conversations: turn('Describe the scene.', longAnswer) },
  ]));
});

const batch = { batchSize: 2, conditionSize: 16, generationSize: 16, shuffle: false } as const;
const llava = (): data.SourceSpec => ({ kind: 'llava', json, imageRoot: path.join(root, 'img') });

test('LLaVA: the long record is reported with its entry, file and length, and left out of understanding', async () => {
  const got: data.Problem[] = [];
  const l = await data.createLoader({ source: llava(), tokenizer: { kind: 'scenes' }, batch: { ...batch, ratios: { understanding: 1 } } }, { workers: 0, end: 2, onProblem: (p) => got.push(p) });
  for (let b = await l.nextHost(); b !== null; b = await l.nextHost()) {
    expect(b.ids).toEqual(['short', 'short']);
    expect(b.inputIds.shape[1]).toBeLessThan(64);
  }
  await l.close();
  expect(got).toHaveLength(1);
  expect(got[0]).toMatchObject({ entry: 1, id: 'novel', kind: 'too-long', path: json });
  expect(got[0].message).toMatch(/^its understanding sample has (\d+) tokens, more than maxSequenceLength 4096; left out of the understanding task$/);
  expect(Number(/has (\d+) tokens/.exec(got[0].message)![1])).toBeGreaterThan(WORDS);
  expect(data.formatProblem(got[0])).toContain(json);
});

test('the same record still serves the generation tasks (their prompts are short)', async () => {
  const got: data.Problem[] = [];
  const l = await data.createLoader({ source: llava(), tokenizer: { kind: 'scenes' }, batch: { ...batch, ratios: { reconstruction: 1 } } }, { workers: 0, end: 1, onProblem: (p) => got.push(p) });
  expect((await l.nextHost())!.ids).toEqual(['short', 'novel']);
  await l.close();
  expect(got).toEqual([]);
});

test('a source that cannot report: the batch fails naming the record, its id and its length', async () => {
  const rec = (await (await data.LlavaDataset.open({ json, imageRoot: path.join(root, 'img') })).get(1))!;
  const source: data.RecordSource = { length: 1, get: () => rec };
  const b = new data.TaskBatcher(source, data.sceneTokenizer(), { ...batch, ratios: { understanding: 1 } });
  await expect(b.hostBatch(0)).rejects.toThrow(/^record 0 \(id novel\): its understanding sample has \d{5} tokens, more than maxSequenceLength 4096; shorten the record, raise maxSequenceLength, or set maxLength/);
  await expect(b.hostBatch(0)).rejects.toThrow(RangeError);
});

test('the cap: an explicit value, the default floor, room for the image positions, and maxLength truncation', async () => {
  const source: data.RecordSource = { length: 1, get: () => ({ id: 'x', image: data.scenes.scene(1, { size: 64 }).image, conversation: [{ user: '<image>\nhi', assistant: longAnswer }] }) };
  const tok = data.sceneTokenizer();
  const make = (o: Partial<data.BatcherOptions>) => new data.TaskBatcher(source, tok, { ...batch, ratios: { understanding: 1 }, ...o });
  expect(make({}).maxSequenceLength).toBe(data.DEFAULT_MAX_SEQUENCE_LENGTH);
  expect(make({ maxSequenceLength: 100 }).maxSequenceLength).toBe(100);
  expect(make({ conditionTokens: 4096, generationTokens: 1024 }).maxSequenceLength).toBe(4096 + 1024 + 1024);
  expect(make({ maxLength: 50_000 }).maxSequenceLength).toBe(50_000);
  expect(() => make({ maxSequenceLength: 0 })).toThrow(/maxSequenceLength must be a positive integer, got 0/);
  // Asking to truncate is not refused: the row is cut to maxLength.
  const cut = await make({ maxLength: 50 }).hostBatch(0);
  expect(cut.inputIds.shape).toEqual([2, 50]);
});
