// ZeroRedundancyOptimizer (ZeRO stage 1) on 2 Gloo ranks against DDP with a whole AdamW on each
// rank: the same parameters and optimiser state (bit for bit: each parameter gets the same update
// once), half the state per rank, and a consolidate → load round trip that resumes exactly.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { distributed, optim, torch } from '../../lib';
import { runRanks } from './spawn';

type Run = { params: Record<string, number[]>; optimizer: Record<string, Record<string, number | number[]>>; stateNumel: number | null; owners: number[] | null };

const ok = (r: { code: number | null; stderr: string }) => expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });

describe('partitionParameters', () => {
  it('balances elements, largest first, ties to the lower rank, the same on every call', () => {
    expect(distributed.partitionParameters([96, 16, 48, 3], 2)).toEqual([0, 1, 1, 1]);
    expect(distributed.partitionParameters([10, 10, 10, 10], 2)).toEqual([0, 1, 0, 1]);
    expect(distributed.partitionParameters([5, 1, 1], 3)).toEqual([0, 1, 2]);
    expect(distributed.partitionParameters([7], 1)).toEqual([0]);
  });
});

describe('ZeroRedundancyOptimizer (gloo, 2 processes)', () => {
  let ddp: Run[];
  beforeAll(async () => {
    const res = await runRanks('ddp-train.ts', 2, [{ DDP_STEPS: '4' }, { DDP_STEPS: '4' }]);
    res.forEach(ok);
    ddp = res.map((r) => r.json);
  });

  it('ends with the parameters and optimiser state of DDP with a whole AdamW per rank, holding half the state each', async () => {
    const res = await runRanks('ddp-train.ts', 2, [{ DDP_STEPS: '4', DDP_ZERO: '1' }, { DDP_STEPS: '4', DDP_ZERO: '1' }]);
    res.forEach(ok);
    const [z0, z1] = res.map((r) => r.json as Run);
    expect(z0.params).toEqual(ddp[0].params);
    expect(z1.params).toEqual(ddp[0].params);
    // consolidated on both ranks: AdamW's own state dict (steps, exp_avg, exp_avg_sq per parameter)
    expect(Object.keys(ddp[0].optimizer)).toHaveLength(4);
    expect(z0.optimizer).toEqual(ddp[0].optimizer);
    expect(z1.optimizer).toEqual(ddp[0].optimizer);
    // fc1.weight (96) on rank 0; fc1.bias, fc2.weight, fc2.bias (16 + 48 + 3) on rank 1
    expect(z0.owners).toEqual([0, 1, 1, 1]);
    expect([z0.stateNumel, z1.stateNumel]).toEqual([2 * 96, 2 * 67]);
  });

  it('a consolidated state loaded into a new sharded optimiser continues exactly (resume)', async () => {
    const env = { DDP_STEPS: '4', DDP_ZERO: '1', DDP_ZERO_RELOAD: '1' };
    const res = await runRanks('ddp-train.ts', 2, [env, env]);
    res.forEach(ok);
    for (const r of res) {
      expect(r.json.params).toEqual(ddp[0].params);
      expect(r.json.optimizer).toEqual(ddp[0].optimizer);
    }
  });

  it('refuses more ranks than parameters', async () => {
    const res = await runRanks('ddp-train.ts', 2, [{ DDP_STEPS: '1', DDP_ZERO: '1', DDP_ZERO_PARAMS: '1' }, { DDP_STEPS: '1', DDP_ZERO: '1', DDP_ZERO_PARAMS: '1' }]);
    for (const r of res) {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/1 parameters cannot be shared among 2 ranks: each rank must own at least one/);
    }
  });
});

describe('ZeroRedundancyOptimizer: bad input (one rank, in process)', () => {
  it('refuses an optimiser over other parameters, non-contiguous parameters and a mismatched state', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-zero-'));
    const g = await distributed.initProcessGroup({ rank: 0, worldSize: 1, initMethod: `file://${path.join(dir, 'store')}` });
    const a = torch.zeros([4, 3]).requiresGrad_(true), b = torch.zeros([2]).requiresGrad_(true);
    try {
      const make = (ps: optim.Params<optim.AdamWOptions>) => new optim.AdamW(ps);
      expect(() => distributed.ZeroRedundancyOptimizer.create(g, [a, b], () => make([a])))
        .toThrow(/makeOptimizer must build the optimiser over exactly the parameter groups it is given/);
      const t = torch.zeros([3, 4]).t().requiresGrad_(true);
      expect(() => distributed.ZeroRedundancyOptimizer.create(g, [t], make)).toThrow(/every parameter must be contiguous/);
      expect(() => distributed.ZeroRedundancyOptimizer.create(g, [], make)).toThrow(/empty parameter list/);
      const zero = distributed.ZeroRedundancyOptimizer.create(g, [a, b], make);
      expect(() => zero.loadStateDict({ state: {}, param_groups: [] })).toThrow(/the state has 0 parameter groups, this optimiser 1/);
      expect(() => zero.loadStateDict({ state: {}, param_groups: [{ lr: 1e-3, params: [0] }] })).toThrow(/parameter group 0 has 1 parameters in the state, 2 here/);
      zero.dispose();
    } finally {
      torch.dispose([a, b]);
      g.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
