// DistributedDataParallel on 2 ranks against one process trained on the concatenated batches.
import { runRank, runRanks } from './spawn';

function maxDiff(a: Record<string, number[]>, b: Record<string, number[]>): number {
  let m = 0;
  for (const k of Object.keys(a)) a[k].forEach((v, i) => { m = Math.max(m, Math.abs(v - b[k][i])); });
  return m;
}

describe('DistributedDataParallel (gloo, 2 processes)', () => {
  let single: any;
  beforeAll(async () => {
    const r = await runRank('ddp-train.ts', { DDP_STEPS: '4' });
    expect(r.stderr).toBe('');
    single = r.json;
  });

  it('ends with identical parameters on both ranks, equal to one process over the whole batch', async () => {
    const res = await runRanks('ddp-train.ts', 2, [{ DDP_STEPS: '4' }, { DDP_STEPS: '4' }]);
    for (const r of res) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const [p0, p1] = res.map((r) => r.json.params);
    expect(maxDiff(p0, p1)).toBe(0);                 // the same averaged gradient on both ranks
    expect(maxDiff(p0, single.params)).toBeLessThan(1e-5);
    expect(res[0].json.buckets.length).toBe(2);       // 2 buckets at this tiny bucket size
    expect(res[0].json.buckets.flat().sort()).toEqual(['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight']);
    // Both buckets were launched by the gradient hooks during backward, not after it.
    for (const s of res[0].json.stats) expect(s).toEqual({ buckets: 2, overlapped: 2 });
  });

  it('noSync() gradient accumulation over 2 micro-batches gives the same parameters', async () => {
    const res = await runRanks('ddp-train.ts', 2, [{ DDP_STEPS: '4', DDP_ACCUM: '2' }, { DDP_STEPS: '4', DDP_ACCUM: '2' }]);
    for (const r of res) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(maxDiff(res[0].json.params, res[1].json.params)).toBe(0);
    expect(maxDiff(res[0].json.params, single.params)).toBeLessThan(1e-5);
  });
});
