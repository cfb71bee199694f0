// One rank of the collectives test: rank-dependent inputs, the results as JSON.
import { distributed, torch } from '../../lib';
import { emit } from './ddp-common';

async function main(): Promise<void> {
  const g = await distributed.initProcessGroup();
  const r = g.rank;
  const base = [1, 2, 3, 4];
  const make = () => torch.tensor(base.map((v) => v * (r + 1) + r), { dtype: 'float32' });
  const out: Record<string, unknown> = { rank: r, world: g.worldSize };
  for (const op of ['sum', 'avg', 'max', 'min', 'product'] as const) {
    const t = make();
    await g.allReduce(t, op);
    out[op] = Array.from(t.toArray() as Float32Array);
  }
  const ints = torch.tensor([r + 1, 10 * (r + 1)], { dtype: 'int64' });
  await g.allReduce(ints, 'sum');
  out.intSum = Array.from(ints.toArray() as BigInt64Array, Number);
  const b = make();
  await g.broadcast(b, g.worldSize - 1);
  out.broadcast = Array.from(b.toArray() as Float32Array);
  out.allGather = (await g.allGather(make())).map((t) => Array.from(t.toArray() as Float32Array));
  const inputs = Array.from({ length: g.worldSize }, (_, k) => torch.tensor([k, k + r, 100 * r], { dtype: 'float32' }));
  out.reduceScatter = Array.from((await g.reduceScatter(inputs, 'sum')).toArray() as Float32Array);
  // The event loop keeps turning while a collective waits: rank 1 joins the barrier 400 ms late.
  let ticks = 0;
  const timer = setInterval(() => ticks++, 20);
  if (r === 1) await new Promise((res) => setTimeout(res, 400));
  const t0 = Date.now();
  await g.barrier();
  out.barrierMs = Date.now() - t0;
  clearInterval(timer);
  out.ticks = ticks;
  // Bad input is a clear error, not a crash.
  try {
    await g.broadcast(make(), 7);
  } catch (e) {
    out.badSrc = (e as Error).message;
  }
  emit(out);
  g.destroy();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
