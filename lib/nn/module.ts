// nn.Module: parameters, buffers and submodules under PyTorch / Hugging Face dotted names
// (`model.layers.0.self_attn.q_proj.weight`), so published checkpoints load by name.
// Parameters and buffers are kept past every tidy() scope; they live as long as the module.
import type { Device, DType } from '../torch/dtype';
import { isFloating } from '../torch/dtype';
import { TorchError } from '../torch/errors';
import { noGrad } from '../torch/autograd';
import { dispose, keep } from '../torch/scope';
import { Tensor } from '../torch/tensor';

export type NamePattern = string | RegExp | ((name: string) => boolean);

/** A glob (`*` any run of characters, `?` one), a RegExp or a predicate, as a predicate. */
export function namePredicate(p: NamePattern): (name: string) => boolean {
  if (typeof p === 'function') return p;
  if (p instanceof RegExp) return (n) => p.test(n);
  const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return (n) => re.test(n);
}

export interface LoadResult { missingKeys: string[]; unexpectedKeys: string[] }

export abstract class Module {
  training = true;
  /** @internal */ readonly _parameters = new Map<string, Tensor | null>();
  /** @internal */ readonly _buffers = new Map<string, Tensor | null>();
  /** @internal */ readonly _nonPersistent = new Set<string>();
  /** @internal */ readonly _modules = new Map<string, Module | null>();

  abstract forward(...args: never[]): unknown;

  // ---- registration ----------------------------------------------------------------------
  /** Registers a trainable tensor under `name` (it becomes a leaf that requires grad). */
  registerParameter(name: string, t: Tensor | null): Tensor {
    checkName(name, this, 'parameter');
    if (t !== null) {
      if (!t.isLeaf) throw new TorchError(`parameter '${name}' must be a leaf tensor (detach() it first)`, 'registerParameter');
      if (isFloating(t.dtype)) t.requiresGrad = true;
      keep(t);
    }
    this._parameters.set(name, t);
    return t as Tensor;
  }
  /** Registers state that is not trained (running statistics, tables); persistent ones are in stateDict(). */
  registerBuffer(name: string, t: Tensor | null, persistent = true): Tensor {
    checkName(name, this, 'buffer');
    if (t !== null) keep(t);
    this._buffers.set(name, t);
    if (!persistent) this._nonPersistent.add(name); else this._nonPersistent.delete(name);
    return t as Tensor;
  }
  registerModule<M extends Module | null>(name: string, m: M): M {
    checkName(name, this, 'module');
    this._modules.set(name, m);
    return m;
  }

  // ---- traversal -------------------------------------------------------------------------
  *namedModules(prefix = '', seen = new Set<Module>()): Generator<[string, Module]> {
    if (seen.has(this)) return;
    seen.add(this);
    yield [prefix, this];
    for (const [name, m] of this._modules) if (m) yield* m.namedModules(prefix ? `${prefix}.${name}` : name, seen);
  }
  modules(): Module[] { return [...this.namedModules()].map(([, m]) => m); }
  namedChildren(): [string, Module][] { return [...this._modules].filter((e): e is [string, Module] => e[1] !== null); }
  children(): Module[] { return this.namedChildren().map(([, m]) => m); }

  /** Parameters with dotted names, each tensor once (a shared parameter under its first name). */
  namedParameters(prefix = '', recurse = true): [string, Tensor][] {
    return this.namedMembers((m) => m._parameters, prefix, recurse);
  }
  parameters(recurse = true): Tensor[] { return this.namedParameters('', recurse).map(([, p]) => p); }
  namedBuffers(prefix = '', recurse = true): [string, Tensor][] { return this.namedMembers((m) => m._buffers, prefix, recurse); }
  buffers(recurse = true): Tensor[] { return this.namedBuffers('', recurse).map(([, b]) => b); }

  private namedMembers(get: (m: Module) => Map<string, Tensor | null>, prefix: string, recurse: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = recurse ? [...this.namedModules(prefix)] : [[prefix, this]];
    for (const [mp, m] of mods) {
      for (const [n, t] of get(m)) {
        if (t === null || seen.has(t)) continue;
        seen.add(t);
        out.push([mp ? `${mp}.${n}` : n, t]);
      }
    }
    return out;
  }

  // ---- modes -----------------------------------------------------------------------------
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  eval(): this { return this.train(false); }

  apply(fn: (m: Module) => void): this {
    for (const m of this.modules()) fn(m);
    return this;
  }

  /**
   * Moves (device) or casts (floating dtype) every parameter and buffer in place: the tensors
   * keep their identity, so optimisers built before still hold them (PyTorch's `param.data = …`).
   * Integer and bool tensors keep their dtype on a dtype cast, as in PyTorch.
   */
  to(target: DType | Device | { dtype?: DType; device?: Device }): this {
    const spec = typeof target === 'string' ? (target === 'cpu' || target.startsWith('cuda') ? { device: target as Device } : { dtype: target as DType }) : target;
    noGrad(() => {
      for (const t of [...this.parameters(), ...this.buffers()]) {
        const dtype = spec.dtype !== undefined && isFloating(t.dtype) ? spec.dtype : undefined;
        if ((dtype === undefined || dtype === t.dtype) && (spec.device === undefined || sameDevice(spec.device, t.device))) continue;
        const moved = t.to({ dtype, device: spec.device });
        t.setData(moved);
        moved.dispose();
        const g = t.grad;
        if (g !== null) { t.grad = null; g.dispose(); }
      }
    });
    return this;
  }

  // ---- state -----------------------------------------------------------------------------
  /** Parameters and persistent buffers by dotted name: the module's own tensors (do not dispose them). */
  stateDict(prefix = ''): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [mp, m] of this.namedModules(prefix)) {
      const name = (n: string) => (mp ? `${mp}.${n}` : n);
      for (const [n, p] of m._parameters) if (p) out[name(n)] = p;
      for (const [n, b] of m._buffers) if (b && !m._nonPersistent.has(n)) out[name(n)] = b;
    }
    return out;
  }

  /**
   * Copies tensors into the module's parameters and persistent buffers by name (values are cast
   * to each parameter's dtype and device). With strict (the default), missing or unexpected keys
   * are an error; a shape mismatch always is. The error lists every problem at once.
   */
  loadStateDict(sd: Record<string, Tensor>, opts: { strict?: boolean } = {}): LoadResult {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !(k in sd));
    const unexpectedKeys = Object.keys(sd).filter((k) => !(k in own));
    const mismatches: string[] = [];
    for (const [k, t] of Object.entries(own)) {
      const src = sd[k];
      if (src === undefined) continue;
      const a = src.shape, b = t.shape;
      if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
        mismatches.push(`${k}: checkpoint shape [${a.join(', ')}], model shape [${b.join(', ')}]`);
      }
    }
    if (mismatches.length > 0 || (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0))) {
      const parts: string[] = [];
      if (strict && missingKeys.length) parts.push(`missing keys (${missingKeys.length}): ${missingKeys.join(', ')}`);
      if (strict && unexpectedKeys.length) parts.push(`unexpected keys (${unexpectedKeys.length}): ${unexpectedKeys.join(', ')}`);
      if (mismatches.length) parts.push(`shape mismatches (${mismatches.length}): ${mismatches.join('; ')}`);
      throw new TorchError(`loadStateDict: ${parts.join('. ')}`, 'loadStateDict');
    }
    noGrad(() => {
      for (const [k, t] of Object.entries(own)) if (k in sd) t.copy_(sd[k]);
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- training helpers ------------------------------------------------------------------
  /** Stops gradients for parameters whose name matches (a glob like `model.layers.*.mlp.*`, a RegExp or a predicate). Returns the names. */
  freeze(pattern: NamePattern = '*'): string[] { return this.setTrainable(pattern, false); }
  unfreeze(pattern: NamePattern = '*'): string[] { return this.setTrainable(pattern, true); }
  private setTrainable(pattern: NamePattern, on: boolean): string[] {
    const match = namePredicate(pattern);
    const names: string[] = [];
    for (const [n, p] of this.namedParameters()) {
      if (!match(n)) continue;
      p.requiresGrad = on;
      names.push(n);
    }
    return names;
  }
  /** Number of parameter elements (each shared tensor once); trainableOnly counts those requiring grad. */
  numParameters(opts: { trainableOnly?: boolean } = {}): number {
    let n = 0;
    for (const p of this.parameters()) if (!opts.trainableOnly || p.requiresGrad) n += p.numel;
    return n;
  }
  /** Drops every parameter's gradient (sets it to none). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      const g = p.grad;
      if (g !== null) { p.grad = null; g.dispose(); }
    }
  }
  /** Frees every parameter and buffer; the module is unusable afterwards. */
  dispose(): void { dispose([...this.parameters(), ...this.buffers()]); }

  toString(): string { return `${this.constructor.name}(${this.namedChildren().map(([n]) => n).join(', ')})`; }
}

function checkName(name: string, m: Module, kind: 'parameter' | 'buffer' | 'module'): void {
  if (name === '' || name.includes('.')) throw new TorchError(`'${name}' is not a valid ${kind} name (non-empty, no dots)`, 'Module');
  const kinds = { parameter: m._parameters, buffer: m._buffers, module: m._modules };
  for (const [k, map] of Object.entries(kinds)) {
    if (k !== kind && map.has(name)) throw new TorchError(`'${name}' is already a ${k} of this module; it cannot also be a ${kind}`, 'Module');
  }
}

function sameDevice(want: string, have: string): boolean {
  return want === have || (want === 'cuda' && have === 'cuda:0');
}
