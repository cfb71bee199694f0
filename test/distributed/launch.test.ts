// The torchrun-like launcher: environment per rank, success, and a failed rank stopping the job.
import * as path from 'node:path';
import { launch } from '../../lib/cli/launch';
import { root } from './spawn';

const script = (name: string) => path.join(root, 'test', 'scripts', name);

describe('unimrg launch', () => {
  it('starts --nproc ranks that form a group (exit 0)', async () => {
    const lines: string[] = [];
    const code = await launch({ nproc: 2, masterPort: 0, stdio: 'ignore', log: (l) => lines.push(l) }, [script('ddp-collectives.ts')]);
    expect({ code, lines }).toEqual({ code: 0, lines: [] });
  });

  it('when a rank dies, names it, stops the others and returns non-zero', async () => {
    const lines: string[] = [];
    const t0 = Date.now();
    const code = await launch({
      nproc: 2, masterPort: 0, stdio: 'ignore', log: (l) => lines.push(l),
      env: { DDP_STEPS: '200', DDP_KILL_RANK: '1', DDP_KILL_STEP: '2' },
    }, [script('ddp-train.ts')]);
    expect(code).not.toBe(0);
    expect(Date.now() - t0).toBeLessThan(60000);
    expect(lines[0]).toMatch(/^unimrg launch: rank 1 \(local rank 1, pid \d+\) was killed by SIGKILL; stopping the other 1 rank\(s\)/);
  });

  it('refuses bad options with a sentence', async () => {
    await expect(launch({ nproc: 0 }, ['x.js'])).rejects.toThrow(/--nproc must be an integer >= 1/);
    await expect(launch({ nproc: 1, nnodes: 2, nodeRank: 2 }, ['x.js'])).rejects.toThrow(/--node-rank must lie in \[0, 2\)/);
    await expect(launch({ nproc: 1 }, [])).rejects.toThrow(/no command given/);
    await expect(launch({ nproc: 1, nnodes: 2, masterPort: 0 }, ['x.js'])).rejects.toThrow(/only works on one node/);
  });
});
