// The command line's error paths: unknown flags and commands, bad values, missing datasets and
// run directories, corrupt checkpoints — each a readable message and exit code 2 (usage) or 1.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';

jest.setTimeout(120_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const run = runCli;

describe('unimrg CLI errors', () => {
  it('unknown commands and flags are usage errors (2)', async () => {
    expect(await run('trian')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown command 'trian'/) });
    expect(await run('train', '--bogus')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown option '--bogus'/) });
  });

  it('bad values and configs name the flag or field', async () => {
    expect(await run('train', '--steps', 'ten')).toMatchObject({ code: 2, err: expect.stringMatching(/--steps must be an integer >= 1, got 'ten'/) });
    expect(await run('train', '--family', 'gpt')).toMatchObject({ code: 2, err: expect.stringMatching(/family: Invalid enum value/) });
    expect(await run('train', '--tasks', 'understanding,colour')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown task 'colour'/) });
    expect(await run('train', '--weights', '1,1')).toMatchObject({ code: 2, err: expect.stringMatching(/--weights takes 4 comma-separated numbers/) });
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, '{ "batch": { "size": 0 } }');
    expect(await run('train', '-c', bad)).toMatchObject({ code: 2, err: expect.stringMatching(/batch\.size/) });
    fs.writeFileSync(bad, '{ not json');
    expect(await run('train', '-c', bad)).toMatchObject({ code: 2, err: expect.stringMatching(/not valid JSON/) });
  });

  it('missing datasets, run directories and checkpoints are reported', async () => {
    expect(await run('train', '--config', path.join(tmp, 'none.json'))).toMatchObject({ code: 2, err: expect.stringMatching(/config file not found/) });
    const cfg = path.join(tmp, 'llava.json');
    fs.writeFileSync(cfg, JSON.stringify({ data: { source: 'llava' } }));
    expect(await run('train', '-c', cfg)).toMatchObject({ code: 2, err: expect.stringMatching(/needs the folder path/) });
    expect(await run('train', '--base', path.join(tmp, 'nowhere'))).toMatchObject({ code: 2, err: expect.stringMatching(/--base: .* does not exist/) });
    expect(await run('train', '--tokenizer', path.join(tmp, 'no-tokenizer.json'))).toMatchObject({ code: 2, err: expect.stringMatching(/--tokenizer: .*no-tokenizer.json does not exist/) });
    expect(await run('eval', path.join(tmp, 'nowhere'))).toMatchObject({ code: 2, err: expect.stringMatching(/no such run directory/) });
    // a run directory whose weights are corrupt
    const runDir = path.join(tmp, 'corrupt');
    fs.mkdirSync(path.join(runDir, 'checkpoint'), { recursive: true });
    fs.writeFileSync(path.join(runDir, 'adapter.json'), JSON.stringify({ family: 'autoregressive-vq', preset: 'tiny', model: {} }));
    fs.writeFileSync(path.join(runDir, 'checkpoint', 'model.safetensors'), Buffer.from('garbage, not a safetensors file'));
    const r = await run('eval', runDir, '--count', '1', '--generation-count', '0');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/model\.safetensors/);
  });

  it('--help works on every command', async () => {
    for (const c of ['train', 'eval', 'generate', 'tokenizer', 'label', 'experiment', 'quickstart', 'make-bases', 'launch', 'doctor']) {
      const r = await run(c, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Usage: unimrg/);
    }
  });
});
