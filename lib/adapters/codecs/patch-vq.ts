// A discrete image tokenizer (kind 'vq'): every non-overlapping p × p patch (3p² values) becomes
// the id of its nearest code in a codebook [K, 3p²] learned by seeded k-means on patches of
// the fitting images; decoding pastes each code's patch back. The codebook is a frozen
// parameter (requiresGrad false): it is fitted by k-means (`kmeans`, `fit.ts`), never by
// backprop. Squared distances are computed as ‖c‖² − 2 x·c (the ‖x‖² term does not change the
// argmin) with one addmm per chunk of rows.
import { Rng } from '../../data/rng';
import { noGrad } from '../../torch/autograd';
import * as creation from '../../torch/creation';
import type { Device, DType } from '../../torch/dtype';
import { TorchError } from '../../torch/errors';
import * as F from '../../torch/functional';
import { ops } from '../../torch/ops';
import { keep, tidy } from '../../torch/scope';
import { Tensor } from '../../torch/tensor';
import { CHANNELS, checkPositiveInt, describe, type PatchGeometry, PatchCodec, patchify, unpatchify } from './patches';

export interface PatchVQConfig extends PatchGeometry {
  /** Number of codes K (token ids are in [0, K)). */
  codebookSize: number;
  /** Seed of the data-free initial codebook (before fitting or loading). Default 0. */
  seed?: number;
}

const INT_DTYPES: readonly DType[] = ['int64', 'int32', 'int16', 'int8', 'uint8'];
/** Score-matrix elements computed at once (rows × K), about 64 MiB of float32. */
const CHUNK_ELEMENTS = 1 << 24;

/** Index of the nearest row of `codes` [K, D] for every row of x [n, D] (int64 [n]; ties: the lowest id). */
export function nearestCodes(x: Tensor, codes: Tensor, codeNorms?: Tensor): Tensor {
  return tidy(() => {
    const n = x.shape[0];
    const k = codes.shape[0];
    const norms = (codeNorms ?? codes.square().sum(1)).unsqueeze(0);
    const ct = codes.t();
    const rows = Math.max(1, Math.floor(CHUNK_ELEMENTS / k));
    const parts: Tensor[] = [];
    for (let s = 0; s < n; s += rows) {
      const xs = x.narrow(0, s, Math.min(rows, n - s));
      const scores = ops.aten.addmm(norms, xs, ct, { beta: 1, alpha: -2 }) as Tensor;
      parts.push(scores.argmin(1));
      scores.dispose();
    }
    return parts.length === 1 ? parts[0] : F.cat(parts, 0);
  });
}

/** A constant-colour patch per code, colours drawn uniformly from [-1, 1]³ by a seeded stream. */
function colourCodebook(k: number, patchSize: number, seed: number): Float32Array {
  const pp = patchSize * patchSize;
  const out = new Float32Array(k * CHANNELS * pp);
  const rng = new Rng(seed, 0x7671);
  for (let i = 0; i < k; i++) {
    for (let c = 0; c < CHANNELS; c++) out.fill(rng.uniform(-1, 1), (i * CHANNELS + c) * pp, (i * CHANNELS + c + 1) * pp);
  }
  return out;
}

export class PatchVQ extends PatchCodec {
  readonly kind = 'vq' as const;
  readonly codebookSize: number;
  /** Not a continuous codec. */
  readonly latentDim?: undefined;
  /** [K, 3p²]: code k's patch, ordered (channel, row, column). */
  readonly codebook: Tensor;

  /**
   * A codebook of constant-colour patches (random colours from `seed`): a crude but working
   * tokenizer until `fitCodec` or `loadStateDict` / `loadCodec` gives it a fitted one.
   */
  constructor(config: PatchVQConfig, opts: { dtype?: DType; device?: Device } = {}) {
    super(config);
    checkPositiveInt('PatchVQ', 'codebookSize', config.codebookSize);
    this.codebookSize = config.codebookSize;
    const init = colourCodebook(this.codebookSize, this.patchSize, config.seed ?? 0);
    this.codebook = this.frozen('codebook', tidy(() => creation.tensor(init, { shape: [this.codebookSize, this.patchDim], dtype: opts.dtype, device: opts.device })));
  }

  /** Images [B, 3, S, S] → int64 code ids [B, g²] (row-major grid). */
  encode(images: Tensor): Tensor {
    this.checkImages(images, 'encode');
    this.checkDevice(images, this.codebook, 'encode');
    return noGrad(() => tidy(() => {
      const work = this.workDtype(this.codebook);
      const cb = this.codebook.to(work);
      const x = patchify(images.to(work), this.patchSize);
      const b = x.shape[0];
      return nearestCodes(x.reshape([b * this.numTokens, this.patchDim]), cb).reshape([b, this.numTokens]);
    }));
  }

  /** Code ids [B, g²] (any integer dtype) → images [B, 3, S, S] (float32, or float64 for a float64 codec). */
  decode(ids: Tensor): Tensor {
    this.checkIds(ids);
    this.checkDevice(ids, this.codebook, 'decode');
    return noGrad(() => tidy(() => {
      const cb = this.codebook.to(this.workDtype(this.codebook));
      return unpatchify(F.embedding(ids.to('int64'), cb), this.patchSize, this.gridSize);
    }));
  }

  /** Replaces the codebook's values (shape [K, 3p²]); used by fitting. */
  setCodebook(codes: Tensor): void {
    const want = [this.codebookSize, this.patchDim];
    if (!(codes instanceof Tensor) || codes.shape.length !== 2 || codes.shape[0] !== want[0] || codes.shape[1] !== want[1]) {
      throw new TorchError(`PatchVQ.setCodebook: expected a codebook [${want.join(', ')}], got ${describe(codes)}`, 'PatchVQ.setCodebook');
    }
    noGrad(() => { this.codebook.copy_(codes); });
  }

  private checkIds(ids: unknown): asserts ids is Tensor {
    const where = 'PatchVQ.decode';
    const want = `[B, ${this.numTokens}]`;
    if (!(ids instanceof Tensor) || ids.isDisposed) throw new TorchError(`${where}: expected integer code ids ${want}, got ${describe(ids)}`, where);
    if (!INT_DTYPES.includes(ids.dtype)) throw new TorchError(`${where}: code ids must be an integer tensor ${want}, got dtype ${ids.dtype}`, where);
    const s = ids.shape;
    if (s.length !== 2 || s[1] !== this.numTokens) {
      throw new TorchError(`${where}: expected code ids ${want} (${this.gridSize}×${this.gridSize} tokens per image), got shape [${s.join(', ')}]`, where);
    }
    if (ids.numel === 0) return;
    const lo = Number(tidy(() => ids.min().item()));
    const hi = Number(tidy(() => ids.max().item()));
    if (lo < 0 || hi >= this.codebookSize) {
      throw new TorchError(`${where}: code ids must be in [0, ${this.codebookSize}), got values from ${lo} to ${hi}`, where);
    }
  }
}

// ---- k-means ------------------------------------------------------------------------------

export interface KMeansOptions {
  /** Seeds the initialisation and the patch subsample; the same seed gives the same codebook. */
  seed?: number;
  /** Lloyd iterations (assign, update). Default 10. */
  iterations?: number;
  /** 'kmeans++' (default: D² sampling on a subsample of `initSample` patches) or 'random' (K distinct patches). */
  init?: 'kmeans++' | 'random';
  /** Patches k-means++ samples from (default min(N, 8·K)). */
  initSample?: number;
  onProgress?: (p: KMeansProgress) => void;
}

export interface KMeansProgress {
  /** 0 after initialisation, then 1 … iterations. */
  iteration: number;
  iterations: number;
  /** Mean squared distance (per patch, summed over its values) of the patches to their codes at this iteration's assignment. */
  objective: number;
  /** Codes that had no patch and were moved onto the worst-served patches. */
  reseeded: number;
}

export interface KMeansResult {
  /** [K, D], same dtype as the patches. Kept: the caller disposes it. */
  codebook: Tensor;
  /**
   * objective[t]: mean squared patch-to-code distance after t updates (objective[0]: the
   * initial codebook). Lloyd's algorithm never increases it.
   */
  objective: number[];
  /** Dead codes re-seeded at each iteration. */
  reseeded: number[];
}

/** Rows of x [N, D] at the given indices, as a new [n, D] tensor. */
function rows(x: Tensor, idx: ArrayLike<number>): Tensor {
  return tidy(() => x.indexSelect(0, creation.tensor(BigInt64Array.from(Array.from(idx), (i) => BigInt(i)))));
}

/** K distinct random rows (seeded partial Fisher–Yates). */
function sampleIndices(n: number, k: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.next() * (n - i));
    const t = p[i]; p[i] = p[j]; p[j] = t;
  }
  return p.subarray(0, k);
}

/** k-means++ (Arthur & Vassilvitskii 2007): each next code is a patch drawn with probability ∝ D². */
function kmeansPlusPlus(x: Tensor, k: number, rng: Rng): Tensor {
  return tidy(() => {
    const n = x.shape[0];
    const norms = x.square().sum(1);
    const chosen: number[] = [rng.int(0, n - 1)];
    let c = x.select(0, chosen[0]);
    let d = tidy(() => norms.add(c.square().sum()).sub(x.matmul(c), 2).clamp(0));
    for (let i = 1; i < k; i++) {
      const next = tidy(() => {
        const cs = d.to('float64').cumsum(0);
        const total = Number(cs.select(0, n - 1).item());
        if (!(total > 0)) return rng.int(0, n - 1); // every patch already coincides with a code
        const u = creation.tensor([rng.next() * total], { dtype: 'float64' });
        const at = Number((ops.aten.searchsorted(cs, u, { right: true }) as Tensor).item());
        return Math.min(at, n - 1);
      });
      chosen.push(next);
      c = x.select(0, next);
      const prev = d;
      d = tidy(() => F.minimum(prev, norms.add(c.square().sum()).sub(x.matmul(c), 2).clamp(0)));
      prev.dispose();
    }
    return rows(x, chosen);
  });
}

interface Assignment { ids: Tensor; dist: Tensor; objective: number }

/** Nearest codes, exact squared distances (x − c)² summed per row, and their mean. */
function assign(x: Tensor, codes: Tensor): Assignment {
  return tidy(() => {
    const ids = nearestCodes(x, codes);
    const dist = x.sub(codes.indexSelect(0, ids)).square().sum(1);
    const objective = Number(dist.mean(undefined, false, { dtype: 'float64' }).item());
    return { ids, dist, objective };
  });
}

/**
 * Seeded k-means on patches x [N, D] (float32 or float64): initialisation, then `iterations`
 * Lloyd steps; a code left without patches is moved onto the patch served worst (largest
 * distance), which changes nothing in the current objective and lets the next assignment use it.
 * Runs without autograd.
 */
export function kmeans(x: Tensor, k: number, opts: KMeansOptions = {}): KMeansResult {
  checkPositiveInt('kmeans', 'k', k);
  const iterations = opts.iterations ?? 10;
  if (!Number.isInteger(iterations) || iterations < 0) throw new RangeError(`kmeans: iterations must be a non-negative integer, got ${iterations}`);
  if (!(x instanceof Tensor) || x.shape.length !== 2) throw new TorchError(`kmeans: expected patches [N, D], got ${describe(x)}`, 'kmeans');
  const n = x.shape[0];
  if (n < k) throw new RangeError(`kmeans: ${n} patches cannot fit ${k} codes; give more images (or a smaller codebookSize)`);
  const init = opts.init ?? 'kmeans++';
  if (init !== 'kmeans++' && init !== 'random') throw new RangeError(`kmeans: init must be 'kmeans++' or 'random', got '${String(init)}'`);
  const seed = opts.seed ?? 0;
  return noGrad(() => {
    const rng = new Rng(seed, 0x6b6d);
    let codes: Tensor;
    if (init === 'random') {
      codes = rows(x, sampleIndices(n, k, rng));
    } else {
      const m = Math.min(n, Math.max(k, opts.initSample ?? 8 * k));
      const sub = m === n ? x : rows(x, sampleIndices(n, m, rng));
      codes = kmeansPlusPlus(sub, k, rng);
      if (sub !== x) sub.dispose();
    }
    keep(codes);
    const objective: number[] = [];
    const reseeded: number[] = [];
    let a = assign(x, codes);
    objective.push(a.objective);
    opts.onProgress?.({ iteration: 0, iterations, objective: a.objective, reseeded: 0 });
    for (let it = 1; it <= iterations; it++) {
      const prevCodes = codes;
      let dead = 0;
      codes = keep(tidy(() => {
        const sums = ops.aten.index_add(creation.zeros([k, x.shape[1]], { dtype: x.dtype, device: x.device }), 0, a.ids, x) as Tensor;
        const counts = (ops.aten.bincount(a.ids, null, k) as Tensor).to(x.dtype);
        const alive = counts.gt(0).unsqueeze(1);
        const updated = F.where(alive, sums.div(counts.clamp(1).unsqueeze(1)), prevCodes);
        const countArr = counts.toArray();
        const deadIds: number[] = [];
        for (let i = 0; i < k; i++) if (countArr[i] === 0) deadIds.push(i);
        if (deadIds.length === 0) return updated;
        // Worst-served patches, farthest first; only those not already represented exactly.
        const { values, indices } = a.dist.topk(Math.min(deadIds.length, n));
        const vals = values.toArray();
        const idx = indices.toArray() as BigInt64Array;
        const use: number[] = [];
        for (let i = 0; i < vals.length && vals[i] > 0; i++) use.push(Number(idx[i]));
        dead = use.length;
        if (dead === 0) return updated;
        const target = creation.tensor(BigInt64Array.from(deadIds.slice(0, dead), BigInt));
        return ops.aten.index_copy(updated, 0, target, rows(x, use)) as Tensor;
      }));
      prevCodes.dispose();
      a.ids.dispose(); a.dist.dispose();
      a = assign(x, codes);
      objective.push(a.objective);
      reseeded.push(dead);
      opts.onProgress?.({ iteration: it, iterations, objective: a.objective, reseeded: dead });
    }
    a.ids.dispose(); a.dist.dispose();
    return { codebook: codes, objective, reseeded };
  });
}
