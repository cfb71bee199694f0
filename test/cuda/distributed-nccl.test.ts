// NCCL collectives: 1 rank (any GPU) and 2 ranks (2 GPUs); skipped without CUDA, with the reason.
import { torch } from '../../lib';
import { runRanks } from '../distributed/spawn';

const devices = torch.cuda.isAvailable() ? torch.cuda.deviceCount() : 0;
const why = devices === 0 ? `no CUDA device (libtorch ${torch.backend().torch}, cuda ${torch.backend().cuda ?? 'none'})` : '';
if (devices === 0) console.warn(`test/cuda: skipping the NCCL tests: ${why}`);

const expected = (world: number, r: number) => ({
  rank: r, world,
  sum: [1, 2, 3].map((v) => v * ((world * (world + 1)) / 2)),
  broadcast: [0, 0, 0],
  allGather: Array.from({ length: world }, (_, k) => [k + 0.5]),
  reduceScatter: [Array.from({ length: world }, (_, q) => r + q).reduce((a, c) => a + c, 0)],
});

(devices >= 1 ? describe : describe.skip)(devices ? 'NCCL (1 rank)' : `NCCL (skipped: ${why})`, () => {
  it('collectives on one GPU', async () => {
    const [r0] = await runRanks('ddp-nccl.ts', 1);
    expect(r0.stderr.replace(/^.*warn.*$/gim, '').trim()).toBe('');
    expect(r0.json).toEqual(expected(1, 0));
  });
});

(devices >= 2 ? describe : describe.skip)(devices >= 2 ? 'NCCL (2 ranks)' : 'NCCL 2 ranks (skipped: fewer than 2 GPUs)', () => {
  it('collectives on two GPUs', async () => {
    const res = await runRanks('ddp-nccl.ts', 2);
    for (const r of res) expect(r.json).toEqual(expected(2, r.rank));
  });
});
