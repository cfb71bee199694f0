// Exit codes of the command line, and the error that carries one: usage problems (bad flags,
// configs, paths) are 2, failures while running are 1, a run stopped by Ctrl-C after its
// checkpoint is 130 (the shell's convention for SIGINT).
import { BATCH_MODES, type BatchMode } from '../data/tasks/schedule';
import { type Device, isDevice } from '../torch/dtype';

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A number flag, or a UsageError naming the flag. */
export function numberFlag(name: string, v: string | undefined, o: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  const notInteger = o.integer === true && !Number.isSafeInteger(x);
  if (v.trim() === '' || !Number.isFinite(x) || notInteger || (o.min !== undefined && x < o.min) || (o.max !== undefined && x > o.max)) {
    const range = [o.min !== undefined ? `>= ${o.min}` : '', o.max !== undefined ? `<= ${o.max}` : ''].filter(Boolean).join(' and ');
    throw new UsageError(`--${name} must be ${o.integer ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}, got '${v}'`);
  }
  return x;
}

/** Turns RangeErrors (our validation) into usage errors; everything else stays a failure. */
export function asUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
}

/** --batch-mode of experiments: per-task (default, the published protocol), interleave or mixed. */
export function batchModeFlag(v: string | undefined): BatchMode | undefined {
  if (v !== undefined && !(BATCH_MODES as readonly string[]).includes(v)) throw new UsageError(`--batch-mode must be ${BATCH_MODES.join(', ')}, got '${v}'`);
  return v as BatchMode | undefined;
}

/** --device: cpu, cuda or cuda:N. */
export function deviceFlag(v: string | undefined): Device | undefined {
  if (v !== undefined && !isDevice(v)) throw new UsageError(`--device must be cpu, cuda or cuda:N, got '${v}'`);
  return v;
}

/** --progress: bar, lines or none (undefined: the default for the terminal). */
export function progressFlag(v: string | undefined): 'bar' | 'lines' | 'none' | undefined {
  if (v !== undefined && !['bar', 'lines', 'none'].includes(v)) throw new UsageError(`--progress must be bar, lines or none, got '${v}'`);
  return v as 'bar' | 'lines' | 'none' | undefined;
}
