// Evaluating an adapter on held-out embedded scenes: understanding accuracy per question category
// on val, test and the compositional split; POPE hallucination metrics on the existence
// questions; generation quality of reconstruction, depth and boundary maps; a PNG sample grid.
import type { Adapter } from '../adapters/types';
import { ndarray, type NDArray } from '../data/ndarray';
import { generationImage, understandingImage } from '../data/preprocess';
import { scene, type SceneItem } from '../data/scenes/generate';
import { SPLITS, type Split } from '../data/scenes/splits';
import { depthTarget } from '../data/targets';
import { noGrad } from '../torch/autograd';
import { torch, type Tensor } from '../torch';
import { type Accuracy, scoreAnswers } from './eval/answers';
import { boundaryF, depthMetrics, meanMetrics, psnr } from './eval/image-metrics';
import { writeSampleGrid, type SampleRow } from './eval/png';
import { popeMetrics, type PopeMetrics } from './eval/pope';
import type { Device } from '../torch/dtype';

export interface UnderstandingResult {
  overall: Accuracy;
  macro: number;
  byCategory: Record<string, Accuracy>;
  /** POPE metrics on the existence (yes/no) questions. */
  hallucination: PopeMetrics;
}

export interface GenerationResult {
  scenes: number;
  reconstruction: { psnr: number };
  depth: { absRel: number; delta1: number; spearman: number };
  segmentation: { precision: number; recall: number; f: number };
}

export interface EvalResult {
  understanding: Partial<Record<Split, UnderstandingResult>>;
  generation?: GenerationResult;
  /** The sample grid PNG, when outDir was given. */
  grid?: string;
}

export interface EvalOptions {
  /** Splits for understanding (default val, test, compositional). */
  splits?: Split[];
  /** Scenes per split for understanding (default 100). */
  count?: number;
  /** Scenes (of val) for generation metrics; 0 skips them (default 16). */
  generationCount?: number;
  /** Images per forward pass (default 32). */
  batchSize?: number;
  /** Decoding steps / guidance for generate() (family defaults). */
  steps?: number;
  cfg?: number;
  /** Where to write samples.png (rows: the first `gridRows` generation scenes). */
  gridFile?: string;
  gridRows?: number;
  onProgress?: (done: number, total: number, what: string) => void;
}

const sceneOf = (split: Split, i: number, size: number): SceneItem => scene(SPLITS[split][0] + i, { size });

function stackImages(images: NDArray<'float32'>[], device: Device): Tensor {
  const [c, h, w] = images[0].shape;
  const buf = new Float32Array(images.length * c * h * w);
  images.forEach((im, i) => buf.set(im.data, i * c * h * w));
  return torch.tensor(buf, { shape: [images.length, c, h, w], device: device });
}

/** Greedy answers to every question of `count` scenes of a split, scored. */
export function evaluateUnderstanding(adapter: Adapter, split: Split, o: { count?: number; batchSize?: number; onProgress?: EvalOptions['onProgress'] } = {}): UnderstandingResult {
  const f = adapter.batchFormat;
  const count = o.count ?? 100;
  const bs = o.batchSize ?? 32;
  const items: { image: NDArray<'float32'>; question: string; answer: string; category: string }[] = [];
  for (let i = 0; i < count; i++) {
    const s = sceneOf(split, i, Math.max(64, f.conditionSize));
    const image = understandingImage(s.image, { size: f.conditionSize, normalization: f.normalization, square: 'pad' });
    for (const q of s.qa) items.push({ image, question: q.question, answer: q.answer, category: q.category });
  }
  const device = deviceOf(adapter);
  const predictions: string[] = [];
  for (let b = 0; b < items.length; b += bs) {
    const chunk = items.slice(b, b + bs);
    const images = stackImages(chunk.map((x) => x.image), device);
    try {
      predictions.push(...adapter.answer(images, chunk.map((x) => x.question)));
    } finally {
      images.dispose();
    }
    o.onProgress?.(Math.min(b + bs, items.length), items.length, `understanding (${split})`);
  }
  const answered = items.map((x, i) => ({ answer: x.answer, category: x.category, prediction: predictions[i] }));
  const s = scoreAnswers(answered);
  return { overall: s.overall, macro: s.macro, byCategory: s.byCategory, hallucination: popeMetrics(answered.filter((x) => x.category === 'existence')) };
}

function deviceOf(adapter: Adapter): Device {
  const p = adapter.model.parameters()[0];
  return p === undefined ? 'cpu' : p.device;
}

function toNd(t: Tensor): NDArray<'float32'>[] {
  const [n, c, h, w] = t.shape;
  const all = t.float().cpu().contiguous().toArray() as Float32Array;
  return Array.from({ length: n }, (_, i) => ndarray('float32', [c, h, w], all.slice(i * c * h * w, (i + 1) * c * h * w)));
}

/** Reconstruction PSNR, depth AbsRel / δ / ρ and boundary F (2 px) on `count` val scenes. */
export async function evaluateGeneration(adapter: Adapter, o: { count?: number; batchSize?: number; steps?: number; cfg?: number; gridFile?: string; gridRows?: number; onProgress?: EvalOptions['onProgress'] } = {}): Promise<GenerationResult & { grid?: string }> {
  const f = adapter.batchFormat;
  const count = o.count ?? 16;
  const bs = o.batchSize ?? 16;
  const device = deviceOf(adapter);
  const rec: number[] = [];
  const dep: ReturnType<typeof depthMetrics>[] = [];
  const seg: ReturnType<typeof boundaryF>[] = [];
  const rows: SampleRow[] = [];
  const gridRows = o.gridRows ?? 4;
  for (let b = 0; b < count; b += bs) {
    const n = Math.min(bs, count - b);
    const scenes = Array.from({ length: n }, (_, i) => sceneOf('val', b + i, f.generationSize));
    const conds = scenes.map((s) => understandingImage(s.image, { size: f.conditionSize, normalization: f.normalization, square: 'stretch' }));
    const images = stackImages(conds, device);
    let outs: Record<'reconstruction' | 'depth' | 'segmentation', NDArray<'float32'>[]>;
    try {
      outs = noGrad(() => torch.tidy(() => ({
        reconstruction: toNd(adapter.generate(images, 'reconstruction', { seed: b, steps: o.steps, cfg: o.cfg })),
        depth: toNd(adapter.generate(images, 'depth', { seed: b, steps: o.steps, cfg: o.cfg })),
        segmentation: toNd(adapter.generate(images, 'segmentation', { seed: b, steps: o.steps, cfg: o.cfg })),
      })));
    } finally {
      images.dispose();
    }
    scenes.forEach((s, i) => {
      const truthImage = generationImage(s.image, { size: f.generationSize });
      rec.push(psnr(outs.reconstruction[i], truthImage));
      dep.push(depthMetrics(outs.depth[i], s.depth));
      const truthEdges = ndarray('uint8', [1, ...s.boundaries.shape] as number[], s.boundaries.data);
      seg.push(boundaryF(outs.segmentation[i], truthEdges));
      if (rows.length < gridRows) {
        rows.push({
          input: s.image, trueDepth: depthTarget(s.depth), generatedDepth: outs.depth[i],
          trueBoundaries: truthEdges, generatedBoundaries: outs.segmentation[i], reconstruction: outs.reconstruction[i],
        });
      }
    });
    o.onProgress?.(b + n, count, 'generation');
  }
  const d = meanMetrics(dep);
  const sg = meanMetrics(seg);
  const result: GenerationResult & { grid?: string } = {
    scenes: count,
    reconstruction: { psnr: rec.reduce((a, x) => a + x, 0) / rec.length },
    depth: { absRel: d.absRel, delta1: d.delta1, spearman: d.spearman },
    segmentation: { precision: sg.precision, recall: sg.recall, f: sg.f },
  };
  if (o.gridFile !== undefined) {
    await writeSampleGrid(o.gridFile, rows);
    result.grid = o.gridFile;
  }
  return result;
}

/** Understanding on the requested splits, then generation metrics and the grid. */
export async function evaluate(adapter: Adapter, o: EvalOptions = {}): Promise<EvalResult> {
  const splits = o.splits ?? ['val', 'test', 'compositional'];
  adapter.eval();
  const understanding: EvalResult['understanding'] = {};
  for (const s of splits) understanding[s] = noGrad(() => evaluateUnderstanding(adapter, s, o));
  const out: EvalResult = { understanding };
  if ((o.generationCount ?? 16) > 0) {
    const { grid, ...g } = await evaluateGeneration(adapter, { ...o, count: o.generationCount ?? 16 });
    out.generation = g;
    if (grid !== undefined) out.grid = grid;
  }
  return out;
}

/** The periodic check during training: val accuracy overall and the existence F1. */
export function quickEvaluation(adapter: Adapter, o: { count?: number } = {}): { accuracy: number; existenceF1: number } {
  const r = noGrad(() => evaluateUnderstanding(adapter, 'val', { count: o.count ?? 64 }));
  return { accuracy: r.overall.accuracy, existenceF1: r.hallucination.f1 };
}
