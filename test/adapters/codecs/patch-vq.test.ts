// The patch VQ tokenizer and k-means, checked against plain-JS float64 references.
import { createCodec, kmeans, patchify, PatchVQ, unpatchify } from '../../../lib/adapters/codecs';
import { Rng } from '../../../lib/data/rng';
import { torch, Tensor, TorchError } from '../../../lib/torch';
import { nearest, patchesOf, sqDist } from './reference';

const f32 = (t: Tensor) => t.toArray() as Float32Array;
const S = 16, P = 4, G = S / P, D = 3 * P * P;

function randomImages(b: number, seed: number): Float32Array {
  const rng = new Rng(seed, 1);
  return Float32Array.from({ length: b * 3 * S * S }, () => rng.uniform(-1, 1));
}
const imagesTensor = (data: Float32Array) => torch.tensor(data, { shape: [data.length / (3 * S * S), 3, S, S] });
const rowsOf = (ps: Float64Array[]) => torch.tensor(Float32Array.from(ps.flatMap((v) => Array.from(v))), { shape: [ps.length, ps[0].length] });

/** n patches around `centres` well-separated cluster centres, noise ±0.05. */
function clustered(n: number, centres: number, seed: number): { x: Float64Array[]; noiseVar: number } {
  const rng = new Rng(seed, 2);
  const cs = Array.from({ length: centres }, () => Float64Array.from({ length: D }, () => rng.uniform(-1, 1)));
  const x = Array.from({ length: n }, (_, i) => Float64Array.from(cs[i % centres], (c) => c + rng.uniform(-0.05, 0.05)));
  return { x, noiseVar: (0.1 ** 2) / 12 };
}

describe('patch layout', () => {
  it('patchify is row-major over the grid and (channel, row, column) inside a patch; unpatchify inverts it', () => {
    const data = randomImages(2, 1);
    const x = imagesTensor(data);
    const p = patchify(x, P);
    expect(p.shape).toEqual([2, G * G, D]);
    const ref = patchesOf(data, 2, S, P);
    const got = f32(p);
    ref.forEach((v, r) => v.forEach((e, i) => expect(got[r * D + i]).toBe(Math.fround(e))));
    expect(Array.from(f32(unpatchify(p, P, G)))).toEqual(Array.from(data));
  });
});

describe('PatchVQ', () => {
  it('has the ImageCodec shape fields and a frozen codebook parameter', () => {
    const c = new PatchVQ({ imageSize: 64, patchSize: 8, codebookSize: 512 });
    expect([c.kind, c.imageSize, c.gridSize, c.numTokens, c.codebookSize, c.latentDim]).toEqual(['vq', 64, 8, 64, 512, undefined]);
    expect(Object.keys(c.stateDict())).toEqual(['codebook']);
    expect(c.codebook.shape).toEqual([512, 192]);
    expect(c.parameters().length).toBe(1);
    expect(c.parameters().every((t) => !t.requiresGrad)).toBe(true);
    expect(c.numParameters({ trainableOnly: true })).toBe(0);
    expect(c.training).toBe(false);
  });

  it('encode gives int64 ids of the nearest code (float64 brute force); decode pastes the codes back', () => {
    const k = 37;
    const rng = new Rng(3, 3);
    const codes = Float32Array.from({ length: k * D }, () => rng.uniform(-1, 1));
    const c = createCodec({ kind: 'vq', imageSize: S, patchSize: P, codebookSize: k }) as PatchVQ;
    c.setCodebook(torch.tensor(codes, { shape: [k, D] }));
    const data = randomImages(3, 4);
    const ids = c.encode(imagesTensor(data));
    expect(ids.dtype).toBe('int64');
    expect(ids.shape).toEqual([3, G * G]);
    const ref = nearest(patchesOf(data, 3, S, P), codes, k);
    const got = Array.from(ids.toArray() as BigInt64Array, Number);
    const patches = patchesOf(data, 3, S, P);
    got.forEach((id, i) => {
      // Equal, or a float32 near-tie no worse than the float64 optimum by 1e-4.
      if (id !== ref.ids[i]) expect(sqDist(patches[i], codes, id * D) - ref.dist[i]).toBeLessThan(1e-4);
    });
    expect(got.filter((id, i) => id === ref.ids[i]).length).toBeGreaterThanOrEqual(got.length - 1);

    const out = c.decode(ids.to('int32'));
    expect(out.shape).toEqual([3, 3, S, S]);
    expect(out.dtype).toBe('float32');
    const back = patchesOf(f32(out), 3, S, P);
    back.forEach((v, i) => expect(sqDist(v, codes, got[i] * D)).toBe(0));
  });

  it('the data-free codebook is constant-colour patches in [-1, 1] and reconstructs within range', () => {
    const c = createCodec({ kind: 'vq', imageSize: S, patchSize: P, codebookSize: 64 }) as PatchVQ;
    const cb = f32(c.codebook);
    for (let k = 0; k < 64; k++) for (let ch = 0; ch < 3; ch++) {
      const v = cb.subarray(k * D + ch * P * P, k * D + (ch + 1) * P * P);
      expect(new Set(v).size).toBe(1);
      expect(Math.abs(v[0])).toBeLessThanOrEqual(1);
    }
    const out = c.forward(imagesTensor(randomImages(2, 5)));
    expect(out.shape).toEqual([2, 3, S, S]);
    expect(Number(out.min().item())).toBeGreaterThanOrEqual(-1);
    expect(Number(out.max().item())).toBeLessThanOrEqual(1);
  });

  it('never records autograd and gives no gradient to the codebook', () => {
    const c = createCodec({ kind: 'vq', imageSize: S, patchSize: P, codebookSize: 8 }) as PatchVQ;
    const x = imagesTensor(randomImages(1, 6));
    x.requiresGrad = true;
    const ids = c.encode(x);
    expect(ids.requiresGrad).toBe(false);
    expect(c.decode(ids).requiresGrad).toBe(false);
    expect(c.codebook.grad).toBeNull();
  });

  it('rejects bad images, ids and configurations with clear errors', () => {
    const c = createCodec({ kind: 'vq', imageSize: S, patchSize: P, codebookSize: 8 });
    expect(() => c.encode(torch.zeros([1, 3, 32, 32]))).toThrow(/encodes 16×16 images, got 32×32/);
    expect(() => c.encode(torch.zeros([1, 1, S, S]))).toThrow(/expected 3 channels.*got 1/);
    expect(() => c.encode(torch.zeros([3, S, S]))).toThrow(/expected images \[B, 3, 16, 16\], got shape \[3, 16, 16\]/);
    expect(() => c.encode(torch.zeros([1, 3, S, S], { dtype: 'uint8' }))).toThrow(/floating point.*uint8/);
    expect(() => c.encode([1, 2, 3] as unknown as Tensor)).toThrow(TorchError);
    expect(() => c.decode(torch.tensor([Array(16).fill(8)], { dtype: 'int64' }))).toThrow(/code ids must be in \[0, 8\), got values from 8 to 8/);
    expect(() => c.decode(torch.tensor([[-1, ...Array(15).fill(0)]], { dtype: 'int64' }))).toThrow(/in \[0, 8\), got values from -1/);
    expect(() => c.decode(torch.zeros([1, 16]))).toThrow(/integer tensor.*float32/);
    expect(() => c.decode(torch.zeros([1, 15], { dtype: 'int64' }))).toThrow(/expected code ids \[B, 16\].*got shape \[1, 15\]/);
    expect(() => createCodec({ kind: 'vq', imageSize: 64, patchSize: 6, codebookSize: 8 })).toThrow(/patchSize 6 must divide imageSize 64/);
    expect(() => createCodec({ kind: 'vq', imageSize: 64, patchSize: 8, codebookSize: 0 })).toThrow(/codebookSize must be a positive integer/);
    expect(() => createCodec({ kind: 'nope' } as never)).toThrow(/kind must be 'vq' or 'continuous'/);
  });
});

describe('kmeans', () => {
  it('finds well-separated clusters: the objective falls to the noise level and never increases', () => {
    const { x, noiseVar } = clustered(600, 12, 7);
    const r = kmeans(rowsOf(x), 12, { seed: 1, iterations: 8 });
    for (let t = 1; t < r.objective.length; t++) expect(r.objective[t]).toBeLessThanOrEqual(r.objective[t - 1] * (1 + 1e-6));
    // Each cluster's own spread: D · Var(uniform ±0.05) per patch (± sampling error).
    expect(r.objective[r.objective.length - 1]).toBeLessThan(D * noiseVar * 1.2);
    // The reported objective is the mean squared distance to the nearest code (float64 reference).
    const ref = nearest(x, f32(r.codebook), 12);
    const m = ref.dist.reduce((a, b) => a + b, 0) / x.length;
    expect(Math.abs(r.objective[r.objective.length - 1] - m) / m).toBeLessThan(1e-4);
  });

  it('decreases the objective on real patches over iterations and is deterministic by seed', () => {
    const data = randomImages(4, 8);
    const x = patchify(imagesTensor(data), P).reshape([-1, D]);
    const a = kmeans(x, 16, { seed: 5, iterations: 5 });
    const b = kmeans(x, 16, { seed: 5, iterations: 5 });
    const c = kmeans(x, 16, { seed: 6, iterations: 5 });
    for (let t = 1; t < a.objective.length; t++) expect(a.objective[t]).toBeLessThanOrEqual(a.objective[t - 1] * (1 + 1e-6));
    expect(a.objective[5]).toBeLessThan(a.objective[0]);
    expect(Array.from(f32(a.codebook))).toEqual(Array.from(f32(b.codebook)));
    expect(a.objective).toEqual(b.objective);
    expect(Array.from(f32(a.codebook))).not.toEqual(Array.from(f32(c.codebook)));
  });

  it('re-seeds dead codes onto the worst-served patches', () => {
    // 95% identical patches: random initialisation picks duplicate codes, all but one of which get no patch.
    const rng = new Rng(9, 9);
    const x = Array.from({ length: 400 }, (_, i) => (i % 20 === 0 ? Float64Array.from({ length: D }, () => rng.uniform(-1, 1)) : new Float64Array(D)));
    const r = kmeans(rowsOf(x), 10, { seed: 2, iterations: 3, init: 'random' });
    expect(r.reseeded[0]).toBeGreaterThan(0);
    expect(r.objective[1]).toBeLessThan(r.objective[0]);
    for (let t = 1; t < r.objective.length; t++) expect(r.objective[t]).toBeLessThanOrEqual(r.objective[t - 1] * (1 + 1e-6));
  });

  it('refuses fewer patches than codes and bad options', () => {
    const x = torch.zeros([5, D]);
    expect(() => kmeans(x, 6)).toThrow(/5 patches cannot fit 6 codes/);
    expect(() => kmeans(x, 2, { init: 'nope' as never })).toThrow(/init must be/);
    expect(() => kmeans(x, 2, { iterations: -1 })).toThrow(/iterations must be a non-negative integer/);
    expect(() => kmeans(torch.zeros([5]), 2)).toThrow(/expected patches \[N, D\]/);
  });
});
