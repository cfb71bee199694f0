// adapter.json, read with every failure naming the file and the field at fault: a run directory
// is often copied, edited by hand or cut short, and `JSON.parse(...) as AdapterSpec` let a
// garbage file surface later as an error about neither.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { FAMILIES } from '../adapters/types';
import { requireRegularFile } from '../io/regular-file';
import type { Family } from '../adapters/types';

/** What a run directory records about its model, so that eval and later runs rebuild it. */
export interface AdapterSpec {
  family: Family;
  preset: string;
  model: Record<string, unknown>;
  /**
   * A Hugging Face text tokenizer (absent: the scenes' word tokenizer). In adapter.json `file` is
   * relative to the run directory (the trainer copies it in); readAdapterSpec makes it absolute.
   */
  tokenizer?: { file: string; pad?: string; eos?: string };
}

/** What the trainer writes (see Trainer.setup); unknown fields are refused, as in the config. */
const AdapterSpecSchema = z.object({
  family: z.enum(FAMILIES),
  preset: z.string().min(1),
  model: z.record(z.unknown()).default({}),
  tokenizer: z.object({ file: z.string().min(1), pad: z.string().optional(), eos: z.string().optional() }).strict().optional(),
}).strict();

function fieldOf(issue: z.ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return [...issue.path, issue.keys[0]].join('.');
  return issue.path.length === 0 ? '(the top level)' : issue.path.join('.');
}

/**
 * The adapter spec in `file`, validated; `tokenizer.file` is made absolute (it is relative to
 * the file's folder, where the trainer copies the tokenizer). Every problem is a RangeError
 * naming the file (and the field).
 */
export function parseAdapterSpecFile(file: string): AdapterSpec {
  const bad = (why: string): never => { throw new RangeError(`adapter spec ${file}: ${why}`); };
  requireRegularFile(file, (m) => new RangeError(`adapter spec: ${m}`));
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return bad(`not valid JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return bad(`must be a JSON object with family, preset and model, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`);
  }
  const r = AdapterSpecSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    return bad(`field '${fieldOf(issue)}': ${issue.message}`);
  }
  const spec: AdapterSpec = r.data;
  if (spec.tokenizer) spec.tokenizer = { ...spec.tokenizer, file: path.resolve(path.dirname(file), spec.tokenizer.file) };
  return spec;
}
