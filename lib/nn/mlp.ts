// Feed-forward blocks: SwiGLU (Llama: down(silu(gate(x)) · up(x))) and the two-layer GELU MLP
// of ViT / CLIP / SigLIP (fc1, fc2).
import { tidy } from '../torch/scope';
import type { Tensor } from '../torch/tensor';
import { Linear, type FactoryOpts } from './linear';
import { Module } from './module';

export class SwiGLU extends Module {
  readonly gateProj: Linear;
  readonly upProj: Linear;
  readonly downProj: Linear;
  constructor(dim: number, hiddenDim: number, opts: { bias?: boolean } & FactoryOpts = {}) {
    super();
    const f = { bias: opts.bias ?? false, dtype: opts.dtype, device: opts.device };
    this.gateProj = this.registerModule('gate_proj', new Linear(dim, hiddenDim, f));
    this.upProj = this.registerModule('up_proj', new Linear(dim, hiddenDim, f));
    this.downProj = this.registerModule('down_proj', new Linear(hiddenDim, dim, f));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.downProj.forward(this.gateProj.forward(x).silu().mul(this.upProj.forward(x))));
  }
}

export class MLP extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(dim: number, hiddenDim: number, readonly opts: { bias?: boolean; approximate?: 'none' | 'tanh' } & FactoryOpts = {}) {
    super();
    const f = { bias: opts.bias ?? true, dtype: opts.dtype, device: opts.device };
    this.fc1 = this.registerModule('fc1', new Linear(dim, hiddenDim, f));
    this.fc2 = this.registerModule('fc2', new Linear(hiddenDim, dim, f));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.fc2.forward(this.fc1.forward(x).gelu(this.opts.approximate ?? 'none')));
  }
}
