// One rank of the denominators test. A global batch of 12 tokens over 3 tasks is split unevenly by
// task between 2 ranks. Each rank computes the fused multitask losses on its half with
// denominators = ddpDenominators(its task token counts); DDP averages the gradients. Also computed
// here, on the whole batch: the single-process reference, and the local-count ("naive") variant.
import { distributed, losses, nn, torch, Tensor } from '../../lib';
import { emit } from './ddp-common';

const H = 4, V = 5, N = 12;
const TASKS = [0, 0, 0, 0, 1, 2, 1, 1, 1, 2, 2, 2];
const TARGETS = [0, 1, 2, 3, 4, -100, 1, 2, 3, 0, 4, 2];

function input(lo: number, hi: number): Tensor {
  const d: number[] = [];
  for (let i = lo; i < hi; i++) for (let j = 0; j < H; j++) d.push(Math.cos(0.9 * i + 1.7 * j));
  return torch.tensor(d).reshape([hi - lo, H]);
}
const ints = (a: number[], lo: number, hi: number) => torch.tensor(a.slice(lo, hi), { dtype: 'int64' });
const arr = (t: Tensor) => Array.from(t.toArray() as Float32Array);

function lossOf(model: nn.Linear, lo: number, hi: number, dCe?: Tensor, dDiff?: Tensor): Tensor {
  const out = model.forward(input(lo, hi));
  const ce = losses.multitaskCrossEntropy(out, ints(TARGETS, lo, hi), ints(TASKS, lo, hi), { weights: [1, 0.5, 2], denominators: dCe });
  const target = input(lo + 3, hi + 3).matmul(torch.tensor([[1, 0, 0, 0, 1], [0, 1, 0, 1, 0], [0, 0, 1, 0, 0], [1, 1, 1, 1, 1]]));
  const diff = losses.multitaskDiffusionLoss(out, target, ints(TASKS, lo, hi), { weights: [0.3, 1, 1], denominators: dDiff });
  return ce.loss.add(diff.loss);
}

async function main(): Promise<void> {
  const g = await distributed.initProcessGroup();
  const half = N / g.worldSize;
  const [lo, hi] = [g.rank * half, (g.rank + 1) * half];
  torch.manualSeed(7);
  const model = new nn.Linear(H, V);
  // The single-process reference over the whole batch, from the same weights.
  const single = lossOf(model, 0, N);
  single.backward();
  const ref = { loss: single.item() as number, grad: arr(model.weight.grad!) };
  model.zeroGrad();
  const ddp = await distributed.DistributedDataParallel.create(model, g);
  // Token counts of this rank's shard, per task: what the losses report as taskTokens (CE) and
  // the per-task token mass (diffusion, no mask, repeat 1: the same counts, ignored targets included).
  const taskIds = ints(TASKS, lo, hi);
  const ceCounts = torch.noGrad(() => losses.multitaskCrossEntropy(model.forward(input(lo, hi)), ints(TARGETS, lo, hi), taskIds, { numTasks: 3 }).taskTokens);
  const diffCounts = torch.tensor([0, 1, 2].map((t) => TASKS.slice(lo, hi).filter((x) => x === t).length));
  const dCe = await distributed.ddpDenominators(ceCounts, g);
  const dDiff = await distributed.ddpDenominators(diffCounts, g);
  const local = lossOf(model, lo, hi, dCe, dDiff);
  local.backward();
  await ddp.syncGradients();
  const mean = local.detach().clone();
  await g.allReduce(mean, 'avg');
  // Without the all-reduced denominators: each rank normalises by its own counts.
  const naive = torch.noGrad(() => lossOf(model, lo, hi));
  await g.allReduce(naive, 'avg');
  emit({ rank: g.rank, ref, ddp: { loss: mean.item(), grad: arr(model.weight.grad!) }, naiveLoss: naive.item(), dCe: arr(dCe), dDiff: arr(dDiff) });
  g.destroy();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
