// `unimrg experiment --resume`: an experiment of hours, cut short by a kill or a Ctrl-C, continues
// where it stopped instead of starting over. Each arm's run directory is in one of four states:
// finished (its eval.json is written; kept), started (a checkpoint; training resumes from it),
// cut (killed before its first checkpoint: trained again from the start, its partial metrics
// replaced) or empty. A run directory is only ever reused when the training it holds is
// the one this experiment would run (the same resolved config, from the same base weights):
// anything else is refused before any work, naming the directory and the fields that differ.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type TrainConfig } from './config';
import type { EvalResult } from './evaluate';
import { CONFIG_FILE, runCheckpoint, runHistory } from './run-dir';
import { weightsFile } from './run-model';
import { sha256File } from './shipped-bases';

/** What an experiment writes beside a finished arm's training: the arm's evaluation. */
export const ARM_EVAL_FILE = 'eval.json';

export type ArmState =
  | { kind: 'empty' }
  | { kind: 'started' }
  | { kind: 'cut' }
  | { kind: 'finished'; eval: EvalResult };

/** Where the run is written: not part of what is trained. */
const OUT_FIELD = 'out';
/** Files the run starts from, compared by their bytes (an experiment copied elsewhere still matches). */
const WEIGHT_FIELDS = ['base', 'codec'] as const;
type WeightField = typeof WEIGHT_FIELDS[number];

/** The dotted paths at which two JSON values differ (`a.b` for nested objects). */
function differences(was: unknown, now: unknown, at = ''): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(was) && isObject(now)) {
    const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])].sort();
    return keys.flatMap((k) => differences(was[k], now[k], at === '' ? k : `${at}.${k}`));
  }
  return JSON.stringify(was) === JSON.stringify(now) ? [] : [at];
}

/** The bytes a run starts from: the weights file a base path loads, or the codec file. */
const startingFile = (field: WeightField, p: string): string => (field === 'base' ? weightsFile(p) : p);

/** Why the run's `field` file is not the one the experiment would start from (undefined: it is). */
function otherWeights(field: WeightField, was: unknown, now: string | undefined): string | undefined {
  if (typeof was !== 'string' || now === undefined) return was === now ? undefined : `${field} differs`;
  if (path.resolve(was) === path.resolve(now)) return undefined;
  if (!fs.existsSync(was)) return `its ${field} ${was} is gone, so its bytes cannot be compared with ${now}`;
  try {
    return sha256File(startingFile(field, was)) === sha256File(startingFile(field, now)) ? undefined : `${field} has other weights`;
  } catch (e) {
    return `${field}: ${(e as Error).message}`;
  }
}

/**
 * Why the run in `runDir` is not the training `expected` describes, in words (empty: it is). Compares the
 * whole resolved config the trainer wrote, except where it lives; the base and codec by their
 * bytes, so a copied or moved experiment still matches.
 */
export function trainingMismatch(runDir: string, expected: TrainConfig): string[] {
  const file = path.join(runDir, CONFIG_FILE);
  if (!fs.existsSync(file)) return [`it has no ${CONFIG_FILE}`];
  let was: Record<string, unknown>;
  try {
    was = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return [`its ${CONFIG_FILE} does not parse: ${(e as Error).message}`];
  }
  const now = JSON.parse(JSON.stringify(expected)) as Record<string, unknown>;
  const byContent = new Set<string>(WEIGHT_FIELDS);
  const fields = differences(was, now).filter((f) => f !== OUT_FIELD && !byContent.has(f));
  const weights = WEIGHT_FIELDS.map((f) => otherWeights(f, was[f], expected[f])).filter((w) => w !== undefined);
  return [...(fields.length === 0 ? [] : [`differs in ${fields.join(', ')}`]), ...weights];
}

/**
 * The state of one arm's run directory for `--resume`; a RangeError naming the directory when it
 * holds another training. A finished arm's evaluation is returned as written: the caller decides
 * whether it was made with this experiment's evaluation sizes.
 */
export function armState(runDir: string, expected: TrainConfig): ArmState {
  if (runHistory(runDir).length === 0) return { kind: 'empty' };
  const mismatch = trainingMismatch(runDir, expected);
  if (mismatch.length > 0) {
    throw new RangeError(`--resume: ${runDir} holds another training than this experiment's (${mismatch.join('; ')}); pass --overwrite to replace it, or choose another --out`);
  }
  const evalFile = path.join(runDir, ARM_EVAL_FILE);
  if (fs.existsSync(evalFile)) {
    try {
      return { kind: 'finished', eval: JSON.parse(fs.readFileSync(evalFile, 'utf8')) as EvalResult };
    } catch {
      // a write cut short: the arm is evaluated again
    }
  }
  return runCheckpoint(runDir) === undefined ? { kind: 'cut' } : { kind: 'started' };
}

/**
 * Whether a kept evaluation was made with the sizes this experiment asks for: the same number of
 * questions per split as the base evaluated now, and the same number of generation scenes.
 */
export function sameEvaluationSizes(kept: EvalResult, reference: EvalResult): boolean {
  const splits = Object.keys(reference.understanding) as (keyof EvalResult['understanding'])[];
  return kept.generation?.scenes === reference.generation?.scenes
    && splits.every((s) => kept.understanding[s]?.overall.total === reference.understanding[s]?.overall.total);
}
