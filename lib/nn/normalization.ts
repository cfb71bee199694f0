// LayerNorm, RMSNorm (Llama's, computed in float32) and GroupNorm, initialised to the identity.
import * as creation from '../torch/creation';
import * as F from '../torch/functional';
import { tidy } from '../torch/scope';
import { Tensor } from '../torch/tensor';
import type { FactoryOpts } from './linear';
import { Module } from './module';

export class LayerNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly normalizedShape: number[];
  readonly eps: number;
  constructor(normalizedShape: number | number[], opts: { eps?: number; elementwiseAffine?: boolean; bias?: boolean } & FactoryOpts = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    this.eps = opts.eps ?? 1e-5;
    const f = { dtype: opts.dtype, device: opts.device };
    const affine = opts.elementwiseAffine ?? true;
    this.weight = this.registerParameter('weight', affine ? creation.ones(this.normalizedShape, f) : null);
    this.bias = this.registerParameter('bias', affine && (opts.bias ?? true) ? creation.zeros(this.normalizedShape, f) : null);
  }
  forward(x: Tensor): Tensor { return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps); }
}

/** x / sqrt(mean(x², -1) + eps) · weight, the statistics in float32 whatever x's dtype (as Llama). */
export class RMSNorm extends Module {
  readonly weight: Tensor;
  constructor(readonly dim: number, readonly opts: { eps?: number } & FactoryOpts = {}) {
    super();
    this.weight = this.registerParameter('weight', creation.ones([dim], { dtype: opts.dtype, device: opts.device }));
  }
  get eps(): number { return this.opts.eps ?? 1e-6; }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const dtype = x.dtype;
      const xf = dtype === 'float32' || dtype === 'float64' ? x : x.float();
      const normed = xf.mul(xf.square().mean(-1, true).add(this.eps).rsqrt());
      return this.weight.mul(normed.dtype === dtype ? normed : normed.to(dtype));
    });
  }
}

export class GroupNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  constructor(readonly numGroups: number, readonly numChannels: number, readonly opts: { eps?: number; affine?: boolean } & FactoryOpts = {}) {
    super();
    if (numChannels % numGroups !== 0) throw new Error(`GroupNorm: numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    const f = { dtype: opts.dtype, device: opts.device };
    const affine = opts.affine ?? true;
    this.weight = this.registerParameter('weight', affine ? creation.ones([numChannels], f) : null);
    this.bias = this.registerParameter('bias', affine ? creation.zeros([numChannels], f) : null);
  }
  forward(x: Tensor): Tensor {
    return F.groupNorm(x, this.numGroups, this.weight, this.bias, this.opts.eps ?? 1e-5);
  }
}
