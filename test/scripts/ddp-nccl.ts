// One rank of the NCCL test: CUDA tensors on device LOCAL_RANK, collectives against formulas.
import { distributed, torch } from '../../lib';
import { emit } from './ddp-common';

async function main(): Promise<void> {
  const g = await distributed.initProcessGroup({ backend: 'nccl' });
  const device = `cuda:${g.localRank}` as const;
  const r = g.rank;
  const x = torch.tensor([1, 2, 3].map((v) => v * (r + 1)), { device });
  await g.allReduce(x, 'sum');
  const b = torch.tensor([r, r, r], { device });
  await g.broadcast(b, 0);
  const gathered = await g.allGather(torch.tensor([r + 0.5], { device }));
  const rs = await g.reduceScatter(Array.from({ length: g.worldSize }, (_, k) => torch.tensor([k + r], { device })), 'sum');
  await g.barrier();
  torch.cuda.synchronize();
  const f = (t: { cpu(): { toArray(): unknown } }) => Array.from(t.cpu().toArray() as Float32Array);
  emit({ rank: r, world: g.worldSize, sum: f(x), broadcast: f(b), allGather: gathered.map(f), reduceScatter: f(rs) });
  g.destroy();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
