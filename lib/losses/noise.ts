// Noised inputs and regression targets of the three diffusion parameterisations the adapters
// use, for multitaskDiffusionLoss:
//   'eps'  x_t = alpha x0 + sigma eps, target eps           (DDPM; alpha^2 + sigma^2 = 1)
//   'v'    x_t = alpha x0 + sigma eps, target alpha eps - sigma x0   (v-prediction)
//   'flow' x_t = (1 - t) x0 + t eps,   target eps - x0      (rectified flow / flow matching)
// t is a [N] tensor in [0, 1] (one time per sample, the first dimension of x0). alpha and sigma
// come from cosineSchedule(t) unless a schedule is given (e.g. scheduleAt(cosineAlphaBars(1000), steps)
// for integer timesteps). Every temporary is freed (tidy); results are new tensors.
import type { DType } from '../torch/dtype';
import { TorchError } from '../torch/errors';
import * as creation from '../torch/creation';
import { tidy } from '../torch/scope';
import type { Tensor } from '../torch/tensor';

export type Parameterization = 'eps' | 'v' | 'flow';

/** x_t = alpha x0 + sigma eps, per sample: alpha and sigma are [N]. */
export interface NoiseSchedule {
  alphaBar: Tensor;
  alpha: Tensor;
  sigma: Tensor;
}

const PARAMS: readonly Parameterization[] = ['eps', 'v', 'flow'];

/**
 * The cosine schedule of improved DDPM (Nichol & Dhariwal 2021) at continuous times t in [0, 1]:
 * alphaBar(t) = f(t) / f(0) with f(t) = cos^2((t + s) / (1 + s) * pi / 2), alpha = sqrt(alphaBar),
 * sigma = sqrt(1 - alphaBar). alphaBar(0) = 1 and alphaBar(1) = 0 (pure noise).
 */
export function cosineSchedule(t: Tensor, s = 0.008): NoiseSchedule {
  if (!(s >= 0)) throw new TorchError(`the offset s must be >= 0, got ${s}`, 'cosineSchedule');
  return tidy(() => {
    const f0 = Math.cos((s / (1 + s)) * (Math.PI / 2)) ** 2;
    const alphaBar = t.add(s).mul(Math.PI / (2 * (1 + s))).cos().square().div(f0).clamp(0, 1);
    return { alphaBar, alpha: alphaBar.sqrt(), sigma: alphaBar.neg().add(1).clamp(0, 1).sqrt() };
  });
}

/**
 * The discrete cosine schedule of improved DDPM for integer timesteps 0..numSteps-1:
 * beta_i = min(1 - f((i+1)/T) / f(i/T), maxBeta), alphaBar_i = prod_{j <= i} (1 - beta_j). [numSteps]
 */
export function cosineAlphaBars(numSteps: number, opts: { s?: number; maxBeta?: number; dtype?: DType } = {}): Tensor {
  if (!Number.isInteger(numSteps) || numSteps < 1) throw new TorchError(`numSteps must be a positive integer, got ${numSteps}`, 'cosineAlphaBars');
  const s = opts.s ?? 0.008;
  const maxBeta = opts.maxBeta ?? 0.999;
  const f = (x: number) => Math.cos(((x + s) / (1 + s)) * (Math.PI / 2)) ** 2;
  const out = new Float64Array(numSteps);
  let prod = 1;
  for (let i = 0; i < numSteps; i++) {
    const beta = Math.min(1 - f((i + 1) / numSteps) / f(i / numSteps), maxBeta);
    prod *= 1 - beta;
    out[i] = prod;
  }
  return creation.tensor(out, { dtype: opts.dtype ?? 'float32' });
}

/** alpha and sigma at integer timesteps [N] (int64) of a table of alphaBar (e.g. cosineAlphaBars). */
export function scheduleAt(alphaBars: Tensor, steps: Tensor): NoiseSchedule {
  if (steps.dtype !== 'int64' && steps.dtype !== 'int32') throw new TorchError(`steps must be int64 or int32, got ${steps.dtype}`, 'scheduleAt');
  return tidy(() => {
    const alphaBar = alphaBars.indexSelect(0, steps.flatten());
    return { alphaBar, alpha: alphaBar.sqrt(), sigma: alphaBar.neg().add(1).clamp(0, 1).sqrt() };
  });
}

function check(x0: Tensor, noise: Tensor, t: Tensor, param: Parameterization, opName: string): number[] {
  if (!PARAMS.includes(param)) throw new TorchError(`param must be one of ${PARAMS.join(', ')}, got ${String(param)}`, opName);
  const xs = x0.shape;
  const ns = noise.shape;
  if (xs.length < 1) throw new TorchError('x0 must have a batch dimension [N, ...]', opName);
  if (ns.length !== xs.length || ns.some((d, i) => d !== xs[i])) {
    throw new TorchError(`noise shape [${ns.join(', ')}] does not match x0 shape [${xs.join(', ')}]`, opName);
  }
  const ts = t.shape;
  if (ts.length !== 1 || ts[0] !== xs[0]) throw new TorchError(`t must be [N] = [${xs[0]}] (one time per sample of x0), got [${ts.join(', ')}]`, opName);
  return xs;
}

/** [N] -> [N, 1, ..., 1] so a per-sample coefficient broadcasts over x0. */
function perSample(c: Tensor, ndim: number): Tensor {
  return ndim === 1 ? c : c.reshape([c.shape[0], ...new Array<number>(ndim - 1).fill(1)]);
}

/** a * x + b * y with per-sample a, b [N], computed in the promoted dtype, returned in dtype. */
function combine(a: Tensor, x: Tensor, b: Tensor, y: Tensor, dtype: DType): Tensor {
  const n = x.shape.length;
  const out = perSample(a, n).mul(x).add(perSample(b, n).mul(y));
  return out.dtype === dtype ? out : out.to(dtype);
}

/** The network input x_t for clean data x0 [N, ...], noise eps (same shape) and times t [N]. */
export function noisedInput(x0: Tensor, noise: Tensor, t: Tensor, param: Parameterization, schedule?: NoiseSchedule): Tensor {
  check(x0, noise, t, param, 'noisedInput');
  return tidy(() => {
    if (param === 'flow') return combine(t.neg().add(1), x0, t, noise, x0.dtype);
    const sch = schedule ?? cosineSchedule(t);
    return combine(sch.alpha, x0, sch.sigma, noise, x0.dtype);
  });
}

/** What the network regresses: eps, v = alpha eps - sigma x0, or the flow velocity eps - x0. */
export function diffusionTarget(x0: Tensor, noise: Tensor, t: Tensor, param: Parameterization, schedule?: NoiseSchedule): Tensor {
  check(x0, noise, t, param, 'diffusionTarget');
  return tidy(() => {
    if (param === 'eps') return noise.to(x0.dtype); // a new handle (sharing noise's storage when the dtype matches)
    if (param === 'flow') {
      const v = noise.sub(x0);
      return v.dtype === x0.dtype ? v : v.to(x0.dtype);
    }
    const sch = schedule ?? cosineSchedule(t);
    return combine(sch.alpha, noise, sch.sigma.neg(), x0, x0.dtype);
  });
}
