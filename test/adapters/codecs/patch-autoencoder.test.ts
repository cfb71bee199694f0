// The patch PCA autoencoder, checked against plain-JS float64 statistics of the same patches.
import { createCodec, fitPca, PatchAutoencoder, PatchMoments } from '../../../lib/adapters/codecs';
import { Rng } from '../../../lib/data/rng';
import { torch, Tensor } from '../../../lib/torch';
import { patchesOf } from './reference';

const f32 = (t: Tensor) => t.toArray() as Float32Array;
const S = 16, P = 4, G = S / P, D = 3 * P * P;

/** Smooth-ish random images in [-1, 1]: a per-image colour plus gradients and a little noise (correlated pixels, like real patches). */
function images(b: number, seed: number): Float32Array {
  const rng = new Rng(seed, 4);
  const out = new Float32Array(b * 3 * S * S);
  for (let n = 0; n < b; n++) for (let c = 0; c < 3; c++) {
    const base = rng.uniform(-0.5, 0.5), gx = rng.uniform(-0.03, 0.03), gy = rng.uniform(-0.03, 0.03);
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
      out[((n * 3 + c) * S + y) * S + x] = Math.max(-1, Math.min(1, base + gx * x + gy * y + rng.uniform(-0.1, 0.1)));
    }
  }
  return out;
}
const asTensor = (d: Float32Array) => torch.tensor(d, { shape: [d.length / (3 * S * S), 3, S, S] });

function fitted(data: Float32Array, latentDim: number): { codec: PatchAutoencoder; eigenvalues: Float64Array } {
  const m = new PatchMoments(D);
  m.addImages(asTensor(data), P);
  const pca = fitPca(m, latentDim);
  const codec = createCodec({ kind: 'continuous', imageSize: S, patchSize: P, latentDim }) as PatchAutoencoder;
  codec.setProjection(pca);
  m.dispose();
  return { codec, eigenvalues: pca.eigenvalues };
}

/** Mean and covariance (float64) of the patches, and the top eigenpair by power iteration. */
function reference(data: Float32Array) {
  const ps = patchesOf(data, data.length / (3 * S * S), S, P);
  const mean = new Float64Array(D);
  for (const v of ps) v.forEach((e, i) => { mean[i] += e / ps.length; });
  const cov = new Float64Array(D * D);
  for (const v of ps) for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) cov[i * D + j] += ((v[i] - mean[i]) * (v[j] - mean[j])) / ps.length;
  let u = new Float64Array(D).fill(1);
  let lambda = 0;
  for (let it = 0; it < 500; it++) {
    const w = new Float64Array(D);
    for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) w[i] += cov[i * D + j] * u[j];
    lambda = Math.hypot(...w);
    u = w.map((e) => e / lambda);
  }
  let trace = 0;
  for (let i = 0; i < D; i++) trace += cov[i * D + i];
  return { ps, mean, u, lambda, trace };
}

describe('PatchAutoencoder', () => {
  const data = images(24, 1);

  it('has the ImageCodec fields and frozen mean, components and scale', () => {
    const c = createCodec({ kind: 'continuous', imageSize: 64, patchSize: 8, latentDim: 16 });
    expect([c.kind, c.imageSize, c.gridSize, c.numTokens, c.latentDim, c.codebookSize]).toEqual(['continuous', 64, 8, 64, 16, undefined]);
    expect(Object.keys(c.stateDict()).sort()).toEqual(['components', 'mean', 'scale']);
    expect(c.parameters().every((t) => !t.requiresGrad)).toBe(true);
    expect(c.numParameters({ trainableOnly: true })).toBe(0);
  });

  it('the data-free basis is the orthonormal DCT, lowest frequencies first', () => {
    const c = createCodec({ kind: 'continuous', imageSize: S, patchSize: P, latentDim: D }) as PatchAutoencoder;
    const gram = c.components.matmul(c.components.t()).sub(torch.eye(D)).abs().max().item();
    expect(gram).toBeLessThan(1e-5);
    // The first three directions are the per-channel patch means (DC).
    const first = f32(c.components.narrow(0, 0, 3));
    for (let ch = 0; ch < 3; ch++) for (let i = 0; i < D; i++) {
      expect(first[ch * D + i]).toBeCloseTo(Math.floor(i / (P * P)) === ch ? 1 / P : 0, 6);
    }
    // Full rank: decode(encode(x)) = x.
    const x = asTensor(data);
    expect(Number(c.decode(c.encode(x)).sub(x).abs().max().item())).toBeLessThan(1e-5);
  });

  it('fits the principal components of the patches (float64 power-iteration reference)', () => {
    const ref = reference(data);
    const { codec, eigenvalues } = fitted(data, 6);
    const mean = f32(codec.mean);
    ref.mean.forEach((m, i) => expect(mean[i]).toBeCloseTo(m, 5));
    expect(eigenvalues[0]).toBeCloseTo(ref.lambda, 6);
    expect(eigenvalues.reduce((a, b) => a + b, 0)).toBeCloseTo(ref.trace, 6);
    const c0 = f32(codec.components.select(0, 0));
    const dot = ref.u.reduce((a, e, i) => a + e * c0[i], 0);
    expect(Math.abs(dot)).toBeGreaterThan(1 - 1e-5);
    // Sign convention: the largest-magnitude entry of each direction is positive.
    let best = 0;
    c0.forEach((e, i) => { if (Math.abs(e) > Math.abs(c0[best])) best = i; });
    expect(c0[best]).toBeGreaterThan(0);
    expect(Number(codec.scale.select(0, 0).item()) ** 2).toBeCloseTo(ref.lambda, 5);
  });

  it('latents are [B, g², latentDim], zero-mean, unit-variance and uncorrelated on the fitting data', () => {
    const L = 6;
    const { codec } = fitted(data, L);
    const z = codec.encode(asTensor(data));
    expect(z.shape).toEqual([24, G * G, L]);
    expect(z.dtype).toBe('float32');
    const flat = z.reshape([-1, L]).to('float64');
    const m = flat.mean(0);
    expect(Number(m.abs().max().item())).toBeLessThan(1e-4);
    const centred = flat.sub(m);
    const cov = centred.t().matmul(centred).div(flat.shape[0]);
    expect(Number(cov.sub(torch.eye(L, L, { dtype: 'float64' })).abs().max().item())).toBeLessThan(1e-3);
  });

  it('reconstruction error on the fitting data is at most the discarded variance and falls with latentDim', () => {
    const x = asTensor(data);
    const errs: number[] = [];
    for (const L of [2, 6, 16, D]) {
      const { codec, eigenvalues } = fitted(data, L);
      const out = codec.decode(codec.encode(x));
      expect(Number(out.min().item())).toBeGreaterThanOrEqual(-1);
      expect(Number(out.max().item())).toBeLessThanOrEqual(1);
      const err = Number(out.sub(x).square().mean().item());
      const discarded = eigenvalues.subarray(L).reduce((a, b) => a + Math.max(b, 0), 0) / D;
      expect(err).toBeLessThanOrEqual(discarded * (1 + 1e-3) + 1e-9);
      errs.push(err);
    }
    for (let i = 1; i < errs.length; i++) expect(errs[i]).toBeLessThan(errs[i - 1]);
    expect(errs[errs.length - 1]).toBeLessThan(1e-9);
  });

  it('encode never records autograd; decode passes gradients to the latents only', () => {
    const { codec } = fitted(data, 4);
    const x = asTensor(data.subarray(0, 3 * S * S));
    x.requiresGrad = true;
    const z = codec.encode(x);
    expect(z.requiresGrad).toBe(false);
    const zl = z.detach();
    zl.requiresGrad = true;
    codec.decode(zl).mul(0.5).sum().backward();
    expect(zl.grad).not.toBeNull();
    expect(codec.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it('rejects bad latents, images and configurations with clear errors', () => {
    const c = createCodec({ kind: 'continuous', imageSize: S, patchSize: P, latentDim: 4 });
    expect(() => c.decode(torch.zeros([1, G * G, 5]))).toThrow(/expected latents \[B, 16, 4\].*got shape \[1, 16, 5\]/);
    expect(() => c.decode(torch.zeros([1, G * G, 4], { dtype: 'int64' }))).toThrow(/floating point/);
    expect(() => c.decode('x' as unknown as Tensor)).toThrow(/expected latents/);
    expect(() => c.encode(torch.zeros([2, 4, S, S]))).toThrow(/expected 3 channels/);
    expect(() => c.encode(torch.zeros([2, 3, 8, 8]))).toThrow(/encodes 16×16 images, got 8×8/);
    expect(() => createCodec({ kind: 'continuous', imageSize: S, patchSize: P, latentDim: D + 1 })).toThrow(/latentDim 49 exceeds the 48 values/);
    expect(() => fitPca(new PatchMoments(D), 2)).toThrow(/no patches/);
  });
});
