// The paper's comparison at small scale: from one base model, post-train several arms that differ
// only in which tasks they train (understanding only, + one representation, all four = UniMRG),
// with the same steps and batch size, for several seeds; evaluate each; tabulate mean ± std.
// The main job (`npm start`) is the two-arm, one-seed case with a report.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fitCodecOnScenes, saveCodec } from '../adapters/codecs';
import { codecConfig } from '../adapters/registry';
import type { Family } from '../adapters/types';
import { TASKS, type TaskKind } from '../data/tasks/kinds';
import type { TrainConfigInput } from './config';
import { evaluate, type EvalResult } from './evaluate';
import { buildAdapter, readAdapterSpec, type StepMetrics } from './trainer';
import { trainInWorker, type RunOptions } from './run';

export interface Arm {
  name: string;
  /** Tasks trained (ratio 1); the others get ratio 0. */
  tasks: TaskKind[];
}

export const PAPER_ARMS: readonly Arm[] = [
  { name: 'understanding only', tasks: ['understanding'] },
  { name: '+ reconstruction', tasks: ['understanding', 'reconstruction'] },
  { name: '+ depth', tasks: ['understanding', 'depth'] },
  { name: '+ segmentation', tasks: ['understanding', 'segmentation'] },
  { name: 'UniMRG (all four)', tasks: ['understanding', 'reconstruction', 'depth', 'segmentation'] },
];

export const MAIN_ARMS: readonly Arm[] = [PAPER_ARMS[0], PAPER_ARMS[4]];

export interface ExperimentOptions {
  family: Family;
  preset?: string;
  out: string;
  arms?: readonly Arm[];
  seeds?: number[];
  /** Post-training steps per arm. */
  steps: number;
  /** Pre-training steps of the base model (understanding + reconstruction), unless `base` is given. */
  baseSteps: number;
  /** An existing base run directory or checkpoint (skips pre-training and codec fitting). */
  base?: string;
  batchSize?: number;
  /** Training scenes. */
  count?: number;
  /** Evaluation sizes. */
  evalCount?: number;
  generationCount?: number;
  /** Codec fitting: scenes per target kind. */
  codecScenes?: number;
  /** Extra training config (lr, workers, ...). */
  train?: Partial<TrainConfigInput>;
  progress?: RunOptions['progress'];
  log?: (line: string) => void;
}

export interface ArmResult {
  arm: string;
  seed: number;
  runDir: string;
  eval: EvalResult;
  metrics: StepMetrics[];
  seconds: number;
}

export interface ExperimentResult {
  family: Family;
  base: string;
  baseEval: EvalResult;
  arms: ArmResult[];
  seconds: number;
}

const ratiosFor = (tasks: readonly TaskKind[]) => Object.fromEntries(TASKS.map((t) => [t, tasks.includes(t) ? 1 : 0]));

export function readMetrics(runDir: string): StepMetrics[] {
  const f = path.join(runDir, 'metrics.jsonl');
  if (!fs.existsSync(f)) return [];
  return fs.readFileSync(f, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as StepMetrics);
}

/** The codec file for a family, fitted on training scenes (all three generation targets). */
export async function prepareCodec(family: Family, preset: string, file: string, scenes: number, log: (s: string) => void): Promise<string> {
  if (fs.existsSync(file)) return file;
  const config = codecConfig(family, preset);
  log(`fitting the ${config.kind} image codec on ${scenes} scenes (images, depth and boundary maps)`);
  const codec = await fitCodecOnScenes({ ...config, count: scenes, seed: 0 });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  saveCodec(codec, file);
  codec.dispose();
  return file;
}

export async function runExperiment(o: ExperimentOptions): Promise<ExperimentResult> {
  const t0 = performance.now();
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const preset = o.preset ?? 'tiny';
  const out = path.resolve(o.out);
  fs.mkdirSync(out, { recursive: true });
  const common = (seed: number): TrainConfigInput => ({
    family: o.family, preset, seed,
    batch: { size: o.batchSize ?? 8, mode: 'mixed' },
    data: { count: o.count ?? 4000, ...(o.train?.data ?? {}) },
    ...o.train,
  } as TrainConfigInput);
  const evalOpts = { count: o.evalCount ?? 50, generationCount: o.generationCount ?? 8 };

  let base = o.base;
  let codec: string | undefined;
  if (base === undefined) {
    codec = await prepareCodec(o.family, preset, path.join(out, 'codec.safetensors'), o.codecScenes ?? 200, log);
    base = path.join(out, 'base');
    log(`pre-training the base model (understanding + reconstruction, ${o.baseSteps} steps) → ${base}`);
    await trainInWorker({ ...common(0), out: base, codec, steps: o.baseSteps, tasks: { ratios: ratiosFor(['understanding', 'reconstruction']) } }, { progress: o.progress });
  } else if (readAdapterSpec(base) === undefined) {
    throw new RangeError(`the base ${base} has no ${'adapter.json'} beside it: use a run directory written by unimrg train`);
  }
  const baseAdapter = buildAdapter(readAdapterSpec(base)!, { weights: base });
  log('evaluating the base model');
  const baseEval = await evaluate(baseAdapter, { ...evalOpts, gridFile: path.join(out, 'base-samples.png') });
  baseAdapter.dispose();

  const arms: ArmResult[] = [];
  for (const seed of o.seeds ?? [0]) {
    for (const arm of o.arms ?? MAIN_ARMS) {
      const slug = arm.name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
      const runDir = path.join(out, `${slug}-seed${seed}`);
      const a0 = performance.now();
      log(`post-training "${arm.name}" (seed ${seed}, ${o.steps} steps) → ${runDir}`);
      await trainInWorker({ ...common(seed), out: runDir, base, steps: o.steps, tasks: { ratios: ratiosFor(arm.tasks) } }, { progress: o.progress });
      const adapter = buildAdapter(readAdapterSpec(runDir)!, { weights: runDir });
      log(`evaluating "${arm.name}" (seed ${seed})`);
      const ev = await evaluate(adapter, { ...evalOpts, gridFile: path.join(runDir, 'samples.png') });
      adapter.dispose();
      arms.push({ arm: arm.name, seed, runDir, eval: ev, metrics: readMetrics(runDir), seconds: (performance.now() - a0) / 1000 });
      fs.writeFileSync(path.join(runDir, 'eval.json'), `${JSON.stringify(ev, null, 2)}\n`);
    }
  }
  const result: ExperimentResult = { family: o.family, base, baseEval, arms, seconds: (performance.now() - t0) / 1000 };
  fs.writeFileSync(path.join(out, 'results.json'), `${JSON.stringify(result, (k, v) => (k === 'metrics' ? undefined : v), 2)}\n`);
  return result;
}
