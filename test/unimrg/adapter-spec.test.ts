// adapter.json through parseAdapterSpecFile: what the trainer writes reads back as readAdapterSpec
// gives it (tokenizer path made absolute), and a garbage file is a RangeError naming the file
// and the field at fault.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { unimrg } from '../../lib';
import { parseAdapterSpecFile } from '../../lib/unimrg/adapter-spec';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-spec-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function specFile(name: string, body: unknown): string {
  const d = path.join(root, name);
  fs.mkdirSync(d, { recursive: true });
  const f = path.join(d, 'adapter.json');
  fs.writeFileSync(f, typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`);
  return f;
}

test('a spec as the trainer writes it: the same object readAdapterSpec gives, tokenizer path absolute', () => {
  const written = { family: 'mar-diffusion', preset: 'tiny', model: { layers: 2 }, tokenizer: { file: 'tokenizer', eos: '<|im_end|>' } };
  const f = specFile('run', written);
  const spec = parseAdapterSpecFile(f);
  expect(spec).toEqual({ ...written, tokenizer: { file: path.join(root, 'run', 'tokenizer'), eos: '<|im_end|>' } });
  expect(spec).toEqual(unimrg.readAdapterSpec(path.join(root, 'run')));
  expect(parseAdapterSpecFile(specFile('no-model', { family: 'query-diffusion', preset: 'small' }))).toEqual({ family: 'query-diffusion', preset: 'small', model: {} });
});

test.each([
  ['not JSON', '{"family": "mar-', /not valid JSON \(/],
  ['an array', '[]', /must be a JSON object with family, preset and model, got an array/],
  ['an unknown family', { family: 'gpt', preset: 'tiny', model: {} }, /field 'family': Invalid enum value\. Expected 'autoregressive-vq' \| 'mar-diffusion' \| 'query-diffusion', received 'gpt'/],
  ['no preset', { family: 'mar-diffusion', model: {} }, /field 'preset': Required/],
  ['model not an object', { family: 'mar-diffusion', preset: 'tiny', model: [1] }, /field 'model': Expected object, received array/],
  ['tokenizer.file a number', { family: 'mar-diffusion', preset: 'tiny', model: {}, tokenizer: { file: 3 } }, /field 'tokenizer\.file': Expected string, received number/],
  ['a misspelt field', { family: 'mar-diffusion', preset: 'tiny', model: {}, tokeniser: {} }, /field 'tokeniser': Unrecognized key/],
] as const)('%s: a RangeError naming the file and the field', (name, body, re) => {
  const f = specFile(name.replace(/\W+/g, '-'), body);
  let err: unknown;
  try { parseAdapterSpecFile(f); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(RangeError);
  expect((err as Error).message).toContain(`adapter spec ${f}: `);
  expect((err as Error).message).toMatch(re);
});

test('not a file: missing, a folder', () => {
  expect(() => parseAdapterSpecFile(path.join(root, 'nowhere.json'))).toThrow(`adapter spec: cannot open ${path.join(root, 'nowhere.json')}: no such file`);
  expect(() => parseAdapterSpecFile(root)).toThrow(`adapter spec: ${root} is not a regular file (it is a directory)`);
});
