// Full training-state checkpoints: model weights, optimiser state, schedule, step, the default
// CPU generator's state and user data, in one directory, so that a resumed run continues
// bit-identically (on CPU, with the same thread count and libtorch).
//
//   <dir>/model.safetensors      model.stateDict()
//   <dir>/optimizer.safetensors  the optimiser's state tensors as `state.<i>.<name>`
//   <dir>/rng.safetensors        `cpu`: the default CPU generator's state (uint8)
//   <dir>/trainer_state.json     format, step, extra, optimiser class, param groups and steps,
//                                schedule class and state, size and SHA-256 of each file above
//
// Writes are atomic per directory: everything goes into a temporary sibling directory (each file
// fsynced), which is then renamed into place; an existing checkpoint is moved aside to
// `<dir>.prev` first and deleted only once the new one is in place. A crash between those two
// renames leaves `<dir>.prev`, which the next save restores and which loadCheckpoint reads.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Module } from '../nn/module';
import type { Optimizer, OptimizerState, Hyper } from '../optim/optimizer';
import type { LRScheduler } from '../optim/schedules';
import { getRngState, setRngState } from '../torch/backend';
import { TorchError } from '../torch/errors';
import { Tensor } from '../torch/tensor';
import { writeAll, writeFileAtomic } from './atomic';
import { faultPoint, findCheckpoint, isCheckpointDir, removeStaleTemps, STATE_FILE, tempName } from './checkpoint-recovery';
import { makeDirs } from './dirs';
import { requireRegularFile } from './regular-file';
import { loadSafetensors, readSafetensorsHeader, saveSafetensors } from './safetensors';

const FORMAT = 'unimrg-training-checkpoint';
const VERSION = 1;
const FILES = ['model.safetensors', 'optimizer.safetensors', 'rng.safetensors'] as const;

/** What a checkpoint holds besides tensors: JSON-serialisable user data. */
export type CheckpointExtra = unknown;

export interface SaveCheckpointOptions {
  model: Module;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  optimizer: Optimizer<any>;
  schedule?: LRScheduler;
  /** The number of completed training steps (a non-negative integer). */
  step: number;
  /** Anything JSON can hold (data-loader position, configuration, metrics). */
  extra?: CheckpointExtra;
}

export interface LoadCheckpointOptions {
  model: Module;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  optimizer: Optimizer<any>;
  schedule?: LRScheduler;
  /** Check each file's SHA-256 against the manifest (default true; sizes are always checked). */
  verify?: boolean;
  /** Restore the default CPU generator's state (default true). */
  restoreRng?: boolean;
}

interface TrainerState {
  format: string;
  version: number;
  step: number;
  extra: CheckpointExtra;
  optimizer: { type: string; param_groups: (Hyper & { params: number[] })[]; steps: Record<string, number>; tensors: Record<string, string[]> };
  schedule: { type: string; state: { lastStep: number } } | null;
  files: Record<string, { bytes: number; sha256: string }>;
  torch: { rng: 'cpu' };
}

const fail = (op: string, why: string): never => { throw new TorchError(`${op}: ${why}`, op); };

function sha256(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(8 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  } catch {
    /* some filesystems refuse fsync on a directory */
  }
}

/**
 * Saves the whole training state into the directory `dir` (created; an existing checkpoint there
 * is replaced atomically, anything else there is refused).
 */
export function saveCheckpoint(dir: string, o: SaveCheckpointOptions): void {
  const op = 'saveCheckpoint';
  if (!Number.isSafeInteger(o.step) || o.step < 0) fail(op, `step must be a non-negative integer, got ${o.step}`);
  let extraJson: string;
  try { extraJson = JSON.stringify(o.extra ?? null); } catch (e) { return fail(op, `extra is not JSON-serialisable (${(e as Error).message})`); }
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const base = path.basename(target);
  const prev = `${target}.prev`;
  makeDirs(parent, op);
  removeStaleTemps(target);
  // A previous save that stopped between its two renames left only <dir>.prev: put it back.
  if (!fs.existsSync(target) && fs.existsSync(prev) && isCheckpointDir(prev)) fs.renameSync(prev, target);
  if (fs.existsSync(target)) {
    if (!fs.statSync(target).isDirectory()) fail(op, `${target} exists and is not a directory`);
    if (!isCheckpointDir(target) && fs.readdirSync(target).length > 0) {
      fail(op, `${target} is a non-empty directory that holds no checkpoint (no ${STATE_FILE}); refusing to replace it`);
    }
  }

  const tmp = path.join(parent, tempName(base));
  fs.mkdirSync(tmp);
  const at = (stage: string) => faultPoint(stage, o.step);
  try {
    at('temp-created');
    // Model weights.
    saveSafetensors(path.join(tmp, 'model.safetensors'), o.model.stateDict(), { format: 'pt' });
    at('model-written');
    // Optimiser: tensors by `state.<i>.<name>`, scalars and groups in the JSON.
    const sd = o.optimizer.stateDict();
    const tensors: Record<string, Tensor> = {};
    const steps: Record<string, number> = {};
    const names: Record<string, string[]> = {};
    for (const [i, s] of Object.entries(sd.state)) {
      names[i] = [];
      for (const [k, v] of Object.entries(s)) {
        if (v instanceof Tensor) { tensors[`state.${i}.${k}`] = v; names[i].push(k); } else if (k === 'step') steps[i] = Number(v);
      }
    }
    saveSafetensors(path.join(tmp, 'optimizer.safetensors'), tensors);
    at('optimizer-written');
    // The default CPU generator.
    const rng = getRngState();
    try { saveSafetensors(path.join(tmp, 'rng.safetensors'), { cpu: rng }); } finally { rng.dispose(); }
    at('rng-written');

    const files: TrainerState['files'] = {};
    for (const f of FILES) {
      const p = path.join(tmp, f);
      files[f] = { bytes: fs.statSync(p).size, sha256: sha256(p) };
    }
    const state: TrainerState = {
      format: FORMAT, version: VERSION, step: o.step, extra: JSON.parse(extraJson),
      optimizer: { type: o.optimizer.constructor.name, param_groups: sd.param_groups, steps, tensors: names },
      schedule: o.schedule ? { type: o.schedule.constructor.name, state: o.schedule.stateDict() } : null,
      files, torch: { rng: 'cpu' },
    };
    const json = JSON.stringify(state, null, 1);
    writeFileAtomic(path.join(tmp, STATE_FILE), (fd) => writeAll(fd, Buffer.from(json, 'utf8')));
    fsyncDir(tmp);
    at('manifest-written');

    // Swap: the old checkpoint survives as <dir>.prev until the new one is in place.
    if (fs.existsSync(prev)) fs.rmSync(prev, { recursive: true, force: true });
    at('old-prev-removed');
    const hadOld = fs.existsSync(target);
    if (hadOld) fs.renameSync(target, prev);
    at('old-moved-to-prev');
    fs.renameSync(tmp, target);
    fsyncDir(parent);
    at('new-in-place');
    if (hadOld) fs.rmSync(prev, { recursive: true, force: true });
    at('prev-removed');
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

function readState(dir: string, op: string): TrainerState {
  const file = path.join(dir, STATE_FILE);
  if (!fs.existsSync(file)) fail(op, `${dir} holds no ${STATE_FILE} (not a checkpoint directory, or an incomplete one)`);
  requireRegularFile(file, (m) => new TorchError(`${op}: ${m}`, op));
  let raw: unknown;
  try { raw = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { return fail(op, `${file} is not valid JSON (${(e as Error).message}); the checkpoint is corrupt or truncated`); }
  const s = raw as TrainerState;
  if (s === null || typeof s !== 'object' || s.format !== FORMAT) fail(op, `${file} is not a ${FORMAT} manifest`);
  if (s.version !== VERSION) fail(op, `${file} has format version ${s.version}; this unimrg reads version ${VERSION}`);
  if (!Number.isSafeInteger(s.step) || s.step < 0) fail(op, `${file}: step must be a non-negative integer, got ${JSON.stringify(s.step)}`);
  const o = s.optimizer;
  if (!o || typeof o.type !== 'string' || !Array.isArray(o.param_groups) || typeof o.steps !== 'object' || typeof o.tensors !== 'object') {
    fail(op, `${file}: the optimizer entry is malformed`);
  }
  if (!s.files || typeof s.files !== 'object') fail(op, `${file}: the files entry is malformed`);
  for (const f of FILES) if (!s.files[f]) fail(op, `${file}: the manifest lists no ${f}`);
  return s;
}

/** One file of a checkpoint: present, of the recorded size and (with `verify`) hash, and readable. */
function checkFile(root: string, st: TrainerState, f: string, verify: boolean, op: string): void {
  const p = path.join(root, f);
  if (!fs.existsSync(p)) fail(op, `${p} is missing; the checkpoint is incomplete`);
  requireRegularFile(p, (m) => new TorchError(`${op}: ${m}`, op));
  const want = st.files[f];
  const size = fs.statSync(p).size;
  if (size !== want.bytes) fail(op, `${p} holds ${size} bytes, the manifest says ${want.bytes} (truncated or corrupt)`);
  if (verify && sha256(p) !== want.sha256) fail(op, `${p} does not match its SHA-256 in the manifest (corrupt)`);
  readSafetensorsHeader(p); // a structurally broken file fails here, before anything is loaded
}

/**
 * Checks a file against the manifest of the checkpoint that holds it (size and SHA-256), for
 * readers of a checkpoint's weights alone (`unimrg eval`, `--base`); a file outside a checkpoint
 * passes unchecked.
 */
export function verifyCheckpointFile(file: string): void {
  const root = path.dirname(path.resolve(file));
  const name = path.basename(file);
  if (!isCheckpointDir(root) || !(FILES as readonly string[]).includes(name)) return;
  checkFile(root, readState(root, 'verifyCheckpointFile'), name, true, 'verifyCheckpointFile');
}

/**
 * Restores a checkpoint written by saveCheckpoint into existing model / optimiser / schedule
 * objects (built as for the original run) and the default CPU generator. Everything is read and
 * checked before anything is changed. Returns the step and the user data.
 */
export function loadCheckpoint(dir: string, o: LoadCheckpointOptions): { step: number; extra: CheckpointExtra } {
  const op = 'loadCheckpoint';
  // A save interrupted between its two renames leaves the previous checkpoint at <dir>.prev.
  const root = fs.existsSync(dir) ? path.resolve(dir) : findCheckpoint(dir) ?? fail(op, `no checkpoint at ${path.resolve(dir)} (the directory does not exist)`);
  if (!fs.statSync(root).isDirectory()) fail(op, `${root} is not a directory`);
  const st = readState(root, op);

  // Files: present, the recorded size and (by default) the recorded hash.
  for (const f of FILES) checkFile(root, st, f, o.verify !== false, op);

  // Optimiser and schedule: the same kinds, the same layout.
  const opt = o.optimizer;
  if (st.optimizer.type !== opt.constructor.name) fail(op, `the checkpoint holds ${st.optimizer.type} state but the optimiser is ${opt.constructor.name}`);
  if (o.schedule) {
    if (!st.schedule) fail(op, 'a schedule was given but the checkpoint holds none');
    if (st.schedule!.type !== o.schedule.constructor.name) fail(op, `the checkpoint holds a ${st.schedule!.type} schedule but the schedule given is ${o.schedule.constructor.name}`);
    const ls = st.schedule!.state?.lastStep;
    if (!Number.isSafeInteger(ls) || ls < 0) fail(op, `the schedule state is malformed (lastStep ${JSON.stringify(ls)})`);
  }
  const groups = opt.paramGroups;
  if (st.optimizer.param_groups.length !== groups.length) {
    fail(op, `the checkpoint's optimiser has ${st.optimizer.param_groups.length} parameter groups, this one ${groups.length}`);
  }
  st.optimizer.param_groups.forEach((g, i) => {
    if (!Array.isArray(g.params) || g.params.length !== groups[i].params.length) {
      fail(op, `parameter group ${i} has ${g.params?.length} parameters in the checkpoint, ${groups[i].params.length} here`);
    }
  });
  const params = opt.params();
  const optFile = readSafetensorsHeader(path.join(root, 'optimizer.safetensors'));
  for (const [i, ks] of Object.entries(st.optimizer.tensors)) {
    const p = params[Number(i)];
    if (p === undefined) fail(op, `the optimiser state names parameter ${i}, which this optimiser does not have`);
    for (const k of ks) {
      const info = optFile.tensors[`state.${i}.${k}`];
      if (!info) fail(op, `optimizer.safetensors lacks state.${i}.${k}`);
      if (info.shape.length !== p.shape.length || info.shape.some((d, j) => d !== p.shape[j])) {
        fail(op, `optimiser state ${i}.${k} has shape [${info.shape}] but parameter ${i} has [${p.shape}] (a different model?)`);
      }
    }
  }

  // Read everything, then apply: the model first (its loadStateDict checks before copying).
  const model = loadSafetensors(path.join(root, 'model.safetensors'));
  const optTensors = loadSafetensors(path.join(root, 'optimizer.safetensors'));
  const rng = o.restoreRng === false ? null : loadSafetensors(path.join(root, 'rng.safetensors'), { names: ['cpu'] }).cpu;
  try {
    try {
      o.model.loadStateDict(model);
    } catch (e) {
      fail(op, `the model does not match the checkpoint: ${(e as Error).message}`);
    }
    const state: OptimizerState['state'] = {};
    for (const [i, ks] of Object.entries(st.optimizer.tensors)) {
      const entry: Record<string, Tensor | number> = { step: Number(st.optimizer.steps[i] ?? 0) };
      for (const k of ks) entry[k] = optTensors[`state.${i}.${k}`];
      state[Number(i)] = entry;
    }
    opt.loadStateDict({ state, param_groups: st.optimizer.param_groups });
    if (o.schedule && st.schedule) o.schedule.loadStateDict({ lastStep: st.schedule.state.lastStep });
    if (rng) setRngState(rng);
  } finally {
    for (const t of Object.values(model)) t.dispose();
    for (const t of Object.values(optTensors)) t.dispose();
    rng?.dispose();
  }
  return { step: st.step, extra: st.extra };
}
