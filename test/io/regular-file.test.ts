// The shared check every reader makes before opening a file: regular files (and links to them)
// pass; anything else is named with what it is, sync and async alike, without blocking on a FIFO.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { regularFileProblem, regularFileProblemAsync, requireRegularFile } from '../../lib/io/regular-file';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-regular-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const file = path.join(root, 'f.bin');
fs.writeFileSync(file, 'x');
const link = path.join(root, 'link.bin');
fs.symlinkSync(file, link);
const fifo = path.join(root, 'pipe');
const mkfifo = spawnSync('mkfifo', [fifo]);
const fifoSkip = mkfifo.status === 0 ? undefined : `mkfifo unavailable (${mkfifo.error?.message ?? mkfifo.stderr.toString().trim()})`;

const cases: [string, string, string | undefined][] = [
  ['a regular file', file, undefined],
  ['a link to one', link, undefined],
  ['a missing file', path.join(root, 'nope'), `cannot open ${path.join(root, 'nope')}: no such file`],
  ['a path through a file', path.join(file, 'inner'), `cannot open ${path.join(file, 'inner')}: no such file`],
  ['a directory', root, `${root} is not a regular file (it is a directory)`],
  ['a character device', '/dev/null', '/dev/null is not a regular file (it is a character device)'],
  ['an empty path', '', 'a file path must be a non-empty string, got ""'],
];

test.each(cases)('%s', async (_, p, want) => {
  expect(regularFileProblem(p)).toBe(want);
  expect(await regularFileProblemAsync(p)).toBe(want);
});

(fifoSkip === undefined ? test : test.skip)(`a FIFO${fifoSkip === undefined ? '' : ` — SKIPPED: ${fifoSkip}`}`, async () => {
  expect(regularFileProblem(fifo)).toBe(`${fifo} is not a regular file (it is a FIFO)`);
  expect(await regularFileProblemAsync(fifo)).toBe(`${fifo} is not a regular file (it is a FIFO)`);
  expect(() => requireRegularFile(fifo, (m) => new RangeError(`reader: ${m}`))).toThrow(RangeError);
  expect(() => requireRegularFile(fifo)).toThrow(`${fifo} is not a regular file (it is a FIFO)`);
});
