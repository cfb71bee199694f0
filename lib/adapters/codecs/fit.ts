// Fitting image codecs. `fitCodec` streams batches of images once: the vq codec keeps a seeded
// reservoir sample of at most `maxPatches` patches and runs k-means on it; the continuous codec
// accumulates exact patch moments and takes their principal components. What to fit on:
// scene-targets.ts; the file format: codec-file.ts.
import { Rng } from '../../data/rng';
import { noGrad } from '../../torch/autograd';
import * as creation from '../../torch/creation';
import { TorchError } from '../../torch/errors';
import * as F from '../../torch/functional';
import { ops } from '../../torch/ops';
import { dispose, keep, tidy } from '../../torch/scope';
import { Tensor } from '../../torch/tensor';
import { PatchAutoencoder, PatchMoments, fitPca } from './patch-autoencoder';
import { PatchVQ, kmeans } from './patch-vq';
import { checkPositiveInt, patchify, type FitReport, type PatchCodec } from './patches';
import type { CodecKind } from './types';

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
