// Every file reader against a corpus of bad inputs (corpus.ts): a missing file, a directory, a
// FIFO, an empty file, a truncated one, random bytes, the wrong JSON shape and a huge declared
// length (safetensors header length, zip directory size, PNG dimensions, a tokenizer id of
// 99,999,999; the LLaVA list and adapter.json declare no length, and a too-long LLaVA
// conversation is a batching problem: test/data/max-sequence-length.test.ts). Each row expects
// the reader's error class, a message naming the file, and an answer in time; the process
// lives on. A FIFO row never hangs the run: a helper process opens the FIFO for writing (without
// blocking) every 200 ms from GUARD_MS on, which releases a reader blocked opening it (the bug),
// so that reader answers late and fails the row instead of freezing jest. A reader that never
// blocked answers at once and its helper is stopped; one that did keeps its helper until the end
// (libvips, released, opens the file again).
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { torch } from '../../lib';
import { buildCorpus, type Row } from './corpus';

const GUARD_MS = 5000;
const ROW_TIMEOUT_MS = 30_000;

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-corpus-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const { rows, controls, fifoProblem } = buildCorpus(root);

/** From ms on, releases any reader blocked opening `fifo` (O_NONBLOCK: with no reader the open just fails). */
function fifoGuard(fifo: string, ms: number): ChildProcess {
  const script = `const fs = require('fs');
    const release = () => { try { fs.closeSync(fs.openSync(${JSON.stringify(fifo)}, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK)); } catch {} };
    setTimeout(() => { release(); setInterval(release, 200); }, ${ms});`;
  return spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
}
const lingering: ChildProcess[] = [];
afterAll(async () => {
  await new Promise((r) => setTimeout(r, lingering.length > 0 ? 1000 : 0)); // let them release what the bug left blocked
  for (const g of lingering) g.kill();
});

/** The reader's error (or a timeout error) and how long it took. */
async function attempt(r: Row): Promise<{ err: unknown; ms: number }> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ROW_TIMEOUT_MS / 2} ms`)), ROW_TIMEOUT_MS / 2); });
  try {
    await Promise.race([Promise.resolve().then(() => r.read(r.arg)), late]);
    return { err: undefined, ms: performance.now() - t0 };
  } catch (e) {
    return { err: e, ms: performance.now() - t0 };
  } finally {
    clearTimeout(timer);
  }
}

describe('good inputs read (the corpus is built from files the readers accept)', () => {
  test.each(controls.map((c) => [c.reader, c] as const))('%s', async (_, c) => {
    await c.read(c.arg);
  }, ROW_TIMEOUT_MS);
});

describe('bad inputs: the right error, naming the file, in time', () => {
  test.each(rows.map((r) => [r.reader, r.input, r] as const))('%s: %s', async (_, __, r) => {
    const guard = r.fifo ? fifoGuard(r.names, GUARD_MS) : undefined;
    const res = await attempt(r);
    if (guard !== undefined) {
      if (res.ms < GUARD_MS) guard.kill();
      else lingering.push(guard);
    }
    expect(res.err).toBeInstanceOf(r.cls);
    expect((res.err as Error).message).toContain(r.names);
    if (r.fifo) expect(res.ms).toBeLessThan(GUARD_MS); // an answer only after the guard's write-open = the reader waited on the pipe
  }, ROW_TIMEOUT_MS);

  (fifoProblem === undefined ? test : test.skip)(`FIFO rows ${fifoProblem === undefined ? 'ran' : `SKIPPED: ${fifoProblem}`}`, () => {
    expect(rows.filter((r) => r.fifo).length).toBeGreaterThanOrEqual(9);
  });
});

test('the process lives on: the addon still computes', () => {
  const t = torch.ones([3]);
  expect(torch.tidy(() => t.sum().item())).toBe(3);
  t.dispose();
});
