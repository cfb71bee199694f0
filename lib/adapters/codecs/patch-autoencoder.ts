// A continuous image autoencoder (kind 'continuous'): every p × p patch (3p² values) minus the
// mean patch is projected onto the top `latentDim` principal components of the fitting
// patches and divided by each component's standard deviation, so every latent channel has unit
// variance on the fitting data; decoding is the inverse projection plus the mean, clamped to
// [-1, 1]. PCA is the optimal linear autoencoder for squared error (Baldi & Hornik 1989): the
// principal components come from the eigen-decomposition (aten::linalg_eigh, float64) of the
// patch covariance, accumulated exactly over any number of images (`PatchMoments`).
import { noGrad } from '../../torch/autograd';
import * as creation from '../../torch/creation';
import type { Device, DType } from '../../torch/dtype';
import { TorchError } from '../../torch/errors';
import { ops } from '../../torch/ops';
import { tidy } from '../../torch/scope';
import { Tensor } from '../../torch/tensor';
import { CHANNELS, checkPositiveInt, describe, type PatchGeometry, PatchCodec, patchify, unpatchify } from './patches';

export interface PatchAutoencoderConfig extends PatchGeometry {
  /** Channels per token (≤ 3 · patchSize²). */
  latentDim: number;
}

/**
 * The data-free starting point: the 2-D DCT-II basis of a patch per channel, lowest frequencies
 * first (u + v, then u; channels interleaved), the DC term scaled so a constant image in [-1, 1]
 * gives latents in [-1, 1]. Fitting or loading replaces it.
 */
function dctBasis(p: number, latentDim: number): { components: Float32Array; scale: Float32Array } {
  const d = CHANNELS * p * p;
  const freqs: [number, number][] = [];
  for (let u = 0; u < p; u++) for (let v = 0; v < p; v++) freqs.push([u, v]);
  freqs.sort((a, b) => a[0] + a[1] - (b[0] + b[1]) || a[0] - b[0]);
  const alpha = (k: number) => Math.sqrt((k === 0 ? 1 : 2) / p);
  const components = new Float32Array(latentDim * d);
  const scale = new Float32Array(latentDim);
  for (let j = 0; j < latentDim; j++) {
    const [u, v] = freqs[Math.floor(j / CHANNELS)];
    const c = j % CHANNELS;
    for (let y = 0; y < p; y++) {
      for (let x = 0; x < p; x++) {
        components[j * d + c * p * p + y * p + x] = alpha(u) * alpha(v) * Math.cos((Math.PI * (2 * y + 1) * u) / (2 * p)) * Math.cos((Math.PI * (2 * x + 1) * v) / (2 * p));
      }
    }
    scale[j] = u === 0 && v === 0 ? p : 1;
  }
  return { components, scale };
}

export class PatchAutoencoder extends PatchCodec {
  readonly kind = 'continuous' as const;
  readonly latentDim: number;
  /** Not a discrete codec. */
  readonly codebookSize?: undefined;
  /** [3p²]: the mean patch of the fitting data. */
  readonly mean: Tensor;
  /** [latentDim, 3p²]: orthonormal principal directions, largest variance first. */
  readonly components: Tensor;
  /** [latentDim]: the standard deviation along each direction (latent = projection / scale). */
  readonly scale: Tensor;

  constructor(config: PatchAutoencoderConfig, opts: { dtype?: DType; device?: Device } = {}) {
    super(config);
    checkPositiveInt('PatchAutoencoder', 'latentDim', config.latentDim);
    if (config.latentDim > this.patchDim) {
      throw new RangeError(`PatchAutoencoder: latentDim ${config.latentDim} exceeds the ${this.patchDim} values of a ${this.patchSize}×${this.patchSize}×3 patch`);
    }
    this.latentDim = config.latentDim;
    const init = dctBasis(this.patchSize, this.latentDim);
    const f = { dtype: opts.dtype, device: opts.device };
    this.mean = this.frozen('mean', tidy(() => creation.zeros([this.patchDim], f)));
    this.components = this.frozen('components', tidy(() => creation.tensor(init.components, { shape: [this.latentDim, this.patchDim], ...f })));
    this.scale = this.frozen('scale', tidy(() => creation.tensor(init.scale, f)));
  }

  /** Images [B, 3, S, S] → latents [B, g², latentDim] (unit variance per channel on the fitting data). Never records autograd. */
  encode(images: Tensor): Tensor {
    this.checkImages(images, 'encode');
    this.checkDevice(images, this.mean, 'encode');
    return noGrad(() => tidy(() => {
      const work = this.workDtype(this.mean);
      const x = patchify(images.to(work), this.patchSize);
      return x.sub(this.mean.to(work)).matmul(this.components.to(work).t()).div(this.scale.to(work));
    }));
  }

  /**
   * Latents [B, g², latentDim] → images [B, 3, S, S] in [-1, 1]. Follows the grad mode: with
   * autograd on, gradients flow to the latents (never to the frozen tensors).
   */
  decode(latents: Tensor): Tensor {
    this.checkLatents(latents);
    this.checkDevice(latents, this.mean, 'decode');
    return tidy(() => {
      const work = this.workDtype(this.mean);
      const z = latents.to(work);
      const x = z.mul(this.scale.to(work)).matmul(this.components.to(work)).add(this.mean.to(work));
      return unpatchify(x.clamp(-1, 1), this.patchSize, this.gridSize);
    });
  }

  /** Sets mean [D], components [latentDim, D] and scale [latentDim] (used by fitting). */
  setProjection(p: { mean: Tensor; components: Tensor; scale: Tensor }): void {
    const want: [string, Tensor, number[]][] = [
      ['mean', p.mean, [this.patchDim]], ['components', p.components, [this.latentDim, this.patchDim]], ['scale', p.scale, [this.latentDim]],
    ];
    for (const [name, t, shape] of want) {
      if (!(t instanceof Tensor) || t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
        throw new TorchError(`PatchAutoencoder.setProjection: ${name} must be [${shape.join(', ')}], got ${describe(t)}`, 'PatchAutoencoder.setProjection');
      }
    }
    noGrad(() => { this.mean.copy_(p.mean); this.components.copy_(p.components); this.scale.copy_(p.scale); });
  }

  private checkLatents(z: unknown): asserts z is Tensor {
    const where = 'PatchAutoencoder.decode';
    const want = `[B, ${this.numTokens}, ${this.latentDim}]`;
    if (!(z instanceof Tensor) || z.isDisposed) throw new TorchError(`${where}: expected latents ${want}, got ${describe(z)}`, where);
    const s = z.shape;
    if (s.length !== 3 || s[1] !== this.numTokens || s[2] !== this.latentDim) {
      throw new TorchError(`${where}: expected latents ${want} (${this.gridSize}×${this.gridSize} tokens of ${this.latentDim} channels), got shape [${s.join(', ')}]`, where);
    }
    if (!['float32', 'float64', 'float16', 'bfloat16'].includes(z.dtype)) throw new TorchError(`${where}: latents must be floating point, got dtype ${z.dtype}`, where);
  }

}

// ---- fitting: streaming moments, then PCA -------------------------------------------------

/** Σx and Σxxᵀ over patches in float64: the exact mean and covariance of any number of images. */
export class PatchMoments {
  count = 0;
  private sum: Tensor;
  private outer: Tensor;
  constructor(readonly patchDim: number) {
    this.sum = creation.zeros([patchDim], { dtype: 'float64' });
    this.outer = creation.zeros([patchDim, patchDim], { dtype: 'float64' });
  }
  /** Adds patches [n, D] or [B, N, D]. */
  add(patches: Tensor): void {
    noGrad(() => tidy(() => {
      const x = patches.reshape([-1, this.patchDim]).to('float64');
      this.sum.add_(x.sum(0));
      this.outer.add_(x.t().matmul(x));
      this.count += x.shape[0];
    }));
  }
  /** Adds the patches of images [B, 3, S, S]. */
  addImages(images: Tensor, patchSize: number): void {
    tidy(() => this.add(patchify(images, patchSize)));
  }
  /** The mean [D] and (biased) covariance [D, D], float64. */
  meanAndCovariance(): { mean: Tensor; covariance: Tensor } {
    if (this.count === 0) throw new RangeError('PatchMoments: no patches were added');
    return tidy(() => {
      const mean = this.sum.div(this.count);
      const covariance = this.outer.div(this.count).sub(mean.unsqueeze(1).matmul(mean.unsqueeze(0)));
      return { mean, covariance: covariance.add(covariance.t()).mul(0.5) };
    });
  }
  dispose(): void { this.sum.dispose(); this.outer.dispose(); }
}

export interface PcaResult {
  mean: Tensor;
  /** [latentDim, D], rows orthonormal, each signed so its largest-magnitude entry is positive. */
  components: Tensor;
  /** [latentDim]: √eigenvalue, floored at 1e-3 · the largest (a near-empty direction must not blow latents up). */
  scale: Tensor;
  /** Every eigenvalue of the covariance, largest first (float64 array). */
  eigenvalues: Float64Array;
}

/** The top `latentDim` principal components of the accumulated patches (float64 tensors). */
export function fitPca(moments: PatchMoments, latentDim: number): PcaResult {
  checkPositiveInt('fitPca', 'latentDim', latentDim);
  const d = moments.patchDim;
  if (latentDim > d) throw new RangeError(`fitPca: latentDim ${latentDim} exceeds the patch dimension ${d}`);
  return noGrad(() => tidy(() => {
    const { mean, covariance } = moments.meanAndCovariance();
    const [values, vectors] = ops.aten.linalg_eigh(covariance, 'L') as [Tensor, Tensor];
    // Ascending → descending; columns are eigenvectors.
    const desc = values.flip([0]);
    const eigenvalues = Float64Array.from(desc.toArray() as Float64Array);
    const top = vectors.flip([1]).narrow(1, 0, latentDim).t().contiguous(); // [L, D]
    const arr = top.toArray() as Float64Array;
    const signs = new Float64Array(latentDim);
    for (let j = 0; j < latentDim; j++) {
      let best = 0;
      for (let i = 1; i < d; i++) if (Math.abs(arr[j * d + i]) > Math.abs(arr[j * d + best])) best = i;
      signs[j] = arr[j * d + best] < 0 ? -1 : 1;
    }
    const components = top.mul(creation.tensor(signs).unsqueeze(1));
    const floor = 1e-3 * Math.sqrt(Math.max(eigenvalues[0], 0)) || 1e-6;
    const scale = creation.tensor(Float64Array.from(eigenvalues.subarray(0, latentDim), (v) => Math.max(Math.sqrt(Math.max(v, 0)), floor)));
    return { mean, components, scale, eigenvalues };
  }));
}
