// The three generation tasks at the tiny preset: a batch of 8 is overfitted (the loss falls by
// at least 90%) with AdamW. Each task is ~512 codes to memorise through teacher forcing; about
// 100 steps of ~0.1 s (1 thread) each. Understanding is overfitted in adapter.test.ts.
import { data } from '../../../lib';
import { batchOf, overfit, tinyAdapter } from './helpers';

const STEPS = 120;

describe.each(['reconstruction', 'depth', 'segmentation'] as const)('%s', (task) => {
  test(`a batch of 8 is overfitted in ${STEPS} steps (loss falls ≥ 90%)`, async () => {
    const a = tinyAdapter();
    const batch = await batchOf(a, task);
    try {
      expect(batch.targetImages!.shape).toEqual([8, 3, 64, 64]);
      const losses = overfit(a, batch, STEPS);
      const last = losses[losses.length - 1];
      const ratio = last / losses[0];
      console.log(`autoregressive-vq ${task} overfit: ${losses[0].toFixed(3)} → ${last.toFixed(4)} (ratio ${ratio.toFixed(4)}; every 20: ${losses.filter((_, i) => i % 20 === 19).map((l) => l.toFixed(3)).join(' ')})`);
      expect(losses[0]).toBeGreaterThan(Math.log(256) - 1.5); // starts near ln(codebook)
      expect(ratio).toBeLessThanOrEqual(0.1);
    } finally { data.disposeBatch(batch); a.dispose(); }
  });
});
