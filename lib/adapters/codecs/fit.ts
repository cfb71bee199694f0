// Fitting, saving and loading image codecs. `fitCodec` streams batches of images once: the vq
// codec keeps a seeded reservoir sample of at most `maxPatches` patches and runs k-means on it;
// the continuous codec accumulates exact patch moments and takes their principal components.
// `fitCodecOnScenes` feeds it the three generation targets of the embedded scenes (what
// `unimrg tokenizer` calls). Files are safetensors with the codec's shape, a format version and
// a SHA-256 of the tensors in the metadata.
import { createHash } from 'node:crypto';
import { depthTarget } from '../../data/targets';
import { ndarray } from '../../data/ndarray';
import { generationImage } from '../../data/preprocess';
import { Rng } from '../../data/rng';
import { generate, MAX_SIZE, MIN_SIZE } from '../../data/scenes/generate';
import type { Split } from '../../data/scenes/splits';
import { requireRegularFile } from '../../io/regular-file';
import { loadSafetensors, readSafetensorsHeader, saveSafetensors } from '../../io/safetensors';
import { noGrad } from '../../torch/autograd';
import * as creation from '../../torch/creation';
import type { Device } from '../../torch/dtype';
import { TorchError } from '../../torch/errors';
import * as F from '../../torch/functional';
import { ops } from '../../torch/ops';
import { dispose, keep, tidy } from '../../torch/scope';
import { Tensor } from '../../torch/tensor';
import { fitPca, PatchAutoencoder, PatchMoments } from './patch-autoencoder';
import { kmeans, PatchVQ } from './patch-vq';
import { checkPositiveInt, type FitReport, type PatchCodec, patchify } from './patches';
import type { CodecKind, ImageCodec } from './types';

export type { FitReport } from './patches';

export type ImageBatches = AsyncIterable<Tensor> | Iterable<Tensor>;
/** The codecs this package implements (both are ImageCodecs). */
export type PatchCodecs = PatchVQ | PatchAutoencoder;

export interface FitOptions {
  imageSize: number;
  patchSize: number;
  /** vq: number of codes. */
  codebookSize?: number;
  /** continuous: channels per token. */
  latentDim?: number;
  /** vq: seeds the patch subsample and k-means. Default 0. */
  seed?: number;
  /** vq: Lloyd iterations. Default 10. */
  iterations?: number;
  /** vq: 'kmeans++' (default) or 'random'. */
  init?: 'kmeans++' | 'random';
  /** vq: most patches k-means runs on (a seeded uniform reservoir sample of all seen). Default 100 000. */
  maxPatches?: number;
  onProgress?: (p: FitProgress) => void;
  /** Recorded in the fit report (and the saved file). */
  dataDescription?: string;
}

export type FitProgress =
  | { stage: 'collect'; images: number; patches: number }
  | { stage: 'kmeans'; iteration: number; iterations: number; objective: number; reseeded: number }
  | { stage: 'pca'; patches: number }
  | { stage: 'done'; report: FitReport };

const PIXEL_SLACK = 1e-3;

function checkBatch(codec: PatchCodec, x: unknown, index: number): Tensor {
  try {
    codec.checkImages(x, 'fit');
  } catch (e) {
    throw new TorchError(`fitCodec: batch ${index}: ${(e as Error).message}`, 'fitCodec');
  }
  const t = x as Tensor;
  if (t.numel > 0) {
    const [lo, hi] = tidy(() => [Number(t.min().item()), Number(t.max().item())]);
    if (!(lo >= -1 - PIXEL_SLACK && hi <= 1 + PIXEL_SLACK)) {
      throw new TorchError(`fitCodec: batch ${index}: images must be in [-1, 1], got values from ${lo} to ${hi} (uint8 pixels map to [-1, 1] by data.generationImage)`, 'fitCodec');
    }
  }
  return t;
}

/** A seeded uniform sample (Algorithm R) of at most `capacity` patch rows from a stream. */
class PatchReservoir {
  seen = 0;
  private chunks: Tensor[] = [];
  private filled = 0;
  private buffer: Tensor | null = null;
  private readonly rng: Rng;
  constructor(readonly capacity: number, seed: number) { this.rng = new Rng(seed, 0x7265); }

  add(rowsIn: Tensor): void {
    noGrad(() => tidy(() => {
      const n = rowsIn.shape[0];
      let start = 0;
      if (this.buffer === null) {
        start = Math.min(n, this.capacity - this.filled);
        if (start > 0) {
          this.chunks.push(rowsIn.narrow(0, 0, start).to('float32').clone());
          this.filled += start;
          this.seen += start;
        }
        if (this.filled === this.capacity) {
          this.buffer = F.cat(this.chunks, 0);
          dispose(this.chunks);
          this.chunks = [];
        }
      }
      if (start === n) { this.keepState(); return; }
      const slot = new Map<number, number>();
      for (let i = start; i < n; i++) {
        const r = Math.floor(this.rng.next() * (++this.seen));
        if (r < this.capacity) slot.set(r, i); // a later row taking the same slot wins, as in sequential order
      }
      if (slot.size > 0) {
        const dst = creation.tensor(BigInt64Array.from(slot.keys(), BigInt));
        const src = creation.tensor(BigInt64Array.from(slot.values(), BigInt));
        ops.aten.index_copy_(this.buffer as Tensor, 0, dst, rowsIn.indexSelect(0, src).to('float32'));
      }
      this.keepState();
    }));
  }
  /** Marks the state as outliving the tidy() scope of add(). */
  private keepState(): void {
    for (const c of this.chunks) keep(c);
    if (this.buffer) keep(this.buffer);
  }
  dispose(): void {
    dispose(this.chunks);
    this.chunks = [];
    this.buffer?.dispose();
    this.buffer = null;
  }
  /** The sample [n, D] (n = min(seen, capacity)); the reservoir gives it up. */
  take(): Tensor {
    const out = this.buffer ?? F.cat(this.chunks, 0);
    if (this.buffer === null) dispose(this.chunks);
    this.chunks = []; this.buffer = null;
    return out;
  }
}

async function* batchesOf(images: ImageBatches): AsyncGenerator<Tensor> {
  if (images === null || typeof images !== 'object' || (!(Symbol.asyncIterator in images) && !(Symbol.iterator in images))) {
    throw new TypeError('fitCodec: images must be an array, iterable or async iterable of tensors [B, 3, S, S]');
  }
  if (Symbol.asyncIterator in images) { for await (const b of images as AsyncIterable<Tensor>) yield b; }
  else for (const b of images as Iterable<Tensor>) yield b;
}

/**
 * Fits a codec on batches of images [B, 3, imageSize, imageSize] in [-1, 1] (an array, an
 * iterable or an async iterable; read once, not disposed).
 */
export async function fitCodec(kind: 'vq', images: ImageBatches, opts: FitOptions): Promise<PatchVQ>;
export async function fitCodec(kind: 'continuous', images: ImageBatches, opts: FitOptions): Promise<PatchAutoencoder>;
export async function fitCodec(kind: CodecKind, images: ImageBatches, opts: FitOptions): Promise<PatchCodecs>;
export async function fitCodec(kind: CodecKind, images: ImageBatches, opts: FitOptions): Promise<PatchCodecs> {
  if (kind !== 'vq' && kind !== 'continuous') throw new RangeError(`fitCodec: kind must be 'vq' or 'continuous', got '${String(kind)}'`);
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`fitCodec: seed must be a non-negative integer, got ${seed}`);
  const progress = opts.onProgress ?? (() => {});
  let count = 0, index = 0;
  if (kind === 'continuous') {
    checkPositiveInt('fitCodec', 'latentDim', opts.latentDim);
    const codec = new PatchAutoencoder({ imageSize: opts.imageSize, patchSize: opts.patchSize, latentDim: opts.latentDim as number });
    const moments = new PatchMoments(codec.patchDim);
    try {
      for await (const b of batchesOf(images)) {
        const x = checkBatch(codec, b, index++);
        moments.addImages(x, codec.patchSize);
        count += x.shape[0];
        progress({ stage: 'collect', images: count, patches: moments.count });
      }
      if (moments.count < codec.latentDim) {
        throw new RangeError(`fitCodec: ${moments.count} patches cannot determine ${codec.latentDim} principal components; give more images`);
      }
      progress({ stage: 'pca', patches: moments.count });
      const pca = fitPca(moments, codec.latentDim);
      codec.setProjection(pca);
      dispose([pca.mean, pca.components, pca.scale]);
      const total = pca.eigenvalues.reduce((a, v) => a + Math.max(v, 0), 0);
      const kept = pca.eigenvalues.subarray(0, codec.latentDim).reduce((a, v) => a + Math.max(v, 0), 0);
      codec.fitReport = {
        images: count, patches: moments.count, patchesSeen: moments.count, seed,
        explainedVariance: total > 0 ? kept / total : 1, data: opts.dataDescription,
      };
    } catch (e) {
      codec.dispose();
      throw e;
    } finally {
      moments.dispose();
    }
    progress({ stage: 'done', report: codec.fitReport as FitReport });
    return codec;
  }
  checkPositiveInt('fitCodec', 'codebookSize', opts.codebookSize);
  const maxPatches = opts.maxPatches ?? 100_000;
  checkPositiveInt('fitCodec', 'maxPatches', maxPatches);
  const codec = new PatchVQ({ imageSize: opts.imageSize, patchSize: opts.patchSize, codebookSize: opts.codebookSize as number });
  const reservoir = new PatchReservoir(maxPatches, seed);
  let sample: Tensor | null = null;
  try {
    for await (const b of batchesOf(images)) {
      const x = checkBatch(codec, b, index++);
      tidy(() => reservoir.add(patchify(x, codec.patchSize).reshape([-1, codec.patchDim])));
      count += x.shape[0];
      progress({ stage: 'collect', images: count, patches: reservoir.seen });
    }
    if (reservoir.seen === 0) throw new RangeError('fitCodec: no images were given');
    sample = reservoir.take();
    if (sample.shape[0] < codec.codebookSize) {
      throw new RangeError(`fitCodec: ${sample.shape[0]} patches cannot fit ${codec.codebookSize} codes; give more images (or a smaller codebookSize)`);
    }
    const r = kmeans(sample, codec.codebookSize, {
      seed, iterations: opts.iterations, init: opts.init,
      onProgress: (p) => progress({ stage: 'kmeans', ...p }),
    });
    codec.setCodebook(r.codebook);
    r.codebook.dispose();
    codec.fitReport = {
      images: count, patches: sample.shape[0], patchesSeen: reservoir.seen, seed,
      objective: r.objective, reseeded: r.reseeded, data: opts.dataDescription,
    };
  } catch (e) {
    codec.dispose();
    throw e;
  } finally {
    sample?.dispose();
    reservoir.dispose();
  }
  progress({ stage: 'done', report: codec.fitReport as FitReport });
  return codec;
}

// ---- scenes ----------------------------------------------------------------------------------

export const GENERATION_TASKS = ['reconstruction', 'depth', 'segmentation'] as const;
export type GenerationTask = (typeof GENERATION_TASKS)[number];

export interface SceneTargetOptions {
  /** Number of scenes. */
  count: number;
  imageSize: number;
  /** Default 'train'. */
  split?: Split;
  /** First scene's offset in the split. Default 0. */
  offset?: number;
  /** Which generation targets to draw (default all three: the image, its depth map, its boundary map). */
  tasks?: readonly GenerationTask[];
}

function checkTasks(tasks: readonly GenerationTask[]): void {
  if (!Array.isArray(tasks) || tasks.length === 0) throw new RangeError(`tasks must name at least one of ${GENERATION_TASKS.join(', ')}`);
  for (const t of tasks) if (!GENERATION_TASKS.includes(t)) throw new RangeError(`unknown generation task '${String(t)}' (expected ${GENERATION_TASKS.join(', ')})`);
}

/**
 * The generation targets of `count` embedded scenes as float32 [3, S, S] arrays in [-1, 1],
 * scene by scene, in the order of `tasks`: the image, the depth target (inverse depth, near
 * bright), the boundary map — exactly as the task batcher builds them (data.generationImage).
 */
export function* sceneTargets(o: SceneTargetOptions): Generator<{ task: GenerationTask; seed: number; data: Float32Array }> {
  const tasks = o.tasks ?? GENERATION_TASKS;
  checkTasks(tasks);
  checkPositiveInt('sceneTargets', 'imageSize', o.imageSize);
  const size = Math.min(MAX_SIZE, Math.max(MIN_SIZE, o.imageSize));
  const g = { size: o.imageSize };
  for (const item of generate({ count: o.count, split: o.split ?? 'train', seed: o.offset ?? 0, size, perCategory: 1, categories: [] })) {
    for (const task of tasks) {
      const img = task === 'reconstruction' ? generationImage(item.image, g)
        : task === 'depth' ? generationImage(depthTarget(item.depth), g)
          : generationImage(ndarray('uint8', [1, size, size], item.boundaries.data), g);
      yield { task, seed: item.seed, data: img.data };
    }
  }
}

/** sceneTargets in tensors [≤ batchSize, 3, S, S] (tasks mixed). */
export function* sceneTargetBatches(o: SceneTargetOptions & { batchSize?: number }): Generator<Tensor> {
  const b = o.batchSize ?? 32;
  checkPositiveInt('sceneTargetBatches', 'batchSize', b);
  const per = 3 * o.imageSize * o.imageSize;
  let buf: Float32Array[] = [];
  const flush = () => {
    const data = new Float32Array(buf.length * per);
    buf.forEach((a, i) => data.set(a, i * per));
    const t = creation.tensor(data, { shape: [buf.length, 3, o.imageSize, o.imageSize] });
    buf = [];
    return t;
  };
  for (const t of sceneTargets(o)) {
    buf.push(t.data);
    if (buf.length === b) yield flush();
  }
  if (buf.length > 0) yield flush();
}

export interface SceneFitOptions extends Omit<FitOptions, 'dataDescription'>, SceneTargetOptions {
  kind: CodecKind;
  /** Targets per batch while streaming (default 32). */
  batchSize?: number;
}

/**
 * Fits a codec on the embedded scenes' generation targets (images, depth maps and boundary maps
 * by default: the codec must represent all three). `unimrg tokenizer` calls this.
 */
export async function fitCodecOnScenes(o: SceneFitOptions): Promise<PatchCodecs> {
  const tasks = o.tasks ?? GENERATION_TASKS;
  checkTasks(tasks);
  checkPositiveInt('fitCodecOnScenes', 'count', o.count);
  const split = o.split ?? 'train';
  const offset = o.offset ?? 0;
  async function* stream(): AsyncGenerator<Tensor> {
    for (const t of sceneTargetBatches({ ...o, tasks })) {
      try { yield t; } finally { t.dispose(); }
      await new Promise((r) => setImmediate(r)); // let progress output and signals through
    }
  }
  return fitCodec(o.kind, stream(), {
    ...o,
    dataDescription: `scenes/${split} ${offset}..${offset + o.count - 1} at ${o.imageSize} px: ${tasks.join(', ')}`,
  });
}

// ---- files ----------------------------------------------------------------------------------

export const CODEC_FORMAT = 'unimrg.image-codec';
export const CODEC_FORMAT_VERSION = 1;

/** SHA-256 over every tensor (sorted by name): name, dtype, shape and the raw bytes. */
function checksum(tensors: Record<string, Tensor>): string {
  const h = createHash('sha256');
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name];
    const a = t.contiguous();
    try {
      const arr = a.toArray();
      h.update(`${name}\0${t.dtype}\0${t.shape.join(',')}\0`);
      h.update(Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength));
    } finally { if (a !== t) a.dispose(); }
  }
  return h.digest('hex');
}

function asCodec(codec: unknown): PatchCodecs {
  if (codec instanceof PatchVQ || codec instanceof PatchAutoencoder) return codec;
  throw new TypeError(`saveCodec: expected a PatchVQ or PatchAutoencoder (from createCodec, fitCodec or loadCodec), got ${codec === null ? 'null' : typeof codec === 'object' ? (codec as object).constructor.name : typeof codec}`);
}

/** Writes the codec's tensors and shape to a safetensors file (atomically). */
export function saveCodec(codec: ImageCodec, path: string): void {
  const c = asCodec(codec);
  const tensors = c.stateDict();
  const meta: Record<string, string> = {
    format: CODEC_FORMAT,
    format_version: String(CODEC_FORMAT_VERSION),
    kind: c.kind,
    image_size: String(c.imageSize),
    patch_size: String(c.patchSize),
    tensors_sha256: checksum(tensors),
  };
  if (c instanceof PatchVQ) meta.codebook_size = String(c.codebookSize);
  else meta.latent_dim = String(c.latentDim);
  if (c.fitReport) meta.fit = JSON.stringify(c.fitReport);
  saveSafetensors(path, tensors, meta);
}

/** Reads a codec written by saveCodec; every problem is a TorchError naming the file. */
export function loadCodec(path: string, opts: { device?: Device } = {}): PatchCodecs {
  const fail = (why: string): never => { throw new TorchError(`loadCodec ${path}: ${why}`, 'loadCodec'); };
  requireRegularFile(path, (m) => new TorchError(`loadCodec: ${m}`, 'loadCodec'));
  let meta: Record<string, string> = {};
  try {
    meta = readSafetensorsHeader(path).metadata;
  } catch (e) {
    fail(`not a readable codec file: ${(e as Error).message}`);
  }
  if (meta.format !== CODEC_FORMAT) {
    fail(`not an image codec written by saveCodec (metadata format is ${meta.format === undefined ? 'missing' : `'${meta.format}'`}, expected '${CODEC_FORMAT}')`);
  }
  const version = Number(meta.format_version);
  if (!Number.isInteger(version) || version < 1) fail(`invalid format_version '${meta.format_version}'`);
  if (version > CODEC_FORMAT_VERSION) fail(`format version ${version} is newer than this unimrg reads (${CODEC_FORMAT_VERSION}); upgrade unimrg`);
  const int = (key: string): number => {
    const v = Number(meta[key]);
    if (meta[key] === undefined || !Number.isInteger(v) || v <= 0) fail(`metadata ${key} must be a positive integer, got ${meta[key] === undefined ? 'nothing' : `'${meta[key]}'`}`);
    return v;
  };
  const geometry = { imageSize: int('image_size'), patchSize: int('patch_size') };
  let codec: PatchCodecs;
  try {
    if (meta.kind === 'vq') codec = new PatchVQ({ ...geometry, codebookSize: int('codebook_size') });
    else if (meta.kind === 'continuous') codec = new PatchAutoencoder({ ...geometry, latentDim: int('latent_dim') });
    else return fail(`unknown codec kind '${meta.kind}' (expected 'vq' or 'continuous')`);
  } catch (e) {
    if (e instanceof TorchError && e.message.startsWith('loadCodec')) throw e;
    return fail(`invalid codec shape in the metadata: ${(e as Error).message}`);
  }
  let tensors: Record<string, Tensor> = {};
  try {
    tensors = loadSafetensors(path);
    if (checksum(tensors) !== meta.tensors_sha256) fail('the tensors do not match the checksum stored with them (the file is corrupt)');
    try { codec.loadStateDict(tensors); } catch (e) { fail((e as Error).message); }
    if (meta.fit !== undefined) {
      try { codec.fitReport = JSON.parse(meta.fit) as FitReport; } catch { fail('the fit report in the metadata is not valid JSON'); }
    }
  } catch (e) {
    codec.dispose();
    if (e instanceof TorchError && e.message.startsWith('loadCodec')) throw e;
    return fail((e as Error).message);
  } finally {
    dispose(tensors);
  }
  if (opts.device !== undefined && opts.device !== 'cpu') codec.to(opts.device);
  return codec;
}
