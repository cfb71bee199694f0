// Plain-JS float64 references for the codec tests (no libtorch): the patch layout, nearest
// codes, the per-patch-mean-colour baseline and squared errors.

/** Patches of images [B, 3, S, S] (flat) as B·g² rows of 3p² values: row-major grid, (channel, row, column) inside. */
export function patchesOf(x: ArrayLike<number>, b: number, s: number, p: number): Float64Array[] {
  const g = s / p;
  const out: Float64Array[] = [];
  for (let n = 0; n < b; n++) {
    for (let gi = 0; gi < g; gi++) {
      for (let gj = 0; gj < g; gj++) {
        const v = new Float64Array(3 * p * p);
        for (let c = 0; c < 3; c++) {
          for (let y = 0; y < p; y++) {
            for (let xx = 0; xx < p; xx++) v[c * p * p + y * p + xx] = x[((n * 3 + c) * s + gi * p + y) * s + gj * p + xx];
          }
        }
        out.push(v);
      }
    }
  }
  return out;
}

export function sqDist(a: ArrayLike<number>, b: ArrayLike<number>, bOffset = 0): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += (a[i] - b[bOffset + i]) ** 2;
  return d;
}

/** Nearest code of each patch (codes flat [K, D]); ties → lowest id. */
export function nearest(patches: Float64Array[], codes: ArrayLike<number>, k: number): { ids: number[]; dist: number[] } {
  const d = patches[0].length;
  const ids: number[] = [], dist: number[] = [];
  for (const v of patches) {
    let best = 0, bd = Infinity;
    for (let j = 0; j < k; j++) {
      const dj = sqDist(v, codes, j * d);
      if (dj < bd) { bd = dj; best = j; }
    }
    ids.push(best); dist.push(bd);
  }
  return { ids, dist };
}

/** MSE of replacing every p × p patch of every channel by its mean (the per-patch-mean-colour baseline). */
export function patchMeanMse(x: ArrayLike<number>, b: number, s: number, p: number): number {
  let err = 0;
  for (const v of patchesOf(x, b, s, p)) {
    for (let c = 0; c < 3; c++) {
      let m = 0;
      for (let i = 0; i < p * p; i++) m += v[c * p * p + i];
      m /= p * p;
      for (let i = 0; i < p * p; i++) err += (v[c * p * p + i] - m) ** 2;
    }
  }
  return err / x.length;
}

export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`mse: lengths ${a.length} and ${b.length} differ`);
  return sqDist(a, b) / a.length;
}
