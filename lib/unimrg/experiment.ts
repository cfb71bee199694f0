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
import { parseTrainConfig, type TrainConfigInput } from './config';
import { ARM_EVAL_FILE, armState, type ArmState, sameEvaluationSizes } from './experiment-resume';
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
  /**
   * Continue an experiment in `out` that was cut short: finished arms are kept, started ones resume
   * from their checkpoint (each must hold this experiment's training; see experiment-resume).
   */
  resume?: boolean;
  /** Stop cleanly when this aborts: the current run saves a checkpoint, then ExperimentStopped. */
  signal?: AbortSignal;
}

export interface ArmResult {
  arm: string;
  seed: number;
  runDir: string;
  eval: EvalResult;
  metrics: StepMetrics[];
  /** Wall time of this invocation's training and evaluation of the arm (0 when kept). */
  seconds: number;
  /** With --resume: finished and evaluated by an earlier invocation, kept as it was. */
  kept?: boolean;
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

const EMPTY: ArmState = { kind: 'empty' };

/** The sample grid an arm's evaluation draws beside its run. */
const armGrid = (runDir: string) => path.join(runDir, 'samples.png');

const armDir = (out: string, arm: Arm, seed: number) => path.join(out, `${arm.name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase()}-seed${seed}`);

/** The state of the base run (when the experiment pre-trains one) and of every arm's, in plan order. */
interface RunStates { base: ArmState; arms: ArmState[] }

/**
 * Refuses, before any work, an output directory whose runs this experiment would replace; with
 * `resume`, one whose runs are another training than this experiment's (see experiment-resume).
 * Returns what each run directory holds (all empty without `resume`).
 */
export function checkExperimentOut(o: Pick<ExperimentOptions, 'out' | 'base' | 'seeds' | 'arms' | 'overwrite' | 'resume'> & Partial<ExperimentOptions>, plan?: Plan): RunStates {
  if (o.resume && o.overwrite) throw new RangeError('--resume and --overwrite contradict each other: continue the experiment, or replace its runs');
  const out = path.resolve(o.out);
  const none = { base: EMPTY, arms: (o.seeds ?? [0]).flatMap(() => (o.arms ?? MAIN_ARMS).map(() => EMPTY)) };
  if (o.overwrite) return none;
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new RangeError(`--out: ${out} exists and is not a directory`);
  if (o.resume) {
    if (o.family === undefined || o.steps === undefined) throw new RangeError('checkExperimentOut: resume needs the whole experiment (family, steps)');
    return runStates(plan ?? planExperiment(o as ExperimentOptions));
  }
  const runDirs = [...(o.base === undefined ? [path.join(out, 'base')] : []), ...(o.seeds ?? [0]).flatMap((seed) => (o.arms ?? MAIN_ARMS).map((arm) => armDir(out, arm, seed)))];
  const taken = runDirs.filter((d) => runHistory(d).length > 0);
  if (taken.length > 0) {
    throw new RangeError(`--out: ${out} already holds runs of an experiment (${taken.map((d) => path.relative(out, d)).join(', ')}); pass --overwrite to replace them, --resume to continue them, or choose another --out`);
  }
  return none;
}

/** Everything an experiment trains, resolved from its options: the base, and each arm's run. */
interface Plan {
  out: string;
  preset: string;
  batchMode: BatchMode;
  trainScenes: number;
  /** The shipped or given base, or undefined when the experiment pre-trains one in out/base. */
  givenBase?: string;
  baseInput: (base: string) => TrainConfigInput;
  runs: { arm: Arm; seed: number; runDir: string; input: (base: string) => TrainConfigInput }[];
}

function planExperiment(o: ExperimentOptions): Plan {
  const givenBase = o.base ?? (o.baseSteps === undefined ? shippedBaseOrFail(o.family) : undefined);
  const preset = o.preset ?? (givenBase === undefined ? 'tiny' : readAdapterSpec(givenBase)?.preset ?? 'tiny');
  const out = path.resolve(o.out);
  const batchMode = o.batchMode ?? 'per-task';
  // (after the spread: o.train's data fields join the scene count instead of replacing it)
  const data = { count: o.count ?? DEFAULT_TRAIN_SCENES, maxTurns: o.maxTurns ?? 1, ...(o.train?.data ?? {}) };
  const common = (seed: number): TrainConfigInput => ({
    ...o.train,
    family: o.family, preset, seed,
    batch: { size: o.batchSize ?? 8, mode: batchMode },
    data,
  } as TrainConfigInput);
  const baseRun = path.join(out, 'base');
  const baseInput = (codec: string): TrainConfigInput => ({ ...common(0), out: baseRun, codec, steps: o.baseSteps, tasks: { ratios: ratiosFor(['understanding', 'reconstruction']) } });
  const runs = (o.seeds ?? [0]).flatMap((seed) => (o.arms ?? MAIN_ARMS).map((arm) => {
    const runDir = armDir(out, arm, seed);
    return { arm, seed, runDir, input: (base: string): TrainConfigInput => ({ ...common(seed), out: runDir, base, steps: o.steps, tasks: { ratios: ratiosFor(arm.tasks) } }) };
  }));
  return { out, preset, batchMode, trainScenes: data.count, givenBase, baseInput, runs };
}

/** What --resume finds in each run directory (a RangeError for one holding another training). */
function runStates(plan: Plan): RunStates {
  const base = plan.givenBase ?? path.join(plan.out, 'base');
  const baseState = plan.givenBase === undefined ? armState(base, parseTrainConfig(plan.baseInput(path.join(plan.out, 'codec.safetensors')))) : EMPTY;
  // A pre-trained base has no eval.json: whatever state its run is in, training resumes (or restarts).
  return { base: baseState.kind === 'finished' ? { kind: 'started' } : baseState, arms: plan.runs.map((r) => armState(r.runDir, parseTrainConfig(r.input(base)))) };
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
  const plan = planExperiment(o);
  const states = checkExperimentOut({ ...o, base: plan.givenBase }, plan);
  makeDirs(plan.out, '--out');
  const run = { progress: o.progress, overwrite: o.overwrite, signal: o.signal };
  const evalOpts = { count: o.evalCount ?? 50, generationCount: o.generationCount ?? 8 };
  /** Trains one run; a Ctrl-C (a clean stop with a checkpoint) ends the experiment, to be resumed. */
  const train = async (input: TrainConfigInput, state: ArmState['kind']) => {
    const r = await trainInWorker(input, { ...run, resume: state === 'started', overwrite: run.overwrite || state === 'cut' });
    if (r.stopped) throw new ExperimentStopped(plan.out);
  };

  let base = plan.givenBase;
  if (base === undefined) {
    const codec = await prepareCodec(o.family, plan.preset, path.join(plan.out, 'codec.safetensors'), o.codecScenes ?? 200, log);
    base = path.join(plan.out, 'base');
    log(`pre-training the base model (understanding + reconstruction, ${o.baseSteps} steps) → ${base}`);
    await train(plan.baseInput(codec), states.base.kind);
  } else if (readAdapterSpec(base) === undefined) {
    throw new RangeError(`the base ${base} has no ${'adapter.json'} beside it: use a run directory written by unimrg train`);
  }
  const baseAdapter = buildAdapter(readAdapterSpec(base)!, { weights: base });
  log('evaluating the base model');
  const baseEval = await evaluate(baseAdapter, { ...evalOpts, gridFile: path.join(plan.out, 'base-samples.png') });
  baseAdapter.dispose();

  const arms: ArmResult[] = [];
  for (const [i, { arm, seed, runDir, input }] of plan.runs.entries()) {
    const state = states.arms[i];
    const a0 = performance.now();
    if (state.kind === 'finished' && sameEvaluationSizes(state.eval, baseEval)) {
      log(`keeping "${arm.name}" (seed ${seed}): finished and evaluated in ${runDir}`);
      // (the grid named as it lies now: a copied or moved experiment keeps it beside the run)
      const grid = armGrid(runDir);
      const ev = { ...state.eval, grid: fs.existsSync(grid) ? grid : undefined };
      arms.push({ arm: arm.name, seed, runDir, eval: ev, metrics: readMetrics(runDir), seconds: 0, kept: true });
      continue;
    }
    if (state.kind === 'finished') {
      log(`"${arm.name}" (seed ${seed}) is trained, but was evaluated on other sizes: evaluating it again`);
    } else {
      const how = { started: 'resuming', cut: 'post-training again (cut before its first checkpoint)', empty: 'post-training' }[state.kind];
      log(`${how} "${arm.name}" (seed ${seed}, ${o.steps} steps) → ${runDir}`);
      await train(input(base), state.kind);
    }
    const adapter = buildAdapter(readAdapterSpec(runDir)!, { weights: runDir });
    log(`evaluating "${arm.name}" (seed ${seed})`);
    const ev = await evaluate(adapter, { ...evalOpts, gridFile: armGrid(runDir) });
    adapter.dispose();
    arms.push({ arm: arm.name, seed, runDir, eval: ev, metrics: readMetrics(runDir), seconds: (performance.now() - a0) / 1000 });
    fs.writeFileSync(path.join(runDir, ARM_EVAL_FILE), `${JSON.stringify(ev, null, 2)}\n`);
  }
  const result: ExperimentResult = { family: o.family, batchMode: plan.batchMode, trainScenes: plan.trainScenes, base, baseEval, arms, seconds: (performance.now() - t0) / 1000 };
  fs.writeFileSync(path.join(plan.out, 'results.json'), `${JSON.stringify(result, (k, v) => (k === 'metrics' ? undefined : v), 2)}\n`);
  return result;
}

/** A Ctrl-C (or `signal`) during an experiment: the current run saved a checkpoint; --resume continues. */
export class ExperimentStopped extends Error {
  /** The command line's exit code for a run stopped by Ctrl-C after its checkpoint. */
  readonly exitCode = 130;
  constructor(readonly out: string) {
    super(`experiment stopped: the current run saved a checkpoint; rerun the same command with --resume to continue (${out})`);
    this.name = 'ExperimentStopped';
  }
}
