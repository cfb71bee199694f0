// mar-diffusion, a short training on scenes (≤ 60 s on 2 cores): the tiny model is trained on
// the depth task of 64 train scenes, then generates depth maps for 16 held-out (val) scenes;
// their Spearman ρ with the true depth must exceed 0.5.
//
// On these scenes the ground plane makes most of the image, so a depth map that ignores the
// input (the mean training target) already scores a high ρ; the test logs it, and the ρ over
// object pixels only (where the map must follow the input), so the numbers can be read fairly.
import { definition, type MarDiffusionAdapter } from '../../../lib/adapters/mar-diffusion';
import { adapterLoss } from '../../../lib/adapters/loss';
import * as data from '../../../lib/data';
import { AdamW } from '../../../lib/optim/adamw';
import { weightDecayGroups } from '../../../lib/optim/groups';
import { WarmupCosine } from '../../../lib/optim/schedules';
import { torch } from '../../../lib/torch';
import { depthMetrics, spearman } from '../../../lib/unimrg/eval/image-metrics';
import { fitCodec, singleThread } from './helpers';

singleThread();

const SIZE = 64;
const TRAIN = 64;
const HELD_OUT = 16;
const STEPS = 200;

/** ρ between the predicted nearness and −depth over the pixels of objects (instance id > 0). */
function objectSpearman(pred: Float32Array, item: data.scenes.SceneItem): number {
  const n = SIZE * SIZE;
  const ids = data.int32Of(item.instances);
  const p: number[] = [], t: number[] = [];
  for (let i = 0; i < n; i++) {
    if (ids[i] === 0) continue;
    p.push((pred[i] + pred[n + i] + pred[2 * n + i]) / 3);
    t.push(-item.depth.data[i]);
  }
  return spearman(p, t);
}

const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;

test(`[slow, ≤ 60 s] after ${STEPS} depth steps on ${TRAIN} scenes, generated depth correlates with the truth on held-out scenes (ρ > 0.5)`, async () => {
  const codec = await fitCodec(definition.presets.tiny, 32, ['depth']);
  const ad = definition.create(definition.resolveConfig('tiny'), { codec }) as MarDiffusionAdapter;
  try {
    // The records are rendered once (the batcher would re-render scenes that leave its cache).
    const records = [...data.scenes.generate({ split: 'train', count: TRAIN, size: SIZE, categories: [] })].map((it) => data.recordFromScene(it, {}, 'depth'));
    const source: data.RecordSource = { length: TRAIN, get: (i) => records[i] };
    const batcher = new data.TaskBatcher(source, ad.tokenizer,
      { batchSize: 8, ...ad.batchFormat, ratios: { depth: 1 }, seed: 1 });
    const opt = new AdamW(weightDecayGroups(ad.trainableParameters(), 0.02, (n) => ad.noDecay(n)), { lr: 2e-3, betas: [0.9, 0.95] });
    const sched = new WarmupCosine(opt, { warmupSteps: 10, totalSteps: STEPS, minLrRatio: 0.1 });
    torch.manualSeed(0);
    const t0 = Date.now();
    const losses: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      const batch = data.toTensors(await batcher.hostBatch(i));
      losses.push(torch.tidy(() => {
        const { loss } = adapterLoss(ad.forward(batch));
        loss.backward();
        return Number(loss.item());
      }));
      data.disposeBatch(batch);
      opt.step();
      opt.zeroGrad();
      sched.step();
    }
    const trainSeconds = (Date.now() - t0) / 1000;

    const items = [...data.scenes.generate({ split: 'val', count: HELD_OUT, size: SIZE, perCategory: 1 })];
    const cond = torch.tensor(Float32Array.from(items.flatMap((it) => Array.from(data.generationImage(it.image, { size: SIZE }).data))), { shape: [HELD_OUT, 3, SIZE, SIZE] });
    const gen = torch.tidy(() => ad.generate(cond, 'depth', { seed: 0 }).toArray() as Float32Array);
    cond.dispose();
    const per = 3 * SIZE * SIZE;
    const preds = items.map((_, b) => gen.slice(b * per, (b + 1) * per));
    const rho = items.map((it, b) => depthMetrics(data.ndarray('float32', [3, SIZE, SIZE], preds[b]), it.depth).spearman);

    // Reference points: the mean training target (ignores the input), and ρ on object pixels.
    const meanMap = new Float32Array(per);
    for (const r of records) {
      const t = r.depth!.data as Float32Array;
      for (let i = 0; i < per; i++) meanMap[i] += t[i] / TRAIN;
    }
    const rhoMean = items.map((it) => depthMetrics(data.ndarray('float32', [3, SIZE, SIZE], meanMap), it.depth).spearman);
    const objModel = mean(items.map((it, b) => objectSpearman(preds[b], it)));
    const objMean = mean(items.map((it) => objectSpearman(meanMap, it)));
    console.log(`mar-diffusion depth: loss ${mean(losses.slice(0, 10)).toFixed(3)} -> ${mean(losses.slice(-10)).toFixed(3)} in ${STEPS} steps (${trainSeconds.toFixed(1)} s); ` +
      `held-out Spearman ρ ${mean(rho).toFixed(3)} (mean-target map: ${mean(rhoMean).toFixed(3)}); on object pixels ρ ${objModel.toFixed(3)} (mean-target map: ${objMean.toFixed(3)})`);
    expect(mean(rho)).toBeGreaterThan(0.5);
  } finally {
    ad.dispose();
    codec.dispose();
  }
});
