// The base models shipped in the package (bases/<family>/): pre-trained on understanding +
// reconstruction by `npm run make-bases`, so that `npm start` and `unimrg experiment` post-train a
// model that already answers instead of pre-training one on the user's machine. Each folder holds
// adapter.json, model.safetensors and base.json (the recipe, wall time and metrics);
// bases/SHA256SUMS lists every file's digest.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Family } from '../adapters/types';

/** The package's bases/ folder (the same from lib/ under tsx and from dist/ when built). */
export const BASES_DIR = path.resolve(__dirname, '..', '..', 'bases');
export const CHECKSUMS_FILE = 'SHA256SUMS';
export const RECIPE_FILE = 'base.json';

/** What base.json records beside a shipped base. */
export interface BaseRecord {
  family: Family;
  preset: string;
  /** The command that made the folder, and the training configuration it ran. */
  command: string;
  config: Record<string, unknown>;
  seed: number;
  steps: number;
  /** Wall time of the codec fit and the pre-training, and the machine they ran on. */
  seconds: { codec: number; training: number };
  machine: string;
  date: string;
  parameters: number;
  /** Understanding accuracy (exact match) per split, on `scenes` scenes of each. */
  evaluation: { scenes: number; splits: Record<string, { accuracy: number; questions: number; byCategory: Record<string, number> }> };
}

export const baseDir = (family: Family, root = BASES_DIR) => path.join(root, family);

/** The shipped base of a family, or undefined when the package has none. */
export function shippedBase(family: Family, root = BASES_DIR): string | undefined {
  const dir = baseDir(family, root);
  return fs.existsSync(path.join(dir, 'model.safetensors')) ? dir : undefined;
}

export const sha256File = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** SHA256SUMS lines ("<hex>  <family>/<file>"), as sha256sum -c reads them. */
export function readChecksums(root = BASES_DIR): Map<string, string> {
  const file = path.join(root, CHECKSUMS_FILE);
  const sums = new Map<string, string>();
  fs.readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
    if (m === null) throw new RangeError(`${file}:${i + 1}: not a "<sha256>  <path>" line`);
    sums.set(m[2], m[1]);
  });
  return sums;
}

/** Rewrites SHA256SUMS from the files of every base folder under root. */
export function writeChecksums(root = BASES_DIR): void {
  const lines: string[] = [];
  for (const family of fs.readdirSync(root).sort()) {
    const dir = path.join(root, family);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const f of fs.readdirSync(dir).sort()) lines.push(`${sha256File(path.join(dir, f))}  ${family}/${f}`);
  }
  fs.writeFileSync(path.join(root, CHECKSUMS_FILE), `${lines.join('\n')}\n`);
}

/** Refuses a shipped base whose files are missing, extra or differ from SHA256SUMS, naming the file. */
export function verifyShippedBase(dir: string): void {
  const root = path.dirname(dir);
  const family = path.basename(dir);
  const sums = readChecksums(root);
  const listed = [...sums.keys()].filter((k) => k.startsWith(`${family}/`));
  if (listed.length === 0) throw new RangeError(`${path.join(root, CHECKSUMS_FILE)} lists no files of ${family}`);
  for (const f of fs.readdirSync(dir)) {
    if (!sums.has(`${family}/${f}`)) throw new RangeError(`${path.join(dir, f)} is not listed in ${path.join(root, CHECKSUMS_FILE)}`);
  }
  for (const rel of listed) {
    const file = path.join(root, rel);
    if (!fs.existsSync(file)) throw new RangeError(`the shipped base file ${file} is missing (listed in ${CHECKSUMS_FILE})`);
    const got = sha256File(file);
    if (got !== sums.get(rel)) throw new RangeError(`the shipped base file ${file} is corrupt: SHA-256 ${got}, ${CHECKSUMS_FILE} says ${sums.get(rel)}`);
  }
}

export function readBaseRecord(dir: string): BaseRecord {
  return JSON.parse(fs.readFileSync(path.join(dir, RECIPE_FILE), 'utf8')) as BaseRecord;
}
