// ZeRO stage 1 — optimiser-state sharding, as PyTorch's ZeroRedundancyOptimizer. Every rank
// keeps the whole model and the whole (all-reduced) gradient, but creates optimiser state for,
// and updates, only its own share of the parameters; after each step every owner broadcasts the
// parameters it updated. Each parameter is still updated once, with the same arithmetic, so the
// result equals the unsharded optimiser's; the state memory of each rank falls to ~1/worldSize.
import * as creation from '../torch/creation';
import { noGrad } from '../torch/autograd';
import { TorchError } from '../torch/errors';
import * as F from '../torch/functional';
import { tidy } from '../torch/scope';
import { Tensor } from '../torch/tensor';
import { paramGroupsOf, zeroGrads, type Hyper, type Optimizer, type OptimizerState, type ParamGroup, type Params } from '../optim/optimizer';
import type { ProcessGroup } from './group';

const OP = 'distributed.ZeroRedundancyOptimizer';

/**
 * Owner rank of each parameter: largest first, each to the rank holding the fewest elements so
 * far (ties to the lower rank). Deterministic, so every rank computes the same partition.
 */
export function partitionParameters(sizes: number[], worldSize: number): number[] {
  const load = new Array<number>(worldSize).fill(0);
  const owner = new Array<number>(sizes.length);
  const order = sizes.map((n, i) => i).sort((a, b) => sizes[b] - sizes[a] || a - b);
  for (const i of order) {
    let r = 0;
    for (let k = 1; k < worldSize; k++) if (load[k] < load[r]) r = k;
    owner[i] = r;
    load[r] += sizes[i];
  }
  return owner;
}

/**
 * Per step, on every rank (after DDP has averaged the gradients):
 *
 *   await ddp.syncGradients();
 *   await zero.step();       // this rank's share updated, then every share broadcast
 *   zero.zeroGrad();
 *
 * `paramGroups` are the local optimiser's (the same hyper-parameters, this rank's parameters), so
 * learning-rate schedules work unchanged. Checkpoints: `consolidatedStateDict()` (collective)
 * gives the unsharded optimiser's state dict on every rank; `loadStateDict` takes one.
 */
export class ZeroRedundancyOptimizer<O extends Optimizer<any>> {
  /** What step() broadcasts: each owner's parameters, one flat buffer per owner and dtype. */
  private readonly shares: { owner: number; params: Tensor[] }[] = [];

  private constructor(
    readonly group: ProcessGroup,
    /** The optimiser over this rank's parameters. */
    readonly local: O,
    private readonly all: Tensor[],
    /** Owner rank of each parameter, in the order of params(). */
    readonly owners: number[],
    /** Parameters per group, over all ranks. */
    private readonly groupSizes: number[],
  ) {
    for (let r = 0; r < group.worldSize; r++) {
      const owned = all.filter((_, i) => owners[i] === r);
      for (const dtype of new Set(owned.map((p) => p.dtype))) this.shares.push({ owner: r, params: owned.filter((p) => p.dtype === dtype) });
    }
  }

  /**
   * Shards `params` (tensors or parameter groups, as an optimiser takes them) over the group's
   * ranks; `makeOptimizer` builds the local optimiser from this rank's share of every group
   * (groups keep their order and options; a group may be empty here).
   */
  static create<H extends Hyper, O extends Optimizer<any>>(group: ProcessGroup, params: Params<H>,
    makeOptimizer: (groups: ParamGroup<H>[]) => O): ZeroRedundancyOptimizer<O> {
    const groups = paramGroupsOf(params, OP);
    const all = groups.flatMap((g) => g.params);
    if (all.length < group.worldSize) {
      throw new TorchError(`${all.length} parameters cannot be shared among ${group.worldSize} ranks: each rank must own at least one`, OP);
    }
    for (const p of all) if (!p.isContiguous()) throw new TorchError('every parameter must be contiguous (its update is broadcast as one buffer)', OP);
    const owners = partitionParameters(all.map((p) => p.numel), group.worldSize);
    const mine = new Set(all.filter((_, i) => owners[i] === group.rank));
    const local = makeOptimizer(groups.map((g) => ({ ...g, params: g.params.filter((p) => mine.has(p)) })));
    const localParams = local.params();
    if (localParams.length !== mine.size || !localParams.every((p) => mine.has(p))) {
      throw new TorchError("makeOptimizer must build the optimiser over exactly the parameter groups it is given", OP);
    }
    return new ZeroRedundancyOptimizer(group, local, all, owners, groups.map((g) => g.params.length));
  }

  get paramGroups(): O['paramGroups'] { return this.local.paramGroups; }

  /** Every parameter (all ranks' shares), in group order. */
  params(): Tensor[] { return this.all; }

  /** Elements of optimiser state held by this rank. */
  stateNumel(): number {
    let n = 0;
    for (const entry of Object.values(this.local.stateDict().state)) for (const v of Object.values(entry)) if (v instanceof Tensor) n += v.numel;
    return n;
  }

  /** Updates this rank's share, then broadcasts every share from its owner (one buffer per rank and dtype). */
  async step(): Promise<void> {
    this.local.step();
    for (const { owner, params: ps } of this.shares) {
      const mine = owner === this.group.rank;
      const flat = tidy(() => (mine ? F.cat(ps.map((p) => p.detach().reshape(-1))) : creation.empty([ps.reduce((n, p) => n + p.numel, 0)], { dtype: ps[0].dtype, device: ps[0].device })));
      try {
        await this.group.broadcast(flat, owner);
        if (!mine) copySlices(flat, ps);
      } finally {
        flat.dispose();
      }
    }
  }

  /** Drops (or zeroes) the gradients of every parameter, not only this rank's. */
  zeroGrad(setToNone = true): void { zeroGrads(this.all, setToNone); }

  /** This rank's shard only, indexed as the local optimiser's parameters. */
  stateDict(): OptimizerState { return this.local.stateDict(); }

  /**
   * The unsharded optimiser's state dict (indices over params(), PyTorch's layout), assembled on
   * every rank by broadcasts from the owners. Collective: call it on every rank. The tensors are
   * new; dispose them when done.
   */
  async consolidatedStateDict(): Promise<OptimizerState> {
    const mine = this.local.stateDict();
    const localIndex = this.localIndices();
    // Every rank owns a parameter and all step together, so all agree on whether state exists
    // and on its names (taken from any one local entry).
    const sample = Object.values(mine.state)[0];
    const names = sample ? Object.keys(sample).filter((k) => sample[k] instanceof Tensor) : [];
    const state: OptimizerState['state'] = {};
    if (sample) {
      for (let i = 0; i < this.all.length; i++) {
        const p = this.all[i], owner = this.owners[i];
        const own = owner === this.group.rank ? mine.state[localIndex.get(i)!] : null;
        const entry: Record<string, Tensor | number> = {};
        const step = own ? creation.tensor([Number(own.step)], { dtype: 'float64' }) : creation.zeros([1], { dtype: 'float64' });
        await this.group.broadcast(step, owner);
        entry.step = step.item() as number;
        step.dispose();
        for (const k of names) {
          const t = own ? (own[k] as Tensor).clone() : creation.empty(p.shape, { dtype: p.dtype, device: p.device });
          await this.group.broadcast(t, owner);
          entry[k] = t;
        }
        state[i] = entry;
      }
    }
    return { state, param_groups: withIndices(mine.param_groups, this.groupSizes) };
  }

  /** Restores from an unsharded state dict (e.g. consolidatedStateDict() or a plain optimiser's): keeps this rank's share. */
  loadStateDict(sd: OptimizerState): void {
    const sizes = this.groupSizes;
    if (sd.param_groups.length !== sizes.length) {
      throw new TorchError(`the state has ${sd.param_groups.length} parameter groups, this optimiser ${sizes.length}`, OP);
    }
    sd.param_groups.forEach((g, gi) => {
      if (g.params.length !== sizes[gi]) throw new TorchError(`parameter group ${gi} has ${g.params.length} parameters in the state, ${sizes[gi]} here`, OP);
    });
    const state: OptimizerState['state'] = {};
    for (const [full, local] of this.localIndices()) if (sd.state[full]) state[local] = sd.state[full];
    this.local.loadStateDict({ state, param_groups: withIndices(sd.param_groups, this.local.paramGroups.map((g) => g.params.length)) });
  }

  dispose(): void { this.local.dispose(); }

  /** Full index → index among the local optimiser's parameters, for this rank's share. */
  private localIndices(): Map<number, number> {
    const pos = new Map(this.local.params().map((p, j) => [p, j] as const));
    const out = new Map<number, number>();
    this.all.forEach((p, i) => { if (pos.has(p)) out.set(i, pos.get(p)!); });
    return out;
  }
}

/** The groups' hyper-parameters with parameter indices 0, 1, ... numbered over `sizes[g]` parameters per group. */
function withIndices(groups: OptimizerState['param_groups'], sizes: number[]): OptimizerState['param_groups'] {
  let idx = 0;
  return groups.map((g, gi) => ({ ...g, params: Array.from({ length: sizes[gi] }, () => idx++) }));
}

/** Copies consecutive slices of a flat buffer into the tensors, in order. */
function copySlices(flat: Tensor, ts: Tensor[]): void {
  noGrad(() => {
    let off = 0;
    for (const t of ts) {
      const part = flat.narrow(0, off, t.numel).view(...t.shape);
      t.copy_(part);
      part.dispose();
      off += t.numel;
    }
  });
}
