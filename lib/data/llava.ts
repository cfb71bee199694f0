// Real-image datasets in LLaVA's JSON format, with optional depth and mask folders that mirror
// the image folder (the layout of UniMRG's released data):
//   data.json   [{ "id": "...", "image": "coco/000001.jpg",
//                  "conversations": [{ "from": "human", "value": "<image>\n…" }, { "from": "gpt", "value": "…" }, …] }]
//   images/coco/000001.jpg   depth/coco/000001.png   mask/coco/000001.png
// Missing or corrupt files never stop a run: they are reported (onProblem), counted, and the
// record is skipped (image) or loses that target (depth, mask). A conversation longer than the
// batcher's maxSequenceLength is reported too ('too-long') and left out of the tasks it is too
// long for.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRegularFileAsync } from '../io/regular-file';
import { readImage, readLabel } from './image-io';
import { ndarray, type NDArray } from './ndarray';
import type { TaskKind } from './tasks/kinds';
import { type DataRecord, needsDepth, needsSegmentation, type RecordSource, type Turn } from './tasks/records';
import { boundaries, depthTarget } from './targets';

export interface LlavaEntry {
  id?: string | number;
  image?: string;
  conversations: { from: string; value: string }[];
}

export const PROBLEM_KINDS = [
  'bad-entry', 'no-image', 'missing-image', 'corrupt-image', 'missing-depth', 'corrupt-depth', 'missing-mask', 'corrupt-mask', 'too-long',
] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

export interface Problem {
  /** Index of the entry in the JSON list. */
  entry: number;
  id: string;
  kind: ProblemKind;
  path?: string;
  message: string;
}

export interface LlavaOptions {
  /** The JSON file, or its parsed entries. */
  json: string | unknown[];
  /** Folder the entries' image paths are relative to. */
  imageRoot: string;
  /** Folder of depth maps mirroring the image paths (same stem; .png, .jpg, .jpeg or .webp). */
  depthRoot?: string;
  /** Folder of segmentation maps mirroring the image paths. */
  maskRoot?: string;
  /**
   * What depth files hold: 'disparity' (default; near bright, a teacher's output or UniMRG's
   * released maps) or 'depth' (near dark, e.g. metric depth in a 16-bit PNG). Either way the
   * target is min-max normalised per image, near = +1.
   */
  depthFiles?: 'disparity' | 'depth';
  /** What mask files hold: 'boundaries' (default; white on black) or 'instances' (an id per pixel). */
  maskFiles?: 'boundaries' | 'instances';
  /** Called once per problem (default: nothing; see problems / counts()). */
  onProblem?: (p: Problem) => void;
}

interface Entry {
  index: number;
  id: string;
  image: string;
  turns: Turn[];
}

const LABEL_EXTS = ['.png', '.jpg', '.jpeg', '.webp'];

function parseEntry(e: unknown, index: number): Entry | Problem {
  const bad = (message: string, id = String(index)): Problem => ({ entry: index, id, kind: 'bad-entry', message });
  if (e === null || typeof e !== 'object') return bad('not an object');
  const o = e as Record<string, unknown>;
  const id = o.id === undefined ? String(index) : String(o.id);
  if (!Array.isArray(o.conversations)) return bad('no conversations list', id);
  const conv = o.conversations as unknown[];
  const turns: Turn[] = [];
  for (let i = 0; i < conv.length; i += 2) {
    const q = conv[i] as { from?: unknown; value?: unknown } | undefined;
    const a = conv[i + 1] as { from?: unknown; value?: unknown } | undefined;
    if (q?.from !== 'human' || typeof q.value !== 'string') return bad(`turn ${i} is not a human message`, id);
    if (a?.from !== 'gpt' || typeof a.value !== 'string') return bad(`turn ${i + 1} is not a gpt message`, id);
    turns.push({ user: q.value, assistant: a.value });
  }
  if (turns.length === 0) return bad('empty conversation', id);
  if (typeof o.image !== 'string' || o.image === '') return { entry: index, id, kind: 'no-image', message: 'text-only entry (UniMRG needs an image)' };
  return { index, id, image: o.image, turns };
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.promises.access(file, fs.constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

export class LlavaDataset implements RecordSource {
  readonly problems: Problem[] = [];
  private readonly seen = new Set<string>();

  private constructor(private readonly entries: Entry[], private readonly o: LlavaOptions) {}

  /** Reads and checks the JSON; malformed and text-only entries are reported and left out. */
  static async open(o: LlavaOptions): Promise<LlavaDataset> {
    if (typeof o.imageRoot !== 'string') throw new RangeError('imageRoot is required');
    let raw: unknown;
    if (typeof o.json === 'string') {
      await requireRegularFileAsync(o.json, (m) => new Error(`LLaVA data: ${m}`));
      const text = await fs.promises.readFile(o.json, 'utf8');
      try {
        raw = JSON.parse(text);
      } catch (e) {
        throw new Error(`cannot parse ${o.json}: ${(e as Error).message}`);
      }
    } else {
      raw = o.json;
    }
    if (!Array.isArray(raw)) throw new RangeError(`a LLaVA dataset is a JSON list of entries${typeof o.json === 'string' ? ` (${o.json})` : ''}`);
    const entries: Entry[] = [];
    const early: Problem[] = [];
    raw.forEach((e, i) => {
      const p = parseEntry(e, i);
      if ('kind' in p) early.push(p);
      else entries.push(p);
    });
    const ds = new LlavaDataset(entries, o);
    for (const p of early) ds.report(p);
    return ds;
  }

  get length(): number { return this.entries.length; }

  /** Problems by kind. */
  counts(): Record<ProblemKind, number> {
    const c = Object.fromEntries(PROBLEM_KINDS.map((k) => [k, 0])) as Record<ProblemKind, number>;
    for (const p of this.problems) c[p.kind]++;
    return c;
  }

  private report(p: Problem): void {
    const key = `${p.entry}/${p.kind}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.problems.push(p);
    this.o.onProblem?.(p);
  }

  /** The batcher passes over record i (its sample is longer than maxSequenceLength). */
  reportUnusable(i: number, kind: 'too-long', message: string): void {
    const e = this.entries[i];
    if (e === undefined) throw new RangeError(`entry ${i} outside [0, ${this.entries.length})`);
    this.report({ entry: e.index, id: e.id, kind, path: typeof this.o.json === 'string' ? this.o.json : undefined, message });
  }

  /** The first existing file mirroring `rel` under root: the same path, then the stem with label extensions. */
  private async mirror(root: string, rel: string): Promise<string | undefined> {
    const stem = rel.slice(0, rel.length - path.extname(rel).length);
    for (const cand of [rel, ...LABEL_EXTS.map((e) => stem + e)]) {
      const f = path.join(root, cand);
      if (await exists(f)) return f;
    }
    return undefined;
  }

  /** The record of entry i; labels the task does not use are not read (all of them without a task). */
  async get(i: number, task?: TaskKind): Promise<DataRecord | null> {
    const e = this.entries[i];
    if (e === undefined) throw new RangeError(`entry ${i} outside [0, ${this.entries.length})`);
    const imgPath = path.join(this.o.imageRoot, e.image);
    let image;
    try {
      image = await readImage(imgPath);
    } catch (err) {
      // sharp's "Input file is missing" carries no errno: look at the file itself
      const kind = (await exists(imgPath)) ? 'corrupt-image' : 'missing-image';
      this.report({ entry: e.index, id: e.id, kind, path: imgPath, message: (err as Error).message });
      return null;
    }
    const rec: DataRecord = { id: e.id, image, conversation: e.turns };
    if (this.o.depthRoot !== undefined && needsDepth(task)) {
      const f = await this.mirror(this.o.depthRoot, e.image);
      if (f === undefined) {
        this.report({ entry: e.index, id: e.id, kind: 'missing-depth', path: path.join(this.o.depthRoot, e.image), message: 'no depth map' });
      } else {
        try {
          const map = await readLabel(f);
          rec.depth = depthTarget(map, this.o.depthFiles === 'depth' ? { kind: 'depth', space: 'linear' } : { kind: 'disparity' });
        } catch (err) {
          this.report({ entry: e.index, id: e.id, kind: 'corrupt-depth', path: f, message: (err as Error).message });
        }
      }
    }
    if (this.o.maskRoot !== undefined && needsSegmentation(task)) {
      const f = await this.mirror(this.o.maskRoot, e.image);
      if (f === undefined) {
        this.report({ entry: e.index, id: e.id, kind: 'missing-mask', path: path.join(this.o.maskRoot, e.image), message: 'no mask' });
      } else {
        try {
          rec.segmentation = maskTarget(await readLabel(f), this.o.maskFiles ?? 'boundaries');
        } catch (err) {
          this.report({ entry: e.index, id: e.id, kind: 'corrupt-mask', path: f, message: (err as Error).message });
        }
      }
    }
    return rec;
  }
}

function maskTarget(map: NDArray<'uint8'> | NDArray<'uint16'>, kind: 'boundaries' | 'instances'): NDArray<'uint8'> {
  const [, h, w] = map.shape;
  if (kind === 'instances') {
    const b = boundaries(ndarray('int32', [h, w], Int32Array.from(map.data as ArrayLike<number>)));
    return ndarray('uint8', [1, h, w], b.data);
  }
  if (kind !== 'boundaries') throw new RangeError(`maskFiles must be 'boundaries' or 'instances', got '${kind}'`);
  if (map.dtype === 'uint8') return map as NDArray<'uint8'>;
  return ndarray('uint8', [1, h, w], Uint8Array.from(map.data as Uint16Array, (v) => v >> 8));
}
