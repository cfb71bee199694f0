// `unimrg train`: a config file and/or flags → a validated TrainConfig → training in a worker
// thread with a progress bar; Ctrl-C saves a checkpoint and exits 130.
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { TASKS } from '../data/tasks/kinds';
import { MAX_BATCH, MAX_WORKERS, parseTrainConfig, type TrainConfig, type TrainConfigInput } from '../unimrg/config';
import { makeDirs } from '../io/dirs';
import { checkRunDir } from '../unimrg/run-dir';
import { codecConfig } from '../adapters/registry';
import { readAdapterSpec } from '../unimrg/run-model';
import { trainInWorker } from '../unimrg/run';
import { asUsage, EXIT, numberFlag, progressFlag, UsageError } from './errors';
import { launch, MAX_NPROC } from './launch';

export interface TrainFlags {
  config?: string; family?: string; preset?: string; steps?: string; batchSize?: string; mode?: string; accumulate?: string;
  lr?: string; weights?: string; tasks?: string; base?: string; codec?: string; out?: string; resume?: boolean; seed?: string;
  device?: string; evalEvery?: string; checkpointEvery?: string; workers?: string; count?: string; maxTurns?: string; progress?: string; nproc?: string;
  zero?: boolean; tokenizer?: string; overwrite?: boolean;
}

/** The preset and model overrides name a model (unless a base run brings its own). */
function checkPreset(c: TrainConfig): void {
  if (c.base !== undefined && readAdapterSpec(c.base) !== undefined) return;
  codecConfig(c.family, c.preset, c.model);
}

/** The command line without --nproc (each rank runs the same training command). */
export function withoutNproc(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--nproc') { i++; continue; }
    if (args[i].startsWith('--nproc=')) continue;
    out.push(args[i]);
  }
  return out;
}

/** Reads a JSON config file (or throws a UsageError saying what is wrong with it). */
export function readJsonConfig(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) throw new UsageError(`config file not found: ${file}`);
  if (!fs.statSync(file).isFile()) throw new UsageError(`config file ${file} is not a regular file`);
  let c: unknown;
  try {
    c = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new UsageError(`config file ${file} must hold a JSON object, not ${c === null ? 'null' : Array.isArray(c) ? 'an array' : typeof c}`);
  return c as Record<string, unknown>;
}

function perTaskFlag(name: string, v: string): Record<string, number> {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.length !== TASKS.length) throw new UsageError(`--${name} takes ${TASKS.length} comma-separated numbers (${TASKS.join(', ')}), got '${v}'`);
  return Object.fromEntries(TASKS.map((t, i) => [t, numberFlag(name, parts[i], { min: 0 })!]));
}

function tasksFlag(v: string): Record<string, number> {
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError(`--tasks names no task (expected a comma-separated list of ${TASKS.join(', ')})`);
  for (const n of names) if (!(TASKS as readonly string[]).includes(n)) throw new UsageError(`--tasks: unknown task '${n}' (expected ${TASKS.join(', ')})`);
  return Object.fromEntries(TASKS.map((t) => [t, names.includes(t) ? 1 : 0]));
}

/** Flags over the config file over the defaults. */
export function configFromFlags(f: TrainFlags): TrainConfigInput {
  const c: Record<string, any> = f.config ? readJsonConfig(f.config) : {}; // eslint-disable-line @typescript-eslint/no-explicit-any
  const set = (obj: string, key: string, v: unknown) => { if (v !== undefined) c[obj] = { ...(c[obj] ?? {}), [key]: v }; };
  if (f.family) c.family = f.family;
  if (f.preset) c.preset = f.preset;
  if (f.base) c.base = f.base;
  if (f.codec) c.codec = f.codec;
  if (f.tokenizer) set('data', 'tokenizer', { path: f.tokenizer });
  if (f.out) c.out = f.out;
  if (f.device) c.device = f.device;
  c.steps = numberFlag('steps', f.steps, { integer: true, min: 1 }) ?? c.steps;
  c.seed = numberFlag('seed', f.seed, { integer: true, min: 0 }) ?? c.seed;
  c.evalEvery = numberFlag('eval-every', f.evalEvery, { integer: true, min: 0 }) ?? c.evalEvery;
  c.checkpointEvery = numberFlag('checkpoint-every', f.checkpointEvery, { integer: true, min: 0 }) ?? c.checkpointEvery;
  set('batch', 'size', numberFlag('batch-size', f.batchSize, { integer: true, min: 1, max: MAX_BATCH }));
  set('batch', 'mode', f.mode);
  set('batch', 'accumulate', numberFlag('accumulate', f.accumulate, { integer: true, min: 1, max: MAX_BATCH }));
  set('optim', 'lr', numberFlag('lr', f.lr, { min: 0 }));
  if (f.zero) set('optim', 'zero', true);
  set('data', 'workers', numberFlag('workers', f.workers, { integer: true, min: 0, max: MAX_WORKERS }));
  set('data', 'count', numberFlag('count', f.count, { integer: true, min: 1 }));
  set('data', 'maxTurns', numberFlag('max-turns', f.maxTurns, { integer: true, min: 1 }));
  if (f.weights !== undefined) set('tasks', 'weights', perTaskFlag('weights', f.weights));
  if (f.tasks !== undefined) set('tasks', 'ratios', tasksFlag(f.tasks));
  return c as TrainConfigInput;
}

export function addTrainCommand(cli: Command): void {
  cli.command('train')
    .description('post-train a unified multimodal model with UniMRG (all four tasks by default)')
    .option('-c, --config <file>', 'a JSON training configuration (flags override it)')
    .option('--family <name>', 'autoregressive-vq | mar-diffusion | query-diffusion')
    .option('--preset <name>', 'model size preset (tiny, small, or the published one)')
    .option('--base <dir>', 'start from this run directory / checkpoint')
    .option('--codec <file>', 'the fitted image codec (unimrg tokenizer)')
    .option('--tokenizer <path>', 'a Hugging Face tokenizer.json (or its folder) for the text (default: the scenes\' word tokenizer)')
    .option('--steps <n>', 'optimiser steps')
    .option('--batch-size <n>', 'samples per micro-batch')
    .option('--mode <mode>', 'task batching: per-task (published: one micro-batch of every task per step) | interleave | mixed')
    .option('--accumulate <n>', 'micro-batches per step (per-task: per task and step)')
    .option('--lr <x>', 'peak learning rate')
    .option('--weights <u,r,d,s>', 'loss weight per task (understanding, reconstruction, depth, segmentation)')
    .option('--tasks <list>', 'tasks to train, e.g. understanding,depth (the others get ratio 0)')
    .option('--count <n>', 'training scenes')
    .option('--max-turns <n>', 'question-answer turns per understanding sample (default: the whole conversation)')
    .option('--workers <n>', 'data loader threads')
    .option('--eval-every <n>', 'evaluate every n steps')
    .option('--checkpoint-every <n>', 'checkpoint every n steps')
    .option('--seed <n>', 'seed')
    .option('--device <d>', 'cpu | cuda | cuda:N')
    .option('-o, --out <dir>', 'run directory')
    .option('--resume', 'continue from the run directory\'s checkpoint')
    .option('--overwrite', 'replace the run already in the output directory (its metrics and checkpoints are deleted)')
    .option('--progress <kind>', 'bar | lines | none')
    .option('--nproc <n>', 'data-parallel processes on this machine (as unimrg launch --nproc n)')
    .option('--zero', "with --nproc: shard the optimiser's state over the processes (ZeRO stage 1)")
    .action(async (f: TrainFlags, cmd: Command) => {
      const input = configFromFlags(f);
      const config = asUsage(() => parseTrainConfig(input));
      // Everything that can be checked before a rank or a thread starts is a usage error, exit 2.
      asUsage(() => checkPreset(config));
      asUsage(() => checkRunDir(config.out, { resume: f.resume, overwrite: f.overwrite }));
      if (Number(process.env.RANK ?? '0') === 0) asUsage(() => makeDirs(config.out, '--out')); // an uncreatable -o fails now, not after the model is built
      if (config.base !== undefined && !fs.existsSync(config.base)) throw new UsageError(`--base: ${config.base} does not exist`);
      if (config.codec !== undefined && !fs.existsSync(config.codec)) throw new UsageError(`--codec: ${config.codec} does not exist`);
      const tok = config.data.tokenizer;
      if (tok !== undefined && !fs.existsSync(tok.path)) throw new UsageError(`--tokenizer: ${tok.path} does not exist`);
      progressFlag(f.progress);
      const nproc = numberFlag('nproc', f.nproc, { integer: true, min: 1, max: MAX_NPROC }) ?? 1;
      if (nproc > 1) {
        // Re-run this very command once per rank with torchrun's environment.
        const raw = (cmd.parent as unknown as { rawArgs: string[] }).rawArgs;
        process.exitCode = await launch({ nproc, masterPort: 0 }, [process.execPath, ...process.execArgv, process.argv[1], ...withoutNproc(raw.slice(2))]);
        return;
      }
      const rank = Number(process.env.RANK ?? '0');
      const progress = rank === 0 ? f.progress as 'bar' | undefined : 'none';
      const r = await trainInWorker(input, { resume: f.resume, overwrite: f.overwrite, progress });
      if (rank === 0) console.log(`${r.stopped ? 'stopped' : 'finished'} at step ${r.step}; checkpoint: ${r.checkpoint}`);
      if (r.stopped) process.exitCode = EXIT.interrupted;
    });
}
