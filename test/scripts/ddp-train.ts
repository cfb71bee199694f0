// One rank of the DDP training test (or, with WORLD_SIZE unset, the single-process reference).
// Every step uses a global batch of GLOBAL rows; rank r trains on its share (DistributedSampler,
// no shuffle) with a mean-squared loss. DDP_ACCUM=k splits each rank's share into k micro-batches
// accumulated under noSync(). DDP_KILL_RANK/DDP_KILL_STEP: that rank SIGKILLs itself at that step.
// DDP_ZERO=1: AdamW state sharded (ZeroRedundancyOptimizer); DDP_ZERO_RELOAD=k: after step k the
// consolidated state goes into a new sharded optimiser, as a resume would. The last line also
// carries the (consolidated) optimiser state.
import { distributed, optim, torch } from '../../lib';
import { emit, params, rows, TinyNet } from './ddp-common';

const GLOBAL = 8, IN = 6, HIDDEN = 16, OUT = 3;

async function main(): Promise<void> {
  const steps = Number(process.env.DDP_STEPS ?? 4);
  const accum = Number(process.env.DDP_ACCUM ?? 1);
  const killRank = Number(process.env.DDP_KILL_RANK ?? -1);
  const killStep = Number(process.env.DDP_KILL_STEP ?? -1);
  const single = process.env.WORLD_SIZE === undefined;
  const group = single ? null : await distributed.initProcessGroup();
  const rank = group?.rank ?? 0;
  const world = group?.worldSize ?? 1;
  torch.manualSeed(100 + rank); // different initial weights per rank: DDP's broadcast must fix them
  const model = new TinyNet(IN, HIDDEN, OUT);
  const ddp = group ? await distributed.DistributedDataParallel.create(model, group, { bucketCapMB: Number(process.env.DDP_BUCKET_MB ?? 0.0001) }) : null;
  const adamw = (params: optim.Params<optim.AdamWOptions>) => new optim.AdamW(params, { lr: 0.01, weightDecay: 0.01 });
  const zero = process.env.DDP_ZERO === '1';
  if (zero && !group) throw new Error('DDP_ZERO needs WORLD_SIZE');
  // DDP_ZERO_PARAMS=n shards only the first n parameters (to check the too-few-parameters error).
  const sharded = model.parameters().slice(0, Number(process.env.DDP_ZERO_PARAMS ?? Infinity));
  const makeZero = () => distributed.ZeroRedundancyOptimizer.create(group!, sharded, adamw);
  let opt: optim.AdamW | distributed.ZeroRedundancyOptimizer<optim.AdamW> = zero ? makeZero() : adamw(model.parameters());
  const reloadAt = Number(process.env.DDP_ZERO_RELOAD ?? -1);
  const sampler = new distributed.DistributedSampler(GLOBAL, { rank, worldSize: world, shuffle: false });
  const mine = sampler.indices(); // contiguous blocks are not needed: rows are indexed one by one
  const stats: unknown[] = [];
  for (let step = 0; step < steps; step++) {
    if (step === killStep && rank === killRank) process.kill(process.pid, 'SIGKILL');
    model.zeroGrad();
    const micro = Math.ceil(mine.length / accum);
    for (let k = 0; k < accum; k++) {
      const part = mine.slice(k * micro, (k + 1) * micro);
      const run = () => torch.tidy(() => {
        const x = torch.cat(part.map((i) => rows(step, i, 1, IN)));
        const y = torch.cat(part.map((i) => rows(step, i, 1, OUT, 5)));
        const loss = model.forward(x).sub(y).square().mean().mul(part.length / mine.length);
        loss.backward();
      });
      if (ddp && k < accum - 1) await ddp.noSync(run);
      else run();
    }
    if (ddp) stats.push(await ddp.syncGradients());
    await opt.step();
    if (step === reloadAt && opt instanceof distributed.ZeroRedundancyOptimizer) {
      const sd = await opt.consolidatedStateDict();
      opt.dispose();
      opt = makeZero();
      opt.loadStateDict(sd);
    }
    if (killStep >= 0) await new Promise((r) => setTimeout(r, 200)); // leave time to die mid-training
  }
  const state = opt instanceof distributed.ZeroRedundancyOptimizer ? await opt.consolidatedStateDict() : opt.stateDict();
  const optimizer = Object.fromEntries(Object.entries(state.state).map(([i, s]) => [i, Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? v : Array.from(v.toArray() as Float32Array)]))]));
  const stateNumel = opt instanceof distributed.ZeroRedundancyOptimizer ? opt.stateNumel() : null;
  emit({ rank, world, params: params(model), stats, buckets: ddp?.bucketNames() ?? [], optimizer, stateNumel, owners: zero ? (opt as distributed.ZeroRedundancyOptimizer<optim.AdamW>).owners : null });
  group?.destroy();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
