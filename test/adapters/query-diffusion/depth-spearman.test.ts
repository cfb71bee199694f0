// SLOW (≈ 15 s of CPU at one thread; up to a minute on the shared machine): after a short
// training on scenes (the depth task only, fresh flow-matching noise every step), depth maps
// generated for held-out val scenes correlate with the true depth (Spearman ρ > 0.5).
// The untrained model's ρ is printed beside it for scale.
import { adapterLoss } from '../../../lib/adapters/loss';
import type { QueryDiffusionAdapter } from '../../../lib/adapters/query-diffusion';
import { disposeBatch, sceneSource, sceneTokenizer, scenes, TaskBatcher, toTensors } from '../../../lib/data';
import { AdamW } from '../../../lib/optim';
import { torch } from '../../../lib/torch';
import { depthMetrics } from '../../../lib/unimrg/eval/image-metrics';
import { fitTinyCodec, tinyAdapter } from './helpers';

const SIZE = 64;

async function heldOutRho(a: QueryDiffusionAdapter): Promise<number[]> {
  a.eval();
  const val = new TaskBatcher(sceneSource({ split: 'val', count: 8, size: SIZE }), sceneTokenizer(),
    { batchSize: 8, mode: 'interleave', ratios: { depth: 1 }, shuffle: false, ...a.batchFormat });
  const vb = toTensors(await val.hostBatch(0));
  const gen = a.generate(vb.conditionImages, 'depth', { seed: 0 });
  const data = gen.toArray() as Float32Array;
  const n = 3 * SIZE * SIZE;
  const rho = vb.ids.map((id, i) => {
    const item = scenes.scene(scenes.SPLITS.val[0] + Number(id.split('/').pop()), { size: SIZE });
    return depthMetrics({ dtype: 'float32', shape: [3, SIZE, SIZE], data: data.slice(i * n, (i + 1) * n) }, item.depth).spearman;
  });
  gen.dispose();
  disposeBatch(vb);
  a.train();
  return rho;
}

test('generated depth correlates with the true depth on held-out scenes (Spearman ρ > 0.5)', async () => {
  torch.manualSeed(0);
  const codec = await fitTinyCodec(32, ['depth']);
  const a = tinyAdapter(codec);
  const train = new TaskBatcher(sceneSource({ count: 64, size: SIZE }), sceneTokenizer(),
    { batchSize: 8, mode: 'interleave', ratios: { depth: 1 }, ...a.batchFormat });
  const before = await heldOutRho(a);
  const opt = new AdamW(a.trainableParameters().map(([, p]) => p), { lr: 3e-3, weightDecay: 0 });
  const steps = 80;
  for (let i = 0; i < steps; i++) {
    const batch = toTensors(await train.hostBatch(i));
    torch.tidy(() => adapterLoss(a.forward(batch)).loss.backward());
    opt.step();
    opt.zeroGrad();
    disposeBatch(batch);
  }
  const after = await heldOutRho(a);
  const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  // eslint-disable-next-line no-console
  console.log(`query-diffusion depth ρ on 8 val scenes after ${steps} steps: mean ${mean(after).toFixed(3)} [${after.map((r) => r.toFixed(2)).join(' ')}]; untrained ${mean(before).toFixed(3)}`);
  expect(mean(after)).toBeGreaterThan(0.5);
  expect(mean(after)).toBeGreaterThan(mean(before) + 0.3);
  a.dispose();
  codec.dispose();
});
