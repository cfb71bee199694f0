// Two ranks on loopback: every collective against its formula; the event loop runs meanwhile.
import { runRanks } from './spawn';

const base = [1, 2, 3, 4];
const input = (r: number) => base.map((v) => v * (r + 1) + r); // rank 0: 1 2 3 4; rank 1: 3 5 7 9

describe('distributed collectives (gloo, 2 processes)', () => {
  it('allReduce / broadcast / allGather / reduceScatter / barrier give the formulas on both ranks', async () => {
    const res = await runRanks('ddp-collectives.ts', 2);
    for (const r of res) expect({ rank: r.rank, code: r.code, stderr: r.stderr }).toEqual({ rank: r.rank, code: 0, stderr: '' });
    const [a, b] = [input(0), input(1)];
    for (const { json } of res) {
      const r = json.rank as number;
      expect(json.sum).toEqual(a.map((v, i) => v + b[i]));
      expect(json.avg).toEqual(a.map((v, i) => (v + b[i]) / 2));
      expect(json.max).toEqual(a.map((v, i) => Math.max(v, b[i])));
      expect(json.min).toEqual(a.map((v, i) => Math.min(v, b[i])));
      expect(json.product).toEqual(a.map((v, i) => v * b[i]));
      expect(json.intSum).toEqual([3, 30]);
      expect(json.broadcast).toEqual(b); // from the last rank
      expect(json.allGather).toEqual([a, b]);
      // inputs[k] on rank q = [k, k + q, 100 q]; rank r receives Σ_q inputs[r] of rank q.
      expect(json.reduceScatter).toEqual([2 * r, 2 * r + 1, 100]);
      expect(json.badSrc).toMatch(/src rank 7 is outside \[0, 2\)/);
    }
    // Rank 0 waited ~400 ms in the barrier for the late rank 1, and its timers kept firing.
    const r0 = res.find((r) => r.rank === 0)!.json;
    expect(r0.barrierMs).toBeGreaterThanOrEqual(300);
    expect(r0.ticks).toBeGreaterThanOrEqual(5);
  });
});
