// What goes wrong is said plainly, and nothing hangs: a dead rank, a busy port, a wrong WORLD_SIZE.
import * as net from 'node:net';
import { distributed } from '../../lib';
import { freePort, runRank, runRanks } from './spawn';

const env = (port: number, rank: number, world: number, extra: Record<string, string> = {}) => ({
  MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), RANK: String(rank), WORLD_SIZE: String(world), ...extra,
});

describe('distributed failures', () => {
  it('a rank killed mid-training makes the other exit non-zero within 60 s, naming it', async () => {
    const kill = { DDP_STEPS: '200', DDP_KILL_RANK: '1', DDP_KILL_STEP: '3', UNIMRG_DIST_TIMEOUT_MS: '60000' };
    const [r0, r1] = await runRanks('ddp-train.ts', 2, [kill, kill], 120000);
    expect(r1.signal).toBe('SIGKILL');
    expect(r0.code).not.toBe(0);
    expect(r0.code).not.toBeNull(); // exited by itself, not killed by the test's timer
    expect(r0.ms).toBeLessThan(60000);
    expect(r0.stderr).toMatch(/failed on rank 0 of 2: rank\(s\) 1 stopped/);
  });

  it('rank 0 says so when MASTER_PORT is already in use', async () => {
    const port = await freePort();
    const busy = net.createServer();
    await new Promise<void>((res) => busy.listen(port, () => res()));
    try {
      const r = await runRank('ddp-collectives.ts', env(port, 0, 2, { UNIMRG_DIST_TIMEOUT_MS: '5000' }));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`rank 0 cannot serve the rendezvous store on 127\\.0\\.0\\.1:${port} .*MASTER_PORT=${port} already in use`));
    } finally {
      busy.close();
    }
  });

  it('ranks started with different WORLD_SIZE both stop with a message saying so', async () => {
    const port = await freePort();
    const res = await Promise.all([runRank('ddp-collectives.ts', env(port, 0, 2)), runRank('ddp-collectives.ts', env(port, 1, 3))]);
    expect(res[0].code).toBe(1);
    expect(res[0].stderr).toMatch(/rank 1 was started with WORLD_SIZE=3 but rank 0 with WORLD_SIZE=2/);
    expect(res[1].code).toBe(1);
    expect(res[1].stderr).toMatch(/rank 0 was started with WORLD_SIZE=2 but rank 1 with WORLD_SIZE=3/);
  });

  it('a missing rank is named when the rendezvous times out', async () => {
    const port = await freePort();
    const r = await runRank('ddp-collectives.ts', env(port, 0, 3, { UNIMRG_DIST_TIMEOUT_MS: '1500' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/rendezvous timed out after 1\.5 s: rank\(s\) 1, 2 never joined \(WORLD_SIZE=3\)/);
  });

  it('bad RANK / WORLD_SIZE / MASTER_* values are refused before anything starts', async () => {
    await expect(distributed.initProcessGroup({ rank: 2, worldSize: 2 })).rejects.toThrow(/RANK=2 is outside \[0, WORLD_SIZE=2\)/);
    await expect(distributed.initProcessGroup({ rank: 0, worldSize: 0 })).rejects.toThrow(/WORLD_SIZE must be >= 1/);
    await expect(distributed.initProcessGroup({ rank: 0, worldSize: 2, initMethod: 'tcp://127.0.0.1:99999' })).rejects.toThrow(/port number/);
    await expect(distributed.initProcessGroup({ rank: 0, worldSize: 2, initMethod: 'nope://' })).rejects.toThrow(/initMethod must be/);
    const saved = process.env.MASTER_ADDR;
    delete process.env.MASTER_ADDR;
    try {
      await expect(distributed.initProcessGroup({ rank: 0, worldSize: 2 })).rejects.toThrow(/MASTER_ADDR is not set/);
    } finally {
      if (saved !== undefined) process.env.MASTER_ADDR = saved;
    }
    expect(() => new distributed.DistributedSampler(10, { rank: 3, worldSize: 2 })).toThrow(/rank 3 is outside/);
  });

  it('a one-rank file-store group works without any network port', async () => {
    const path = require('node:path').join(require('node:os').tmpdir(), `unimrg-fs-${process.pid}-${Date.now()}`);
    const g = await distributed.initProcessGroup({ rank: 0, worldSize: 1, initMethod: `file://${path}` });
    const { torch } = await import('../../lib');
    const t = torch.tensor([1, 2, 3]);
    await g.allReduce(t, 'sum');
    expect(Array.from(t.toArray() as Float32Array)).toEqual([1, 2, 3]);
    expect((await g.allGather(t)).length).toBe(1);
    g.destroy();
    if (!torch.cuda.isAvailable()) {
      await expect(distributed.initProcessGroup({ rank: 0, worldSize: 1, backend: 'nccl', initMethod: `file://${path}-nccl` }))
        .rejects.toThrow(/nccl backend needs a CUDA build of libtorch with NCCL/);
    }
  });
});
