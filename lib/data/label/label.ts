// Labelling an image folder with teachers: depth maps into <out>/depth/ and boundary maps into
// <out>/mask/, mirroring the relative image paths with a .png extension (the layout
// data.LlavaDataset reads: images/coco/1.jpg → depth/coco/1.png, mask/coco/1.png). By default
// <out> is the folder holding the image folder, so images, depth and mask sit side by side.
// Resumable: an image whose outputs exist is skipped (files are written to a temporary name and
// renamed, so an interrupted run never leaves a half-written PNG that looks finished).
// Batched on the teacher's device; unreadable images are reported and skipped.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRegularFile } from '../../io/regular-file';
import { torch } from '../../torch';
import { load as loadScript } from '../../torch/jit';
import { encodeImage, readImage } from '../image-io';
import { type ImageU8, ndarray } from '../ndarray';
import type { Normalization, NormalizationName } from '../preprocess';
import { DepthTeacher, depthImage, SegmentationTeacher } from './teachers';
import { makeDirs } from '../../io/dirs';

/** Image files the labeller looks at (what sharp decodes). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif'];

export interface LabelProblem {
  /** Path relative to the image folder. */
  image: string;
  kind: 'corrupt-image' | 'duplicate-stem';
  message: string;
}

export interface LabelProgress {
  /** Images finished so far (labelled, skipped as done, or failed). */
  done: number;
  total: number;
  labelled: number;
  skipped: number;
  failed: number;
}

export interface LabelOptions {
  /** The image folder (searched recursively). */
  images: string;
  /** Where depth/ and mask/ go (default: the folder holding `images`). */
  out?: string;
  /** A TorchScript file or a loaded teacher; at least one of the two. */
  depthTeacher?: string | DepthTeacher;
  segTeacher?: string | SegmentationTeacher;
  /** Images per forward (default 4). */
  batchSize?: number;
  /** Where teachers loaded from files run (default: 'cuda' when available, else 'cpu'). */
  device?: string;
  /** Input side of the depth teacher (default 518 = 37 x 14, Depth Anything V2). */
  size?: number;
  /** Input side of the segmentation teacher (default 1024, SAM). */
  segSize?: number;
  /** Input statistics for both teachers (default 'imagenet'). */
  normalization?: NormalizationName | Normalization;
  /** See SegmentationTeacherOptions.maskThreshold (default 0: logits). */
  maskThreshold?: number;
  /**
   * Pad the last, short batch to `batchSize` (copies of its last image) so that teachers traced
   * with that batch size run on it (default true; applies to teachers loaded from files).
   */
  padLastBatch?: boolean;
  /** Depth PNG sample depth (default 16; 8 writes what Depth Anything's run.py writes, rounded). */
  depthBits?: 8 | 16;
  onProgress?: (p: LabelProgress) => void;
  onProblem?: (p: LabelProblem) => void;
}

export interface LabelResult extends LabelProgress {
  depthRoot?: string;
  maskRoot?: string;
  problems: LabelProblem[];
  seconds: number;
}

/** Image paths under root, relative, sorted; `exclude` folders (absolute) are not entered. */
export function listImages(root: string, exclude: readonly string[] = []): string[] {
  const out: string[] = [];
  const skip = new Set(exclude.map((d) => path.resolve(d)));
  const walk = (dir: string, rel: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.name.startsWith('.')) continue;
      const abs = path.join(dir, e.name);
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (!skip.has(path.resolve(abs))) walk(abs, r);
      } else if (e.isFile() && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) {
        out.push(r);
      }
    }
  };
  walk(root, '');
  return out;
}

/** The label file of an image: the relative path with a .png extension under root. */
export function labelPath(root: string, rel: string): string {
  return path.join(root, rel.slice(0, rel.length - path.extname(rel).length) + '.png');
}

async function writeAtomic(file: string, data: Buffer): Promise<void> {
  makeDirs(path.dirname(file), 'label output');
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.promises.writeFile(tmp, data);
  await fs.promises.rename(tmp, file);
}

function defaultDevice(): string {
  return torch.cuda.isAvailable() ? 'cuda' : 'cpu';
}

/** Labels every image of a folder that lacks an output; see the file comment. */
export async function labelImages(o: LabelOptions): Promise<LabelResult> {
  const t0 = Date.now();
  if (o.depthTeacher === undefined && o.segTeacher === undefined) throw new RangeError('label: give a depth teacher, a segmentation teacher, or both');
  const batchSize = o.batchSize ?? 4;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`label: batch size must be a positive integer, got ${batchSize}`);
  const bits = o.depthBits ?? 16;
  if (bits !== 8 && bits !== 16) throw new RangeError(`label: depth PNGs are 8 or 16 bits, got ${bits}`);
  if (!fs.existsSync(o.images) || !fs.statSync(o.images).isDirectory()) throw new RangeError(`label: no such image folder: ${o.images}`);
  const out = o.out ?? path.dirname(path.resolve(o.images));
  const depthRoot = o.depthTeacher !== undefined ? path.join(out, 'depth') : undefined;
  const maskRoot = o.segTeacher !== undefined ? path.join(out, 'mask') : undefined;
  for (const t of [o.depthTeacher, o.segTeacher]) {
    if (typeof t === 'string') requireRegularFile(t, (m) => new RangeError(`label: teacher file: ${m}`));
  }

  // Which images need which output (stems must be unique: a.jpg and a.png would share a.png).
  const problems: LabelProblem[] = [];
  const report = (p: LabelProblem) => { problems.push(p); o.onProblem?.(p); };
  const all = listImages(o.images, [depthRoot, maskRoot].filter((d): d is string => d !== undefined));
  const stems = new Set<string>();
  interface Job { rel: string; depth: boolean; mask: boolean }
  const jobs: Job[] = [];
  let skipped = 0, failed = 0;
  for (const rel of all) {
    const stem = rel.slice(0, rel.length - path.extname(rel).length);
    if (stems.has(stem)) {
      report({ image: rel, kind: 'duplicate-stem', message: `another image has the stem '${stem}': its labels would share ${stem}.png` });
      failed++;
      continue;
    }
    stems.add(stem);
    const depth = depthRoot !== undefined && !fs.existsSync(labelPath(depthRoot, rel));
    const mask = maskRoot !== undefined && !fs.existsSync(labelPath(maskRoot, rel));
    if (depth || mask) jobs.push({ rel, depth, mask }); else skipped++;
  }
  const progress: LabelProgress = { done: skipped + failed, total: all.length, labelled: 0, skipped, failed };
  o.onProgress?.({ ...progress });
  const result = (): LabelResult => ({ ...progress, depthRoot, maskRoot, problems, seconds: (Date.now() - t0) / 1000 });
  if (jobs.length === 0) return result();

  // Teachers: loaded here (and disposed here) when given as files.
  const device = o.device ?? defaultDevice();
  const fixedBatch = (o.padLastBatch ?? true) ? batchSize : undefined;
  const owned: { dispose(): void }[] = [];
  try {
    let depth: DepthTeacher | undefined;
    let seg: SegmentationTeacher | undefined;
    if (typeof o.depthTeacher === 'string') {
      depth = new DepthTeacher(loadScript(o.depthTeacher, { device }), { size: o.size, normalization: o.normalization, device, fixedBatch });
      owned.push(depth);
    } else {
      depth = o.depthTeacher;
    }
    if (typeof o.segTeacher === 'string') {
      seg = new SegmentationTeacher(loadScript(o.segTeacher, { device }), { size: o.segSize, normalization: o.normalization, device, maskThreshold: o.maskThreshold, fixedBatch });
      owned.push(seg);
    } else {
      seg = o.segTeacher;
    }

    const read = (batch: Job[]) => Promise.all(batch.map(async (j) => {
      try {
        return await readImage(path.join(o.images, j.rel));
      } catch (e) {
        report({ image: j.rel, kind: 'corrupt-image', message: (e as Error).message });
        return null;
      }
    }));
    const batches: Job[][] = [];
    for (let i = 0; i < jobs.length; i += batchSize) batches.push(jobs.slice(i, i + batchSize));
    let next = read(batches[0]);
    for (let bi = 0; bi < batches.length; bi++) {
      const batch = batches[bi];
      const imgs = await next;
      if (bi + 1 < batches.length) next = read(batches[bi + 1]); // decode the next batch while this one runs
      const okJobs: Job[] = [], okImgs: ImageU8[] = [];
      imgs.forEach((img, i) => { if (img === null) failed++; else { okJobs.push(batch[i]); okImgs.push(img); } });
      const writes: Promise<void>[] = [];
      const dj = okJobs.filter((j) => j.depth);
      if (depth !== undefined && dj.length > 0) {
        const maps = depth.predict(okImgs.filter((_, i) => okJobs[i].depth));
        maps.forEach((m, i) => writes.push(encodeImage(depthImage(m, bits), 'png').then((b) => writeAtomic(labelPath(depthRoot!, dj[i].rel), b))));
      }
      const mj = okJobs.filter((j) => j.mask);
      if (seg !== undefined && mj.length > 0) {
        const maps = seg.predict(okImgs.filter((_, i) => okJobs[i].mask));
        maps.forEach((m, i) => {
          const [h, w] = m.shape;
          writes.push(encodeImage(ndarray('uint8', [1, h, w], m.data), 'png').then((b) => writeAtomic(labelPath(maskRoot!, mj[i].rel), b)));
        });
      }
      await Promise.all(writes);
      progress.labelled += okJobs.length;
      progress.failed = failed;
      progress.done = progress.skipped + progress.labelled + failed;
      o.onProgress?.({ ...progress });
    }
    await next.catch(() => undefined);
  } finally {
    for (const t of owned) t.dispose();
  }
  return result();
}
