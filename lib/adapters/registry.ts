// adapters.create(family, preset, overrides): a family's module is loaded on first use, so a
// program that trains one family never builds the others.
import type { CodecConfig } from './codecs';
import { FAMILIES, type Adapter, type CreateOptions, type Family, type FamilyDefinition } from './types';

const loaded = new Map<Family, FamilyDefinition>();

export function checkFamily(f: string): Family {
  if (!(FAMILIES as readonly string[]).includes(f)) throw new RangeError(`unknown adapter family '${f}' (expected ${FAMILIES.join(', ')})`);
  return f as Family;
}

/** The definition (presets, config validation, constructor) of a family. */
export function family(name: Family | string): FamilyDefinition {
  const f = checkFamily(name);
  let d = loaded.get(f);
  if (d === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    d = (require(`./${f}`) as { definition: FamilyDefinition }).definition;
    loaded.set(f, d);
  }
  return d;
}

/** Preset names per family. */
export function presets(f: Family | string): string[] {
  return Object.keys(family(f).presets);
}

/** A family's preset with config fields overridden, validated. */
function resolved(f: Family | string, preset: string, overrides: Record<string, unknown>): [FamilyDefinition, object] {
  const d = family(f);
  if (!(preset in d.presets)) throw new RangeError(`unknown ${f} preset '${preset}' (expected ${Object.keys(d.presets).join(', ')})`);
  return [d, d.resolveConfig(preset, overrides)];
}

/** An adapter of `family` from a preset, with config fields overridden. */
export function create(f: Family | string, preset = 'tiny', overrides: Record<string, unknown> = {}, opts: CreateOptions = {}): Adapter {
  const [d, config] = resolved(f, preset, overrides);
  return d.create(config, opts);
}

/** The image codec shape a preset's model needs, without building the model. */
export function codecConfig(f: Family | string, preset = 'tiny', overrides: Record<string, unknown> = {}): CodecConfig {
  const [d, config] = resolved(f, preset, overrides);
  return d.codecConfig(config);
}
