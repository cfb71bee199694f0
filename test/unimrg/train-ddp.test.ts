// `unimrg train --nproc 2`: the trainer under data parallelism (Gloo on loopback) — both ranks
// train to the end, and rank 0 alone writes metrics and the checkpoint. (That DDP keeps the ranks'
// parameters identical is tested in test/distributed/ddp.test.ts.)
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prepareCodec, readMetrics } from '../../lib/unimrg/experiment';

jest.setTimeout(300_000);

const root = path.join(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-train-ddp-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('trains with two data-parallel ranks and checkpoints once', async () => {
  const codec = await prepareCodec('autoregressive-vq', 'tiny', path.join(tmp, 'codec.safetensors'), 8, () => {});
  const out = path.join(tmp, 'run');
  const stdout = execFileSync(process.execPath, ['--require', 'tsx/cjs', 'test/scripts/cli.ts', 'train', '--nproc', '2',
    '--codec', codec, '--steps', '4', '--batch-size', '2', '--count', '16', '--workers', '0', '--out', out, '--progress', 'none'], {
    cwd: root, encoding: 'utf8', timeout: 240_000
  });
  expect(stdout).toMatch(/finished at step 4/);
  expect(stdout.match(/finished at step/g)).toHaveLength(1); // only rank 0 reports
  expect(readMetrics(out).map((m) => m.step)).toEqual([1, 2, 3, 4]);
  expect(fs.existsSync(path.join(out, 'checkpoint', 'model.safetensors'))).toBe(true);
});
