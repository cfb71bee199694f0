// The run directory: what a training run writes, and the rules that keep a user's run safe —
// a directory holding a run is never replaced without --overwrite, --resume finds whichever
// complete checkpoint a kill left, and a torn last metrics line (a kill mid-append) is dropped.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findCheckpoint, removeStaleTemps } from '../io/checkpoint-recovery';
import { makeDirs } from '../io/dirs';
import { requireRegularFile } from '../io/regular-file';

export const CHECKPOINT_DIR = 'checkpoint';
export const ADAPTER_FILE = 'adapter.json';
/** Where a run directory keeps its copy of a Hugging Face tokenizer. */
export const TOKENIZER_DIR = 'tokenizer';
export const METRICS_FILE = 'metrics.jsonl';
export const EVAL_FILE = 'eval.jsonl';
export const CONFIG_FILE = 'config.json';

/** What a run's history is made of: any of these in a directory means it holds a run. */
const HISTORY = [METRICS_FILE, EVAL_FILE, CHECKPOINT_DIR, `${CHECKPOINT_DIR}.prev`];

export interface RunDirOptions {
  /** Continue the run from its checkpoint. */
  resume?: boolean;
  /** Replace the run already in the directory (its metrics and checkpoints are deleted). */
  overwrite?: boolean;
}

/** The run's complete checkpoint folder (checkpoint/, or checkpoint.prev/ after a killed save), if any. */
export function runCheckpoint(runDir: string): string | undefined {
  return findCheckpoint(path.join(runDir, CHECKPOINT_DIR));
}

/** The parts of a run's history that `dir` holds (empty: none, or no such directory). */
export function runHistory(dir: string): string[] {
  return HISTORY.filter((f) => fs.existsSync(path.join(dir, f)));
}

/**
 * Checks, without writing anything, that a run may start in `runDir` as asked: a RangeError naming
 * the directory otherwise (the CLI turns it into a usage error, exit code 2).
 */
export function checkRunDir(runDir: string, o: RunDirOptions = {}): void {
  const dir = path.resolve(runDir);
  if (o.resume && o.overwrite) throw new RangeError('--resume and --overwrite contradict each other: continue the run, or replace it');
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new RangeError(`--out: ${dir} exists and is not a directory`);
  if (o.resume) {
    if (runCheckpoint(dir) === undefined) throw new RangeError(`--resume: no checkpoint in ${dir} (nothing to resume; drop --resume to start a new run there)`);
    return;
  }
  const history = runHistory(dir);
  if (history.length > 0 && !o.overwrite) {
    throw new RangeError(`--out: ${dir} already holds a run (${history.join(', ')}); pass --resume to continue it or --overwrite to replace it`);
  }
}

/**
 * Makes the run directory ready: checked as checkRunDir, created, temporary folders of killed
 * checkpoint saves deleted and, with `overwrite`, the previous run's history deleted.
 */
export function prepareRunDir(runDir: string, o: RunDirOptions = {}): string {
  checkRunDir(runDir, o);
  const dir = makeDirs(runDir, '--out');
  removeStaleTemps(path.join(dir, CHECKPOINT_DIR));
  if (o.overwrite) for (const f of runHistory(dir)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
  return dir;
}

/**
 * The metrics lines of steps up to `step` (later ones belong to steps a resumed run repeats). A
 * last line that does not parse is a write cut short by a kill and is dropped; a bad line before it
 * is corruption, named by file and line.
 */
export function metricsUpTo(file: string, step: number): { kept: string[]; records: { step: number }[]; droppedTornLine: boolean } {
  if (!fs.existsSync(file)) return { kept: [], records: [], droppedTornLine: false };
  requireRegularFile(file, (m) => new RangeError(m));
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const kept: string[] = [];
  const records: { step: number }[] = [];
  let droppedTornLine = false;
  lines.forEach((l, i) => {
    if (l.trim() === '') return;
    let record: { step?: unknown };
    try {
      record = JSON.parse(l) as { step?: unknown };
    } catch {
      const last = lines.slice(i + 1).every((r) => r.trim() === '');
      if (last) { droppedTornLine = true; return; }
      throw new RangeError(`${file}:${i + 1} is not a JSON line (the metrics file is corrupt; fix or delete that line to resume)`);
    }
    if (typeof record?.step !== 'number') throw new RangeError(`${file}:${i + 1} has no step number (the metrics file is corrupt)`);
    if (record.step <= step) { kept.push(l); records.push(record as { step: number }); }
  });
  return { kept, records, droppedTornLine };
}
