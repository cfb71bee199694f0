// The fused multitask losses with all-reduced denominators: the mean over ranks of the loss and
// the DDP-averaged gradient equal one process over the whole batch.
import { runRanks } from './spawn';

describe('ddpDenominators with multitaskCrossEntropy + multitaskDiffusionLoss (2 processes)', () => {
  it('make the multitask loss and its gradient equal the single-process ones', async () => {
    const res = await runRanks('ddp-loss.ts', 2);
    for (const r of res) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    for (const { json } of res) {
      expect(json.ddp.loss).toBeCloseTo(json.ref.loss, 5);
      json.ddp.grad.forEach((g: number, i: number) => expect(Math.abs(g - json.ref.grad[i])).toBeLessThan(1e-5));
      // CE counts per task over both ranks: task 0: 4, task 1: 4, task 2: 3 (one ignored target); / world 2.
      expect(json.dCe).toEqual([2, 2, 1.5]);
      expect(json.dDiff).toEqual([2, 2, 2]);
      // Without them each rank divides by its own counts, and the loss is not the single-process one.
      expect(Math.abs(json.naiveLoss - json.ref.loss)).toBeGreaterThan(0.1);
    }
  });
});
