// SLOW-ISH (≈ 30 s on the shared 2-core machine): a short training on scenes (depth task only),
// then generated depth against the true depth of held-out (val) scenes: Spearman ρ > 0.5.
// The codec is a patch VQ fitted by k-means on training depth maps (as `unimrg tokenizer` would).
// Note: ρ > 0.5 shows position-dependent near/far, not object-level depth; the log line prints
// what a position-only predictor (the mean training depth map) scores for comparison.
import { data, torch } from '../../../lib';
import { adapterLoss } from '../../../lib/adapters/loss';
import { fitCodecOnScenes } from '../../../lib/adapters/codecs/scene-targets';
import { AdamW } from '../../../lib/optim/adamw';
import { depthMetrics } from '../../../lib/unimrg/eval/image-metrics';
import { tinyAdapter } from './helpers';

const STEPS = 25;
const HELD_OUT = 8;

test(`after ${STEPS} steps on 64 training scenes, generated depth correlates with the truth on ${HELD_OUT} val scenes (ρ > 0.5)`, async () => {
  const codec = await fitCodecOnScenes({ kind: 'vq', count: 32, imageSize: 64, patchSize: 8, codebookSize: 256, tasks: ['depth'], iterations: 8, seed: 0 });
  const a = tinyAdapter({}, { codec });
  const f = a.batchFormat;
  const train = new data.TaskBatcher(data.sceneSource({ split: 'train', count: 64, size: 64 }), a.tokenizer,
    { batchSize: 8, mode: 'interleave', ratios: { depth: 1 }, seed: 1, ...f });
  const heldOut = new data.TaskBatcher(data.sceneSource({ split: 'val', count: HELD_OUT, size: 64 }), a.tokenizer,
    { batchSize: HELD_OUT, mode: 'interleave', ratios: { depth: 1 }, shuffle: false, ...f });
  const val = data.toTensors(await heldOut.hostBatch(0));
  const truth = [...data.scenes.generate({ split: 'val', seed: 0, count: HELD_OUT, size: 64 })];
  const rho = (temperature: number): number => torch.tidy(() => {
    const g = a.generate(val.conditionImages, 'depth', { temperature, seed: 0 });
    const px = g.toArray() as Float32Array;
    const per = 3 * 64 * 64;
    const rs = val.ids.map((id, i) => {
      const scene = truth.find((s) => s.id === id)!;
      return depthMetrics(data.ndarray('float32', [3, 64, 64], px.slice(i * per, (i + 1) * per)), scene.depth).spearman;
    });
    return rs.reduce((s, r) => s + r, 0) / rs.length;
  });
  const t0 = performance.now();
  const seconds = () => ((performance.now() - t0) / 1000).toFixed(1);
  try {
    const before = rho(0);
    const tBefore = seconds();
    const opt = new AdamW(a.trainableParameters().map(([, p]) => p), { lr: 1e-2, betas: [0.9, 0.95], weightDecay: 0 });
    const losses: number[] = [];
    a.train();
    for (let i = 0; i < STEPS; i++) {
      const b = data.toTensors(await train.hostBatch(i));
      losses.push(torch.tidy(() => {
        const r = adapterLoss(a.forward(b));
        r.loss.backward();
        return Number(r.loss.item());
      }));
      data.disposeBatch(b);
      opt.step();
      opt.zeroGrad();
    }
    const tTrain = seconds();
    a.eval();
    const greedy = rho(0);
    // For the reader, not asserted: a position-only predictor (the mean training depth target)
    // scores high too, because the ground plane's near-to-far gradient dominates these scenes.
    const mean = new Float32Array(64 * 64);
    for (const sc of data.scenes.generate({ split: 'train', seed: 0, count: 64, size: 64 })) {
      const t = data.depthTarget(sc.depth);
      for (let i = 0; i < mean.length; i++) mean[i] += t.data[i] / 64;
    }
    const baseline = truth.reduce((s, sc) => s + depthMetrics(data.ndarray('float32', [64, 64], mean), sc.depth).spearman, 0) / truth.length;
    console.log(`autoregressive-vq depth (mean-training-map baseline ρ ${baseline.toFixed(3)}): loss ${losses[0].toFixed(3)} → ${losses[STEPS - 1].toFixed(3)}; mean Spearman ρ on ${HELD_OUT} val scenes: untrained ${before.toFixed(3)}, trained (greedy) ${greedy.toFixed(3)} (s after the first generation / training / the second: ${tBefore} / ${tTrain} / ${seconds()})`);
    expect(greedy).toBeGreaterThan(0.5);
    expect(greedy).toBeGreaterThan(before + 0.2);
  } finally { data.disposeBatch(val); a.dispose(); }
});
