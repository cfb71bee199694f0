// Linear and Embedding, initialised as PyTorch's defaults.
import * as creation from '../torch/creation';
import type { Device, DType } from '../torch/dtype';
import * as F from '../torch/functional';
import type { Tensor } from '../torch/tensor';
import { kaimingUniform_, normal_, uniform_ } from './init';
import { Module } from './module';
import { noGrad } from '../torch/autograd';

export interface FactoryOpts { dtype?: DType; device?: Device }

/** y = x Wᵀ + b; weight [out, in] ~ U(±1/√in) (kaiming_uniform with a = √5), bias ~ U(±1/√in). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } & FactoryOpts = {}) {
    super();
    const f = { dtype: opts.dtype, device: opts.device };
    this.weight = this.registerParameter('weight', kaimingUniform_(creation.empty([outFeatures, inFeatures], f), Math.sqrt(5)));
    const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
    this.bias = (opts.bias ?? true) ? this.registerParameter('bias', uniform_(creation.empty([outFeatures], f), -bound, bound)) : this.registerParameter('bias', null);
  }
  forward(x: Tensor): Tensor { return F.linear(x, this.weight, this.bias); }
}

/** A lookup table [num, dim] ~ N(0, 1); the paddingIdx row starts at zero and gets no gradient. */
export class Embedding extends Module {
  readonly weight: Tensor;
  readonly paddingIdx: number;
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, opts: { paddingIdx?: number } & FactoryOpts = {}) {
    super();
    this.weight = this.registerParameter('weight', normal_(creation.empty([numEmbeddings, embeddingDim], { dtype: opts.dtype, device: opts.device })));
    const p = opts.paddingIdx;
    this.paddingIdx = p === undefined ? -1 : p < 0 ? p + numEmbeddings : p;
    if (p !== undefined) noGrad(() => { const row = this.weight.select(0, this.paddingIdx); row.zero_(); row.dispose(); });
  }
  forward(indices: Tensor): Tensor { return F.embedding(indices, this.weight, this.paddingIdx); }
}
