// kill -9 at every stage of a checkpoint save, then --resume: the run ends bit-identical to one
// that was never interrupted (weights, optimiser state, every step's loss), no temporary folder
// of the dead save survives, and a torn last metrics line (a kill mid-append) is dropped.
// The kill comes from the test-only hook UNIMRG_TEST_KILL_CHECKPOINT=<stage>@<step>
// (lib/io/checkpoint-recovery.ts), which SIGKILLs the process at that point of that step's save.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SAVE_STAGES } from '../../lib/io/checkpoint-recovery';
import { prepareCodec, readMetrics } from '../../lib/unimrg/experiment';

jest.setTimeout(900_000);

const root = path.join(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-crash-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let codec = '';
beforeAll(async () => { codec = await prepareCodec('autoregressive-vq', 'tiny', path.join(tmp, 'codec.safetensors'), 8, () => {}); });

/** `unimrg train` for 6 steps with a checkpoint every 2; its exit status and output. */
function train(out: string, extra: string[] = [], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', 'test/scripts/cli.ts', 'train', '--codec', codec, '--steps', '6',
    '--checkpoint-every', '2', '--batch-size', '2', '--count', '16', '--workers', '0', '--out', out, '--progress', 'none', ...extra],
  { cwd: root, encoding: 'utf8', timeout: 240_000, env: { ...process.env, ...env } });
  return { status: r.status, signal: r.signal, output: `${r.stdout}${r.stderr}` };
}

const file = (run: string, f: string) => fs.readFileSync(path.join(run, 'checkpoint', f));
const losses = (run: string) => readMetrics(run).map((m) => [m.step, m.loss]);
const leftovers = (run: string) => fs.readdirSync(run).filter((n) => n.includes('.tmp-') || n.endsWith('.prev'));

let reference = '';
beforeAll(() => {
  reference = path.join(tmp, 'reference');
  expect(train(reference).status).toBe(0);
});

describe.each(SAVE_STAGES.map((s) => [s]))('killed at "%s" of the step-4 save', (stage) => {
  it('--resume ends bit-identical to the uninterrupted run', () => {
    const run = path.join(tmp, `killed-${stage}`);
    const killed = train(run, [], { UNIMRG_TEST_KILL_CHECKPOINT: `${stage}@4` });
    expect(killed.signal).toBe('SIGKILL');
    // Whatever the stage, a complete checkpoint of step 2 or 4 is reachable.
    const resumed = train(run, ['--resume']);
    expect(resumed.output).toMatch(/finished at step 6/);
    expect(resumed.status).toBe(0);
    expect(file(run, 'model.safetensors').equals(file(reference, 'model.safetensors'))).toBe(true);
    expect(file(run, 'optimizer.safetensors').equals(file(reference, 'optimizer.safetensors'))).toBe(true);
    expect(losses(run)).toEqual(losses(reference));
    expect(leftovers(run)).toEqual([]);
  });
});

it('a torn last metrics line is dropped on --resume, and a corrupt line before it is named', () => {
  const run = path.join(tmp, 'torn');
  expect(train(run, [], { UNIMRG_TEST_KILL_CHECKPOINT: 'temp-created@4' }).signal).toBe('SIGKILL');
  const metrics = path.join(run, 'metrics.jsonl');
  const good = fs.readFileSync(metrics, 'utf8');
  fs.writeFileSync(metrics, `${good}{"step":5,"lr":0.001,"lo`);
  const resumed = train(run, ['--resume']);
  expect(resumed.status).toBe(0);
  expect(resumed.output).toMatch(/dropped the torn last line of .*metrics\.jsonl/);
  expect(losses(run)).toEqual(losses(reference));

  fs.writeFileSync(metrics, `{"step":1}\nnot json\n{"step":2}\n`);
  const corrupt = train(run, ['--resume']);
  expect(corrupt.status).toBe(1);
  expect(corrupt.output).toContain(`${metrics}:2 is not a JSON line`);
});
