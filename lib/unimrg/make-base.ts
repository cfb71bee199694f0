// Making a shipped base model (`unimrg make-bases`, `npm run make-bases`): fit the family's codec,
// pre-train on understanding + reconstruction (never depth or boundaries, so that post-training
// arms start equal), evaluate, and write bases/<family>/ with its recipe and metrics. The training
// run lives in a work directory and resumes from its checkpoint when interrupted.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Family } from '../adapters/types';
import { makeDirs } from '../io/dirs';
import type { TrainConfigInput } from './config';
import { evaluateUnderstanding } from './evaluate';
import { prepareCodec, readMetrics } from './experiment';
import { trainInWorker, type RunOptions } from './run';
import { ADAPTER_FILE, CONFIG_FILE, runCheckpoint } from './run-dir';
import { type BaseRecord, baseDir, BASES_DIR, RECIPE_FILE, writeChecksums } from './shipped-bases';
import { buildAdapter, readAdapterSpec } from './run-model';

/** One recipe per family: the size and budget chosen from docs/results/learning-curve.md. */
export interface BaseRecipe {
  preset: string;
  steps: number;
  lr: number;
  /** Training scenes (a fresh scene per sample for most of the run: the tiny preset overfitted 4000). */
  count: number;
  /** Question–answer turns per understanding sample (1: one question per image, as evaluation asks). */
  maxTurns?: number;
  batchSize: number;
  codecScenes: number;
  seed: number;
}

export const BASE_RECIPES: Readonly<Record<Family, BaseRecipe>> = {
  'autoregressive-vq': { preset: 'mini', steps: 3000, lr: 6e-4, count: 30000, maxTurns: 1, batchSize: 8, codecScenes: 150, seed: 0 },
  'mar-diffusion': { preset: 'mini', steps: 3000, lr: 6e-4, count: 30000, maxTurns: 1, batchSize: 8, codecScenes: 150, seed: 0 },
  'query-diffusion': { preset: 'mini', steps: 3000, lr: 6e-4, count: 30000, maxTurns: 1, batchSize: 8, codecScenes: 150, seed: 0 },
};

/** Scenes per split for the recorded accuracy (about 2000 questions). */
export const BASE_EVAL_SCENES = 200;

/** make-bases was stopped before a base finished its steps (resumable). */
export class BaseInterrupted extends Error {
  override name = 'BaseInterrupted';
}

export function baseTrainConfig(family: Family, r: BaseRecipe, codec: string, out: string): TrainConfigInput {
  return {
    family, preset: r.preset, codec, out, seed: r.seed, steps: r.steps,
    data: { count: r.count, ...(r.maxTurns === undefined ? {} : { maxTurns: r.maxTurns }) },
    batch: { size: r.batchSize, mode: 'per-task' },
    optim: { lr: r.lr },
    tasks: { ratios: { understanding: 1, reconstruction: 1, depth: 0, segmentation: 0 } },
    evalEvery: 500, checkpointEvery: 250,
  };
}

export interface MakeBaseOptions {
  family: Family;
  /** Where the codec and the training run live (resumed when present). */
  work: string;
  /** The bases folder to write (default the package's bases/). */
  root?: string;
  recipe?: BaseRecipe;
  /** Scenes per split for the recorded accuracy (default BASE_EVAL_SCENES). */
  evalScenes?: number;
  /** Replace an existing bases/<family>/ (refused otherwise). */
  overwrite?: boolean;
  progress?: RunOptions['progress'];
  log?: (line: string) => void;
}

export async function makeBase(o: MakeBaseOptions): Promise<BaseRecord> {
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const r = o.recipe ?? BASE_RECIPES[o.family];
  const root = o.root ?? BASES_DIR;
  const dest = baseDir(o.family, root);
  if (fs.existsSync(dest) && fs.readdirSync(dest).length > 0 && !o.overwrite) {
    throw new RangeError(`${dest} already holds a base; pass --overwrite to replace it`);
  }
  const work = path.resolve(o.work, o.family);
  makeDirs(work, '--work');
  // The codec's fitting time is kept beside it, so that a resumed make-bases still records it.
  const codecTime = path.join(work, 'codec-seconds.json');
  const t0 = performance.now();
  const codec = await prepareCodec(o.family, r.preset, path.join(work, 'codec.safetensors'), r.codecScenes, log);
  if (!fs.existsSync(codecTime)) fs.writeFileSync(codecTime, `${JSON.stringify((performance.now() - t0) / 1000)}\n`);
  const codecSeconds = JSON.parse(fs.readFileSync(codecTime, 'utf8')) as number;

  const run = path.join(work, 'run');
  const config = baseTrainConfig(o.family, r, codec, run);
  const resume = runCheckpoint(run) !== undefined;
  if (resume) checkSameRecipe(run, config);
  log(`${resume ? 'resuming' : 'pre-training'} the ${o.family} base (${r.preset}, understanding + reconstruction, ${r.steps} steps) → ${run}`);
  const trained = await trainInWorker(config, { progress: o.progress, resume });
  // Stopped early (Ctrl-C, SIGTERM): the checkpoint stands for a resume, but a half-trained model
  // is never written to bases/ as if it were the recipe's.
  if (trained.stopped || trained.step < r.steps) {
    throw new BaseInterrupted(`the ${o.family} base stopped at step ${trained.step} of ${r.steps}; nothing was written to ${dest}. Run the same command again to resume from ${run}`);
  }
  // Summed from the run's own step times, so that a resumed run counts every step once.
  const trainingSeconds = readMetrics(run).reduce((s, m) => s + m.seconds, 0);

  const evalScenes = o.evalScenes ?? BASE_EVAL_SCENES;
  log(`evaluating the ${o.family} base on ${evalScenes} val and test scenes`);
  const spec = readAdapterSpec(run)!;
  const adapter = buildAdapter(spec, { weights: run });
  adapter.eval();
  const splits: BaseRecord['evaluation']['splits'] = {};
  for (const split of ['val', 'test'] as const) {
    const u = evaluateUnderstanding(adapter, split, { count: evalScenes });
    splits[split] = {
      accuracy: u.overall.accuracy, questions: u.overall.total,
      byCategory: Object.fromEntries(Object.entries(u.byCategory).map(([k, v]) => [k, v.accuracy])),
    };
  }
  const parameters = adapter.model.parameters().reduce((n, p) => n + p.numel, 0);
  adapter.dispose();

  makeDirs(dest, 'bases folder');
  for (const f of fs.readdirSync(dest)) fs.rmSync(path.join(dest, f)); // --overwrite only (checked above)
  fs.copyFileSync(path.join(runCheckpoint(run)!, 'model.safetensors'), path.join(dest, 'model.safetensors'));
  fs.writeFileSync(path.join(dest, ADAPTER_FILE), `${JSON.stringify({ family: spec.family, preset: spec.preset, model: spec.model }, null, 2)}\n`);
  const record: BaseRecord = {
    family: o.family, preset: r.preset,
    command: `unimrg make-bases --family ${o.family}`,
    config: { ...config, codec: path.basename(codec), out: path.basename(run) } as Record<string, unknown>,
    seed: r.seed, steps: r.steps,
    seconds: { codec: round(codecSeconds), training: round(trainingSeconds) },
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    date: new Date().toISOString(),
    parameters,
    evaluation: { scenes: evalScenes, splits },
  };
  fs.writeFileSync(path.join(dest, RECIPE_FILE), `${JSON.stringify(record, null, 2)}\n`);
  writeChecksums(root);
  log(`${dest}: test accuracy ${splits.test.accuracy.toFixed(3)} (${splits.test.questions} questions)`);
  return record;
}

const round = (s: number) => Math.round(s * 10) / 10;

/** What must match for a run in the work directory to be resumed as this recipe's. */
const recipeOf = (c: Record<string, any>) => JSON.stringify({ // eslint-disable-line @typescript-eslint/no-explicit-any
  family: c.family, preset: c.preset, seed: c.seed, steps: c.steps, lr: c.optim?.lr, count: c.data?.count,
  maxTurns: c.data?.maxTurns ?? null, batch: c.batch?.size, ratios: c.tasks?.ratios,
});

/** Refuses to resume a run of another recipe (an older make-bases, a hand-made run) as this one. */
function checkSameRecipe(run: string, config: TrainConfigInput): void {
  const file = path.join(run, CONFIG_FILE);
  if (!fs.existsSync(file)) return;
  const was = recipeOf(JSON.parse(fs.readFileSync(file, 'utf8')));
  const now = recipeOf(config);
  if (was !== now) throw new RangeError(`${run} holds a run of another recipe (${was}; this one is ${now}): use another --work, or delete it`);
}
