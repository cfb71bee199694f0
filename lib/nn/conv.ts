// Conv2d, initialised as PyTorch (kaiming_uniform a = √5 over fan_in = in/groups · kh · kw).
import * as creation from '../torch/creation';
import * as F from '../torch/functional';
import type { Tensor } from '../torch/tensor';
import { kaimingUniform_, uniform_ } from './init';
import type { FactoryOpts } from './linear';
import { Module } from './module';

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

export interface Conv2dOpts extends FactoryOpts {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: number | [number, number], readonly opts: Conv2dOpts = {}) {
    super();
    const groups = opts.groups ?? 1;
    if (inChannels % groups || outChannels % groups) throw new Error(`Conv2d: channels (${inChannels}, ${outChannels}) must be divisible by groups (${groups})`);
    this.kernelSize = pair(kernelSize);
    const f = { dtype: opts.dtype, device: opts.device };
    this.weight = this.registerParameter('weight', kaimingUniform_(creation.empty([outChannels, inChannels / groups, ...this.kernelSize], f), Math.sqrt(5)));
    const fanIn = (inChannels / groups) * this.kernelSize[0] * this.kernelSize[1];
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    this.bias = this.registerParameter('bias', (opts.bias ?? true) ? uniform_(creation.empty([outChannels], f), -bound, bound) : null);
  }
  forward(x: Tensor): Tensor {
    const o = this.opts;
    return F.conv2d(x, this.weight, this.bias, {
      stride: pair(o.stride ?? 1), padding: pair(o.padding ?? 0), dilation: pair(o.dilation ?? 1), groups: o.groups ?? 1,
    });
  }
}
