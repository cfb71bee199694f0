// Dropout and the activation modules (no parameters).
import * as F from '../torch/functional';
import type { Tensor } from '../torch/tensor';
import { Module } from './module';

/** Zeroes elements with probability p in training and scales the rest by 1/(1-p); identity in eval(). */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (p < 0 || p > 1) throw new Error(`Dropout: p must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor { return this.training && this.p > 0 ? F.dropout(x, this.p, true) : x.to(x.dtype); }
}

export class ReLU extends Module { forward(x: Tensor): Tensor { return x.relu(); } }
export class SiLU extends Module { forward(x: Tensor): Tensor { return x.silu(); } }
export class Tanh extends Module { forward(x: Tensor): Tensor { return x.tanh(); } }
export class Sigmoid extends Module { forward(x: Tensor): Tensor { return x.sigmoid(); } }
export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') { super(); }
  forward(x: Tensor): Tensor { return x.gelu(this.approximate); }
}
/** Returns a new handle to its input (so callers may dispose outputs uniformly). */
export class Identity extends Module { forward(x: Tensor): Tensor { return x.to(x.dtype); } }
