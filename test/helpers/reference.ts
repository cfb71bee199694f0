// Plain-JS float64 reference implementations and comparison helpers (no libtorch involved).

/** erf(x) = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (1*3*...*(2n+1)): positive terms, no cancellation. */
export function erf(x: number): number {
  if (x < 0) return -erf(-x);
  if (x > 6) return 1;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

export const geluErf = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
export const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

export function logsumexp(xs: number[]): number {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
}

export function softmax(xs: number[]): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function variance(xs: number[], unbiased = true): number {
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - (unbiased ? 1 : 0));
}

export function layerNorm(xs: number[], w: number[] | null, b: number[] | null, eps: number): number[] {
  const m = mean(xs);
  const v = variance(xs, false);
  return xs.map((x, i) => ((x - m) / Math.sqrt(v + eps)) * (w ? w[i] : 1) + (b ? b[i] : 0));
}

export const pnorm = (xs: number[], p: number) => xs.reduce((s, x) => s + Math.abs(x) ** p, 0) ** (1 / p);

/** Row-major [n, k] @ [k, m]. */
export function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number, k: number, m: number): number[] {
  const out = new Array<number>(n * m).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
    let s = 0;
    for (let t = 0; t < k; t++) s += a[i * k + t] * b[t * m + j];
    out[i * m + j] = s;
  }
  return out;
}

/** conv2d, N=1, groups=1: x [C, H, W], w [O, C, KH, KW], bias [O]. */
export function conv2d(
  x: ArrayLike<number>, [C, H, W]: number[], w: ArrayLike<number>, [O, , KH, KW]: number[], bias: ArrayLike<number> | null,
  stride = 1, padding = 0,
): { data: number[]; shape: number[] } {
  const OH = Math.floor((H + 2 * padding - KH) / stride) + 1;
  const OW = Math.floor((W + 2 * padding - KW) / stride) + 1;
  const data: number[] = [];
  for (let o = 0; o < O; o++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
    let s = bias ? bias[o] : 0;
    for (let c = 0; c < C; c++) for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
      const iy = oy * stride - padding + ky;
      const ix = ox * stride - padding + kx;
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      s += x[(c * H + iy) * W + ix] * w[((o * C + c) * KH + ky) * KW + kx];
    }
    data.push(s);
  }
  return { data, shape: [1, O, OH, OW] };
}

/** One channel [H, W] resized to [OH, OW] with PyTorch's nearest rule (output size given). */
export function resizeNearest(x: ArrayLike<number>, H: number, W: number, OH: number, OW: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < OH; y++) for (let xx = 0; xx < OW; xx++) {
    const sy = Math.min(Math.floor((y * H) / OH), H - 1);
    const sx = Math.min(Math.floor((xx * W) / OW), W - 1);
    out.push(x[sy * W + sx]);
  }
  return out;
}

/** One channel [H, W] resized to [OH, OW] bilinearly, as upsample_bilinear2d (output size given). */
export function resizeBilinear(x: ArrayLike<number>, H: number, W: number, OH: number, OW: number, alignCorners: boolean): number[] {
  const src = (d: number, inSize: number, outSize: number) => {
    if (alignCorners) return outSize > 1 ? (d * (inSize - 1)) / (outSize - 1) : 0;
    return Math.max(0, (d + 0.5) * (inSize / outSize) - 0.5);
  };
  const out: number[] = [];
  for (let y = 0; y < OH; y++) for (let xx = 0; xx < OW; xx++) {
    const fy = src(y, H, OH);
    const fx = src(xx, W, OW);
    const y0 = Math.floor(fy);
    const x0 = Math.floor(fx);
    const y1 = Math.min(y0 + 1, H - 1);
    const x1 = Math.min(x0 + 1, W - 1);
    const ly = fy - y0;
    const lx = fx - x0;
    const at = (a: number, b: number) => x[a * W + b];
    out.push((1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) + ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1)));
  }
  return out;
}

/** Reflection of an index into [0, n) without repeating the edge (PyTorch's 'reflect'). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let k = ((i % period) + period) % period;
  if (k >= n) k = period - k;
  return k;
}

export function cumsum(xs: number[]): number[] {
  let s = 0;
  return xs.map((x) => (s += x));
}

/** Flattens a nested array of numbers. */
export function flat(a: unknown): number[] {
  return Array.isArray(a) ? a.flatMap(flat) : [a as number];
}

/** Elementwise |a - b| <= atol + rtol |b|, with a readable failure message. NaN matches NaN. */
export function expectClose(actual: ArrayLike<number | bigint>, expected: ArrayLike<number>, atol = 1e-12, rtol = 1e-12): void {
  const a = Array.from(actual as ArrayLike<number>, Number);
  const e = Array.from(expected);
  if (a.length !== e.length) throw new Error(`expectClose: length ${a.length} != expected ${e.length}`);
  const bad: string[] = [];
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(e[i]) && Number.isNaN(a[i])) continue;
    if (e[i] === a[i]) continue;
    if (!(Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]))) bad.push(`[${i}] got ${a[i]}, expected ${e[i]}`);
  }
  if (bad.length) throw new Error(`expectClose: ${bad.length} of ${a.length} elements differ (atol ${atol}, rtol ${rtol}):\n  ${bad.slice(0, 8).join('\n  ')}`);
}
