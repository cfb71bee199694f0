// Rectified flow (flow matching) for the DiT: training times, the noised input and velocity
// target (losses/noise 'flow': x_t = (1 − t) x0 + t ε, v = ε − x0), and the seeded Euler sampler
// with classifier-free guidance.
import { diffusionTarget, noisedInput } from '../../losses/noise';
import { getRngState, manualSeed, setRngState } from '../../torch/backend';
import * as creation from '../../torch/creation';
import * as F from '../../torch/functional';
import { tidy } from '../../torch/scope';
import type { Tensor } from '../../torch/tensor';
import type { FlowConfig } from './config';
import type { Device } from '../../torch/dtype';

/** n training times in (0, 1): sigmoid(N(mean, std)) (logit-normal, SD3) or U(0, 1). */
export function sampleTimes(n: number, f: FlowConfig, device: Device): Tensor {
  return tidy(() => {
    const d = { device: device };
    if (f.timeSampling === 'uniform') return creation.rand([n], d);
    return creation.randn([n], d).mul(f.logitStd).add(f.logitMean).sigmoid();
  });
}

/** x0 [N, T, C] → noised input, velocity target and times, one time per sample. */
export function flowPair(x0: Tensor, t: Tensor): { xt: Tensor; target: Tensor } {
  return tidy(() => {
    const eps = creation.randnLike(x0);
    return { xt: noisedInput(x0, eps, t, 'flow'), target: diffusionTarget(x0, eps, t, 'flow') };
  });
}

/** Standard normal noise of a shape from its own seed, leaving the global generator as it was. */
export function seededNoise(shape: number[], seed: number, device: Device): Tensor {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const saved = getRngState();
  try {
    manualSeed(seed);
    return tidy(() => creation.randn(shape, { device: device }));
  } finally {
    setRngState(saved);
    saved.dispose();
  }
}

/**
 * Euler integration of dx/dt = v from t = 1 (noise) to t = 0 (data) over `steps` uniform steps:
 * x ← x + (t_next − t) v. With cfg ≠ 1 each step evaluates the conditional and unconditional
 * velocities in one batch and uses v_u + cfg (v_c − v_u).
 * velocity(x [B', T, C], t [B']) → [B', T, C], where the first half of a doubled batch is conditional.
 */
export function eulerSample(noise: Tensor, steps: number, cfg: number, velocity: (x: Tensor, t: Tensor, guided: boolean) => Tensor): Tensor {
  let x = noise.clone();
  const B = noise.shape[0];
  const guided = cfg !== 1;
  for (let i = 0; i < steps; i++) {
    const t = 1 - i / steps, tNext = 1 - (i + 1) / steps;
    const next = tidy(() => {
      const n = guided ? 2 * B : B;
      const tt = creation.full([n], t, { device: x.device });
      let v: Tensor;
      if (guided) {
        const [vc, vu] = velocity(F.cat([x, x], 0), tt, true).chunk(2, 0);
        v = vu.add(vc.sub(vu).mul(cfg));
      } else {
        v = velocity(x, tt, false);
      }
      return x.add(v.mul(tNext - t));
    });
    x.dispose();
    x = next;
  }
  return x;
}
