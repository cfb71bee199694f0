// Exit codes of the command line, and the error that carries one: usage problems (bad flags,
// configs, paths) are 2, failures while running are 1, a run stopped by Ctrl-C after its
// checkpoint is 130 (the shell's convention for SIGINT).
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A number flag, or a UsageError naming the flag. */
export function numberFlag(name: string, v: string | undefined, o: { integer?: boolean; min?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || (o.integer && !Number.isInteger(x)) || (o.min !== undefined && x < o.min)) {
    throw new UsageError(`--${name} must be ${o.integer ? 'an integer' : 'a number'}${o.min !== undefined ? ` >= ${o.min}` : ''}, got '${v}'`);
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
