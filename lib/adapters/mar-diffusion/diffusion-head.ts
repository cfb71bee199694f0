// MAR's per-token diffusion head (models/diffloss.py: SimpleMLPAdaLN, under mar.diffloss.net)
// and its sampler. The head maps a noised token x_t [M, C], its timestep t [M] and the MAR
// decoder's condition c [M, Dz] to ε (and, with learnSigma, C more channels for the published
// variance output, which this package does not train). Training uses the discrete cosine
// schedule of improved DDPM over numTimesteps steps; sampling respaces it to a few steps.
import { timestepEmbedding } from '../../nn/timestep';
import { SiLU } from '../../nn/activation';
import { Sequential, ModuleList } from '../../nn/container';
import { normal_, zeros_ } from '../../nn/init';
import { Linear, type FactoryOpts } from '../../nn/linear';
import { Module } from '../../nn/module';
import { LayerNorm } from '../../nn/normalization';
import { cosineAlphaBars } from '../../losses/noise';
import * as creation from '../../torch/creation';
import { tidy } from '../../torch/scope';
import type { Tensor } from '../../torch/tensor';
import { xavierLinear } from './block';
import type { Device } from '../../torch/dtype';

/** x · (1 + scale) + shift */
const modulate = (x: Tensor, shift: Tensor, scale: Tensor): Tensor => tidy(() => x.mul(scale.add(1)).add(shift));

export class TimestepEmbedder extends Module {
  readonly mlp: Sequential;
  constructor(readonly hiddenSize: number, readonly frequencySize = 256, f: FactoryOpts = {}) {
    super();
    this.mlp = this.registerModule('mlp', new Sequential(new Linear(frequencySize, hiddenSize, f), new SiLU(), new Linear(hiddenSize, hiddenSize, f)));
  }
  forward(t: Tensor): Tensor {
    return tidy(() => {
      const w = (this.mlp.at(0) as Linear).weight;
      const e = timestepEmbedding(t, this.frequencySize);
      return this.mlp.forward(e.dtype === w.dtype ? e : e.to(w.dtype));
    });
  }
}

/** x + gate · mlp(modulate(in_ln(x), shift, scale)), the modulation from y by adaLN_modulation = (SiLU, Linear). */
export class ResBlock extends Module {
  readonly inLn: LayerNorm;
  readonly mlp: Sequential;
  readonly adaLNModulation: Sequential;
  constructor(readonly channels: number, f: FactoryOpts = {}) {
    super();
    this.inLn = this.registerModule('in_ln', new LayerNorm(channels, { eps: 1e-6, ...f }));
    this.mlp = this.registerModule('mlp', new Sequential(new Linear(channels, channels, f), new SiLU(), new Linear(channels, channels, f)));
    this.adaLNModulation = this.registerModule('adaLN_modulation', new Sequential(new SiLU(), new Linear(channels, 3 * channels, f)));
  }
  forward(x: Tensor, y: Tensor): Tensor {
    return tidy(() => {
      const [shift, scale, gate] = this.adaLNModulation.forward(y).chunk(3, -1);
      return x.add(gate.mul(this.mlp.forward(modulate(this.inLn.forward(x), shift, scale))));
    });
  }
}

export class FinalLayer extends Module {
  readonly normFinal: LayerNorm;
  readonly linear: Linear;
  readonly adaLNModulation: Sequential;
  constructor(channels: number, outChannels: number, f: FactoryOpts = {}) {
    super();
    this.normFinal = this.registerModule('norm_final', new LayerNorm(channels, { eps: 1e-6, elementwiseAffine: false, ...f }));
    this.linear = this.registerModule('linear', new Linear(channels, outChannels, f));
    this.adaLNModulation = this.registerModule('adaLN_modulation', new Sequential(new SiLU(), new Linear(channels, 2 * channels, f)));
  }
  forward(x: Tensor, c: Tensor): Tensor {
    return tidy(() => {
      const [shift, scale] = this.adaLNModulation.forward(c).chunk(2, -1);
      return this.linear.forward(modulate(this.normFinal.forward(x), shift, scale));
    });
  }
}

export interface HeadConfig extends FactoryOpts {
  inChannels: number;
  width: number;
  depth: number;
  zChannels: number;
  learnSigma: boolean;
}

/** SimpleMLPAdaLN: input_proj(x) through adaLN residual blocks conditioned on time_embed(t) + cond_embed(c). */
export class SimpleMLPAdaLN extends Module {
  readonly timeEmbed: TimestepEmbedder;
  readonly condEmbed: Linear;
  readonly inputProj: Linear;
  readonly resBlocks: ModuleList<ResBlock>;
  readonly finalLayer: FinalLayer;
  readonly inChannels: number;
  constructor(c: HeadConfig) {
    super();
    const f = { dtype: c.dtype, device: c.device };
    this.inChannels = c.inChannels;
    this.timeEmbed = this.registerModule('time_embed', new TimestepEmbedder(c.width, 256, f));
    this.condEmbed = this.registerModule('cond_embed', new Linear(c.zChannels, c.width, f));
    this.inputProj = this.registerModule('input_proj', new Linear(c.inChannels, c.width, f));
    this.resBlocks = this.registerModule('res_blocks', new ModuleList(Array.from({ length: c.depth }, () => new ResBlock(c.width, f))));
    this.finalLayer = this.registerModule('final_layer', new FinalLayer(c.width, c.learnSigma ? 2 * c.inChannels : c.inChannels, f));
    this.initialize();
  }
  /** MAR's initialize_weights: xavier Linear weights, zero biases, N(0, 0.02) time MLP, zeroed adaLN and output layers. */
  private initialize(): void {
    for (const [, m] of this.namedModules()) if (m instanceof Linear) xavierLinear(m);
    normal_((this.timeEmbed.mlp.at(0) as Linear).weight, 0, 0.02);
    normal_((this.timeEmbed.mlp.at(2) as Linear).weight, 0, 0.02);
    const zero = (l: Linear) => { zeros_(l.weight); if (l.bias) zeros_(l.bias); };
    for (const b of this.resBlocks) zero(b.adaLNModulation.at(1) as Linear);
    zero(this.finalLayer.adaLNModulation.at(1) as Linear);
    zero(this.finalLayer.linear);
  }
  /** x [M, C], t [M] (timesteps of the training schedule, may be fractional), c [M, Dz] → [M, C] or [M, 2C]. */
  forward(x: Tensor, t: Tensor, c: Tensor): Tensor {
    return tidy(() => {
      let h = this.inputProj.forward(x);
      const y = this.timeEmbed.forward(t).add(this.condEmbed.forward(c));
      for (const b of this.resBlocks) h = b.forward(h, y);
      return this.finalLayer.forward(h, y);
    });
  }
  /** The ε channels of forward(). */
  eps(x: Tensor, t: Tensor, c: Tensor): Tensor {
    return tidy(() => {
      const out = this.forward(x, t, c);
      return out.shape[1] === this.inChannels ? out : out.narrow(1, 0, this.inChannels);
    });
  }
}

/** MAR's DiffLoss module: only its network has parameters (mar.diffloss.net.*). */
export class DiffLoss extends Module {
  readonly net: SimpleMLPAdaLN;
  constructor(c: HeadConfig) {
    super();
    this.net = this.registerModule('net', new SimpleMLPAdaLN(c));
  }
  forward(x: Tensor, t: Tensor, c: Tensor): Tensor { return this.net.forward(x, t, c); }
}

/**
 * guided-diffusion's respacing: `steps` timesteps of the `total`-step schedule, evenly spaced
 * (space_timesteps(total, [steps])), ascending.
 */
export function spacedTimesteps(total: number, steps: number): number[] {
  if (steps === 1) return [0];
  const stride = (total - 1) / (steps - 1);
  const out = new Set<number>();
  for (let i = 0; i < steps; i++) out.add(Math.round(i * stride));
  return [...out].sort((a, b) => a - b);
}

/** The respaced schedule: the kept timesteps and ᾱ at each (float64, from the discrete cosine schedule). */
export function respacedSchedule(total: number, steps: number): { timesteps: number[]; alphaBars: number[] } {
  const table = tidy(() => Array.from(cosineAlphaBars(total, { dtype: 'float64' }).toArray() as Float64Array));
  const timesteps = spacedTimesteps(total, steps);
  return { timesteps, alphaBars: timesteps.map((t) => table[t]) };
}

export interface SampleOptions {
  total: number;
  steps: number;
  sampler: 'ddpm' | 'ddim';
  /** Scales the noise added at each DDPM step (MAR's temperature); 0 = the posterior mean. */
  temperature: number;
  /** Clamp the predicted x0 to [-clip, clip] (0 = no clamp, MAR's clip_denoised=False). */
  clip: number;
}

/**
 * Ancestral sampling of M tokens [M, C] from x_T ~ N(0, I): eps(x, t) gives ε at the original
 * timestep t (a float tensor [M]). DDPM uses the posterior of the respaced chain with its fixed
 * ("small") variance; DDIM (η = 0) is deterministic given x_T.
 */
export function sampleTokens(m: number, channels: number, eps: (x: Tensor, t: Tensor) => Tensor, o: SampleOptions, device: Device = 'cpu'): Tensor {
  const { timesteps, alphaBars } = respacedSchedule(o.total, o.steps);
  const d = { device };
  let x = creation.randn([m, channels], d);
  for (let i = timesteps.length - 1; i >= 0; i--) {
    const next = tidy(() => {
      const ab = alphaBars[i];
      const abPrev = i > 0 ? alphaBars[i - 1] : 1;
      const beta = 1 - ab / abPrev;
      const t = creation.full([m], timesteps[i], { dtype: 'float32', ...d });
      const e = eps(x, t);
      let x0 = x.sub(e.mul(Math.sqrt(1 - ab))).div(Math.sqrt(ab));
      if (o.clip > 0) x0 = x0.clamp(-o.clip, o.clip);
      if (o.sampler === 'ddim') return x0.mul(Math.sqrt(abPrev)).add(e.mul(Math.sqrt(1 - abPrev)));
      const c1 = (beta * Math.sqrt(abPrev)) / (1 - ab);
      const c2 = ((1 - abPrev) * Math.sqrt(1 - beta)) / (1 - ab);
      const mean = x0.mul(c1).add(x.mul(c2));
      if (i === 0 || o.temperature === 0) return mean;
      const variance = (beta * (1 - abPrev)) / (1 - ab);
      return mean.add(creation.randnLike(x).mul(Math.sqrt(variance) * o.temperature));
    });
    x.dispose();
    x = next;
  }
  return x;
}
