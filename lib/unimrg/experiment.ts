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
import type { BatchMode } from '../data/tasks/schedule';
import type { TrainConfigInput } from './config';
import { evaluate, type EvalResult } from './evaluate';
import { buildAdapter, readAdapterSpec } from './run-model';
import type { StepMetrics } from './trainer';
import { trainInWorker, type RunOptions } from './run';
import { METRICS_FILE, metricsUpTo, runHistory } from './run-dir';
import { makeDirs } from '../io/dirs';
import { shippedBase, verifyShippedBase } from './shipped-bases';

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
  /**
   * Pre-train a base from scratch for this many steps (understanding + reconstruction) instead of
   * starting from the shipped one; ignored when `base` is given.
   */
  baseSteps?: number;
  /** An existing base run directory or checkpoint. Default: the family's shipped base (bases/). */
  base?: string;
  batchSize?: number;
  /** Training scenes. */
  count?: number;
  /** Question–answer turns per understanding sample (default 1: evaluation asks one question per image). */
  maxTurns?: number;
  /** Evaluation sizes. */
  evalCount?: number;
  generationCount?: number;
  /** Codec fitting: scenes per target kind. */
  codecScenes?: number;
  /** Extra training config (lr, workers, ...). */
  train?: Partial<TrainConfigInput>;
  progress?: RunOptions['progress'];
  log?: (line: string) => void;
  /** Batching of every run (default per-task, the published protocol; see config batch.mode). */
  batchMode?: BatchMode;
  /** Replace runs already in `out` (refused otherwise, before any work). */
  overwrite?: boolean;
}

export interface ArmResult {
  arm: string;
  seed: number;
  runDir: string;
  eval: EvalResult;
  metrics: StepMetrics[];
  seconds: number;
}

/** Post-training scenes of an experiment unless `count` says otherwise. */
export const DEFAULT_TRAIN_SCENES = 4000;

export interface ExperimentResult {
  family: Family;
  /** How every run was batched (absent in results written before it was recorded). */
  batchMode?: BatchMode;
  /** Post-training scenes every arm draws from (absent in results written before it was recorded). */
  trainScenes?: number;
  base: string;
  baseEval: EvalResult;
  arms: ArmResult[];
  seconds: number;
}

const armDir = (out: string, arm: Arm, seed: number) => path.join(out, `${arm.name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase()}-seed${seed}`);

/** Refuses, before any work, an output directory whose runs this experiment would replace. */
export function checkExperimentOut(o: Pick<ExperimentOptions, 'out' | 'base' | 'seeds' | 'arms' | 'overwrite'>): void {
  if (o.overwrite) return;
  const out = path.resolve(o.out);
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new RangeError(`--out: ${out} exists and is not a directory`);
  const runDirs = [...(o.base === undefined ? [path.join(out, 'base')] : []), ...(o.seeds ?? [0]).flatMap((seed) => (o.arms ?? MAIN_ARMS).map((arm) => armDir(out, arm, seed)))];
  const taken = runDirs.filter((d) => runHistory(d).length > 0);
  if (taken.length > 0) {
    throw new RangeError(`--out: ${out} already holds runs of an experiment (${taken.map((d) => path.relative(out, d)).join(', ')}); pass --overwrite to replace them, or choose another --out`);
  }
}

const ratiosFor = (tasks: readonly TaskKind[]) => Object.fromEntries(TASKS.map((t) => [t, tasks.includes(t) ? 1 : 0]));

/** A run's metrics.jsonl (a torn last line, a write cut short by a kill, is left out). */
export function readMetrics(runDir: string): StepMetrics[] {
  return metricsUpTo(path.join(runDir, METRICS_FILE), Infinity).records as StepMetrics[];
}

/** The codec file for a family, fitted on training scenes (all three generation targets). */
export async function prepareCodec(family: Family, preset: string, file: string, scenes: number, log: (s: string) => void): Promise<string> {
  if (fs.existsSync(file)) return file;
  const config = codecConfig(family, preset);
  log(`fitting the ${config.kind} image codec on ${scenes} scenes (images, depth and boundary maps)`);
  const codec = await fitCodecOnScenes({ ...config, count: scenes, seed: 0 });
  makeDirs(path.dirname(file), 'codec file');
  saveCodec(codec, file);
  codec.dispose();
  return file;
}

/** The family's shipped base, its files checked against bases/SHA256SUMS. */
function shippedBaseOrFail(family: Family): string {
  const dir = shippedBase(family);
  if (dir === undefined) throw new RangeError(`this package ships no ${family} base (bases/${family}); pass --base <run> or --base-steps <n> to pre-train one`);
  verifyShippedBase(dir);
  return dir;
}

export async function runExperiment(o: ExperimentOptions): Promise<ExperimentResult> {
  const t0 = performance.now();
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const base0 = o.base ?? (o.baseSteps === undefined ? shippedBaseOrFail(o.family) : undefined);
  const preset = o.preset ?? (base0 === undefined ? 'tiny' : readAdapterSpec(base0)?.preset ?? 'tiny');
  const out = path.resolve(o.out);
  const seeds = o.seeds ?? [0];
  const armsToRun = o.arms ?? MAIN_ARMS;
  const batchMode = o.batchMode ?? 'per-task';
  checkExperimentOut({ ...o, base: base0 });
  makeDirs(out, '--out');
  const run = { progress: o.progress, overwrite: o.overwrite };
  // (after the spread: o.train's data fields join the scene count instead of replacing it)
  const data = { count: o.count ?? DEFAULT_TRAIN_SCENES, maxTurns: o.maxTurns ?? 1, ...(o.train?.data ?? {}) };
  const common = (seed: number): TrainConfigInput => ({
    ...o.train,
    family: o.family, preset, seed,
    batch: { size: o.batchSize ?? 8, mode: batchMode },
    data,
  } as TrainConfigInput);
  const evalOpts = { count: o.evalCount ?? 50, generationCount: o.generationCount ?? 8 };

  let base = base0;
  let codec: string | undefined;
  if (base === undefined) {
    codec = await prepareCodec(o.family, preset, path.join(out, 'codec.safetensors'), o.codecScenes ?? 200, log);
    base = path.join(out, 'base');
    log(`pre-training the base model (understanding + reconstruction, ${o.baseSteps} steps) → ${base}`);
    await trainInWorker({ ...common(0), out: base, codec, steps: o.baseSteps, tasks: { ratios: ratiosFor(['understanding', 'reconstruction']) } }, run);
  } else if (readAdapterSpec(base) === undefined) {
    throw new RangeError(`the base ${base} has no ${'adapter.json'} beside it: use a run directory written by unimrg train`);
  }
  const baseAdapter = buildAdapter(readAdapterSpec(base)!, { weights: base });
  log('evaluating the base model');
  const baseEval = await evaluate(baseAdapter, { ...evalOpts, gridFile: path.join(out, 'base-samples.png') });
  baseAdapter.dispose();

  const arms: ArmResult[] = [];
  for (const seed of seeds) {
    for (const arm of armsToRun) {
      const runDir = armDir(out, arm, seed);
      const a0 = performance.now();
      log(`post-training "${arm.name}" (seed ${seed}, ${o.steps} steps) → ${runDir}`);
      await trainInWorker({ ...common(seed), out: runDir, base, steps: o.steps, tasks: { ratios: ratiosFor(arm.tasks) } }, run);
      const adapter = buildAdapter(readAdapterSpec(runDir)!, { weights: runDir });
      log(`evaluating "${arm.name}" (seed ${seed})`);
      const ev = await evaluate(adapter, { ...evalOpts, gridFile: path.join(runDir, 'samples.png') });
      adapter.dispose();
      arms.push({ arm: arm.name, seed, runDir, eval: ev, metrics: readMetrics(runDir), seconds: (performance.now() - a0) / 1000 });
      fs.writeFileSync(path.join(runDir, 'eval.json'), `${JSON.stringify(ev, null, 2)}\n`);
    }
  }
  const result: ExperimentResult = { family: o.family, batchMode, trainScenes: data.count, base, baseEval, arms, seconds: (performance.now() - t0) / 1000 };
  fs.writeFileSync(path.join(out, 'results.json'), `${JSON.stringify(result, (k, v) => (k === 'metrics' ? undefined : v), 2)}\n`);
  return result;
}
