// Sequential and ModuleList: children named "0", "1", ... as in PyTorch.
import { tidy } from '../torch/scope';
import type { Tensor } from '../torch/tensor';
import { Module } from './module';

export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];
  constructor(modules: M[] = []) {
    super();
    for (const m of modules) this.push(m);
  }
  push(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }
  at(i: number): M {
    const m = this.items[i < 0 ? i + this.items.length : i];
    if (m === undefined) throw new RangeError(`ModuleList index ${i} out of range (length ${this.items.length})`);
    return m;
  }
  get length(): number { return this.items.length; }
  [Symbol.iterator](): Iterator<M> { return this.items[Symbol.iterator](); }
  forward(): never { throw new Error('ModuleList has no forward(); iterate over its modules'); }
}

type Callable = Module & { forward(x: Tensor): Tensor };

/** Applies its modules in order; intermediates are freed as it goes. */
export class Sequential extends Module {
  private readonly items: Callable[];
  constructor(...modules: Callable[]) {
    super();
    this.items = modules;
    modules.forEach((m, i) => this.registerModule(String(i), m));
  }
  at(i: number): Callable { return this.items[i < 0 ? i + this.items.length : i]; }
  get length(): number { return this.items.length; }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = x;
      for (const m of this.items) h = m.forward(h);
      return h === x ? x.to(x.dtype) : h;
    });
  }
}
