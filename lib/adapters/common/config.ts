// How every family turns a preset and overrides into a checked config: the same merge (one level
// deep for field groups such as query-diffusion's `llm`), the same unknown-field rule and the same
// error, a RangeError that names every bad field at once.
import type { Family } from '../types';

type Problems<C> = (c: C) => string[];

const isGroup = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Presets frozen all the way down: a caller cannot change a preset through a returned config. */
export function freezePresets<C extends object>(presets: Record<string, C>): Readonly<Record<string, C>> {
  const deepFreeze = (o: object): void => {
    for (const v of Object.values(o)) if (isGroup(v)) deepFreeze(v);
    Object.freeze(o);
  };
  deepFreeze(presets);
  return presets;
}

/** A config copied from `base` with `overrides` merged in; unknown fields are reported, not kept. */
function merge(base: object, overrides: Record<string, unknown>, problems: string[]): Record<string, unknown> {
  const out = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in out)) { problems.push(`unknown field '${k}'`); continue; }
    const group = out[k];
    if (!isGroup(group)) { out[k] = v; continue; }
    if (!isGroup(v)) { problems.push(`${k} must be an object of fields, got ${JSON.stringify(v)}`); continue; }
    for (const [g, gv] of Object.entries(v)) {
      if (!(g in group)) problems.push(`unknown field '${k}.${g}'`);
      else group[g] = gv;
    }
  }
  return out;
}

/** `presets[preset]` overridden by `overrides`, checked by `problemsOf`. */
export function resolvePreset<C extends object>(family: Family, presets: Readonly<Record<string, C>>, preset: string,
  overrides: unknown, problemsOf: Problems<C>): C {
  const base = presets[preset];
  if (base === undefined) throw new RangeError(`unknown ${family} preset '${preset}' (expected ${Object.keys(presets).join(', ')})`);
  if (!isGroup(overrides)) throw new RangeError(`${family} overrides must be an object of config fields, got ${JSON.stringify(overrides)}`);
  const problems: string[] = [];
  const c = merge(base, overrides, problems) as C;
  problems.push(...problemsOf(c));
  if (problems.length > 0) throw new RangeError(`invalid ${family} config (preset '${preset}'): ${problems.join('; ')}`);
  return c;
}

/** Checks a config built by hand (not through resolveConfig) before a model is built from it. */
export function checkedConfig<C extends object>(family: Family, c: C, problemsOf: Problems<C>): C {
  if (!isGroup(c)) throw new RangeError(`${family}: a config must be an object, got ${JSON.stringify(c)}`);
  const problems = problemsOf(c);
  if (problems.length > 0) throw new RangeError(`invalid ${family} config: ${problems.join('; ')}`);
  return c;
}
