// What a killed save leaves behind, and how to get back to a complete checkpoint.
//
// A save writes `.<name>.tmp-<pid>-<random>/` beside the checkpoint, renames the old checkpoint to
// `<name>.prev`, renames the temporary folder to `<name>` and deletes `<name>.prev`. A kill at any
// moment leaves `<name>` complete, or `<name>.prev` complete (between the two renames), plus
// possibly a temporary folder of a dead process. `findCheckpoint` picks the complete one;
// `removeStaleTemps` deletes the temporary folders whose writer is gone.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The manifest, written last: a directory holding it is a complete checkpoint. */
export const STATE_FILE = 'trainer_state.json';

export const isCheckpointDir = (d: string): boolean => fs.existsSync(path.join(d, STATE_FILE));

/** The complete checkpoint at `dir` or, after a save killed between its renames, at `<dir>.prev`. */
export function findCheckpoint(dir: string): string | undefined {
  const target = path.resolve(dir);
  if (isCheckpointDir(target)) return target;
  if (isCheckpointDir(`${target}.prev`)) return `${target}.prev`;
  return undefined;
}

/** The name of a save's temporary folder for the checkpoint `base`. */
export const tempName = (base: string): string => `.${base}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

/** Deletes the temporary folders of saves of `dir` whose process has ended; returns their paths. */
export function removeStaleTemps(dir: string): string[] {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const prefix = `.${path.basename(target)}.tmp-`;
  let names: string[];
  try { names = fs.readdirSync(parent); } catch { return []; }
  const removed: string[] = [];
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(n.slice(prefix.length).split('-')[0]);
    // Our own pid: a save in progress on another thread of this process.
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || processAlive(pid)) continue;
    fs.rmSync(path.join(parent, n), { recursive: true, force: true });
    removed.push(path.join(parent, n));
  }
  return removed;
}

/**
 * Test-only fault injection: with UNIMRG_TEST_KILL_CHECKPOINT=<stage>[@<step>] the process kills
 * itself (SIGKILL, as a power cut or `kill -9` would) when a save of that step reaches that stage.
 * The crash-safety tests use it to stop a save between each pair of its steps.
 */
export function faultPoint(stage: string, step: number): void {
  const spec = process.env.UNIMRG_TEST_KILL_CHECKPOINT;
  if (spec === undefined || spec === '') return;
  const [want, at] = spec.split('@');
  if (want === stage && (at === undefined || Number(at) === step)) process.kill(process.pid, 'SIGKILL');
}

/** The stages a save passes, in order (for faultPoint). */
export const SAVE_STAGES = [
  'temp-created', 'model-written', 'optimizer-written', 'rng-written', 'manifest-written',
  'old-prev-removed', 'old-moved-to-prev', 'new-in-place', 'prev-removed',
] as const;
