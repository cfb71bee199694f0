// Training from the command line in real processes: `unimrg train --nproc 2` (data parallel, Gloo
// on loopback: both ranks train to the end, rank 0 alone writes metrics and the checkpoint; that
// DDP keeps the ranks' parameters identical is tested in test/distributed/ddp.test.ts), the same
// with the optimiser state sharded (--zero), and Ctrl-C.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prepareCodec, readMetrics } from '../../lib/unimrg/experiment';

jest.setTimeout(300_000);

const root = path.join(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-train-ddp-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** `unimrg train --nproc 2` for 4 steps into tmp/<name>; its stdout. */
async function trainTwoRanks(name: string, extra: string[] = []): Promise<string> {
  const codec = await prepareCodec('autoregressive-vq', 'tiny', path.join(tmp, 'codec.safetensors'), 8, () => {});
  return execFileSync(process.execPath, ['--require', 'tsx/cjs', 'test/scripts/cli.ts', 'train', '--nproc', '2',
    '--codec', codec, '--steps', '4', '--batch-size', '2', '--count', '16', '--workers', '0', '--out', path.join(tmp, name),
    '--progress', 'none', ...extra], { cwd: root, encoding: 'utf8', timeout: 240_000 });
}

it('trains with two data-parallel ranks and checkpoints once', async () => {
  const out = path.join(tmp, 'run');
  const stdout = await trainTwoRanks('run');
  expect(stdout).toMatch(/finished at step 4/);
  expect(stdout.match(/finished at step/g)).toHaveLength(1); // only rank 0 reports
  expect(readMetrics(out).map((m) => m.step)).toEqual([1, 2, 3, 4]);
  expect(fs.existsSync(path.join(out, 'checkpoint', 'model.safetensors'))).toBe(true);
});

it('--zero (sharded optimiser state) trains to the same model and writes the same optimiser state', async () => {
  const stdout = await trainTwoRanks('zero', ['--zero']);
  expect(stdout).toMatch(/finished at step 4/);
  const file = (run: string, f: string) => fs.readFileSync(path.join(tmp, run, 'checkpoint', f));
  expect(JSON.parse(file('zero', 'trainer_state.json').toString()).extra.config.optim.zero).toBe(true);
  expect(readMetrics(path.join(tmp, 'zero')).map((m) => m.loss)).toEqual(readMetrics(path.join(tmp, 'run')).map((m) => m.loss));
  // The consolidated AdamW state equals the unsharded one's, byte for byte; so do the weights.
  expect(file('zero', 'optimizer.safetensors').equals(file('run', 'optimizer.safetensors'))).toBe(true);
  expect(file('zero', 'model.safetensors').equals(file('run', 'model.safetensors'))).toBe(true);
  // --resume: the whole state is read, sharded, consolidated again and rewritten unchanged.
  const before = file('zero', 'optimizer.safetensors');
  expect(await trainTwoRanks('zero', ['--zero', '--resume'])).toMatch(/finished at step 4/);
  expect(file('zero', 'optimizer.safetensors').equals(before)).toBe(true);
});

it('Ctrl-C (SIGINT) stops between steps, saves a checkpoint and exits 130', async () => {
  const codec = await prepareCodec('autoregressive-vq', 'tiny', path.join(tmp, 'codec.safetensors'), 8, () => {});
  const out = path.join(tmp, 'interrupted');
  const args = ['--require', 'tsx/cjs', 'test/scripts/cli.ts', 'train', '--codec', codec, '--steps', '400', '--batch-size', '2',
    '--count', '16', '--workers', '0', '--out', out, '--progress', 'lines'];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => {
    stderr += d;
    if (/step 1\//.test(stderr) && !child.killed) child.kill('SIGINT'); // interrupt once training runs
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  expect(stderr).toMatch(/stopping: saving a checkpoint/);
  expect(code).toBe(130);
  const stepped = readMetrics(out).length;
  expect(stepped).toBeGreaterThanOrEqual(1);
  expect(stepped).toBeLessThan(400);
  expect(stdout).toMatch(new RegExp(`stopped at step ${stepped}`));
  const state = JSON.parse(fs.readFileSync(path.join(out, 'checkpoint', 'trainer_state.json'), 'utf8'));
  expect(state.step).toBe(stepped);
});
