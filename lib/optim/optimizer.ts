// The optimiser base: parameter groups with their own hyper-parameters, per-parameter state,
// zeroGrad (to none), and a PyTorch-shaped state dict ({ state: {index: {...}}, param_groups }).
// Subclasses run their whole update in one native call over every parameter.
import * as creation from '../torch/creation';
import { TorchError } from '../torch/errors';
import { noGrad } from '../torch/autograd';
import { keep } from '../torch/scope';
import { Tensor } from '../torch/tensor';

export type Hyper = Record<string, number | boolean | number[]>;
export type ParamGroup<H> = Partial<H> & { params: Tensor[] };
export type Params<H> = Tensor[] | ParamGroup<H>[] | Iterable<Tensor>;

export interface OptimizerState {
  state: Record<number, Record<string, Tensor | number>>;
  param_groups: (Hyper & { params: number[] })[];
}

/** Drops the parameters' gradients (setToNone) or zeroes them in place. */
export function zeroGrads(params: Tensor[], setToNone = true): void {
  for (const p of params) {
    const g = p.grad;
    if (g === null) continue;
    if (setToNone) p.grad = null; else noGrad(() => g.zero_());
    g.dispose();
  }
}

/** An optimiser's `params` argument as parameter groups (a plain list of tensors is one group). */
export function paramGroupsOf<H>(params: Params<H>, op: string): ParamGroup<H>[] {
  const list = Array.isArray(params) ? params : [...params];
  if (list.length === 0) throw new TorchError('the optimiser got an empty parameter list', op);
  return list[0] instanceof Tensor ? [{ params: list as Tensor[] } as ParamGroup<H>] : (list as ParamGroup<H>[]);
}

export abstract class Optimizer<H extends Hyper> {
  readonly paramGroups: (H & { params: Tensor[]; initialLr: number })[];
  /** Per-parameter state tensors, by the names PyTorch uses (exp_avg, momentum_buffer, ...). */
  protected readonly stateTensors = new Map<Tensor, Record<string, Tensor>>();
  /** Per-parameter step counts, in the order of params(). */
  protected steps: Float64Array;
  private flat: Tensor[];

  constructor(params: Params<H>, readonly defaults: H) {
    const groups = paramGroupsOf(params, 'Optimizer');
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g, gi) => {
      if (!Array.isArray(g.params) || !g.params.every((p) => p instanceof Tensor)) {
        throw new TorchError(`parameter group ${gi} must hold { params: Tensor[] }`, 'Optimizer');
      }
      for (const k of Object.keys(g)) {
        if (k !== 'params' && !(k in defaults)) throw new TorchError(`parameter group ${gi} has unknown option '${k}' (known: ${Object.keys(defaults).join(', ')})`, 'Optimizer');
      }
      for (const p of g.params) {
        if (seen.has(p)) throw new TorchError('a parameter appears in more than one parameter group', 'Optimizer');
        seen.add(p);
        if (!p.isLeaf) throw new TorchError("can't optimise a non-leaf tensor", 'Optimizer');
      }
      const merged = { ...defaults, ...g, params: [...g.params] } as H & { params: Tensor[]; initialLr: number };
      merged.initialLr = merged.lr as number;
      this.validate(merged);
      return merged;
    });
    this.flat = this.paramGroups.flatMap((g) => g.params);
    this.steps = new Float64Array(this.flat.length);
  }

  /** Checks one group's hyper-parameters. */
  protected abstract validate(g: H): void;
  /** Creates the state tensors of one parameter (called at the first step). */
  protected abstract initState(p: Tensor, g: H): Record<string, Tensor>;
  abstract step(): void;

  /** Every parameter, in group order. */
  params(): Tensor[] { return this.flat; }

  /** The state of each parameter, created at the first step. */
  protected ensureState(): void {
    if (this.stateTensors.size === this.flat.length) return;
    noGrad(() => {
      for (const g of this.paramGroups) {
        for (const p of g.params) {
          if (this.stateTensors.has(p)) continue;
          const s = this.initState(p, g);
          for (const t of Object.values(s)) keep(t);
          this.stateTensors.set(p, s);
        }
      }
    });
  }

  /** Drops every gradient (to none, as PyTorch ≥ 2.0 does by default), or zeroes them in place. */
  zeroGrad(setToNone = true): void { zeroGrads(this.flat, setToNone); }

  /** Per-parameter hyper-parameter rows for the native call. */
  protected rows(width: number, fill: (g: H, row: Float64Array) => void): Float64Array {
    const out = new Float64Array(this.flat.length * width);
    let i = 0;
    const row = new Float64Array(width);
    for (const g of this.paramGroups) {
      fill(g, row);
      for (let k = 0; k < g.params.length; k++, i++) out.set(row, i * width);
    }
    return out;
  }

  /** PyTorch's layout: state by parameter index (the optimiser's own tensors), groups with indices. */
  stateDict(): OptimizerState {
    const state: OptimizerState['state'] = {};
    this.flat.forEach((p, i) => {
      const s = this.stateTensors.get(p);
      if (s) state[i] = { step: this.steps[i], ...s };
    });
    let idx = 0;
    const param_groups = this.paramGroups.map((g) => {
      const { params, ...hyper } = g;
      return { ...(hyper as unknown as Hyper), params: params.map(() => idx++) };
    });
    return { state, param_groups };
  }

  /** Restores hyper-parameters, steps and state (copied into this optimiser's own tensors). */
  loadStateDict(sd: OptimizerState): void {
    if (sd.param_groups.length !== this.paramGroups.length) {
      throw new TorchError(`the state has ${sd.param_groups.length} parameter groups, this optimiser ${this.paramGroups.length}`, 'loadStateDict');
    }
    sd.param_groups.forEach((g, i) => {
      if (g.params.length !== this.paramGroups[i].params.length) {
        throw new TorchError(`parameter group ${i} has ${g.params.length} parameters in the state, ${this.paramGroups[i].params.length} here`, 'loadStateDict');
      }
    });
    this.ensureState();
    noGrad(() => {
      this.flat.forEach((p, i) => {
        const src = sd.state[i];
        const own = this.stateTensors.get(p)!;
        this.steps[i] = src ? Number(src.step) : 0;
        for (const [k, t] of Object.entries(own)) {
          const s = src?.[k];
          if (s === undefined) { t.zero_(); continue; }
          if (!(s instanceof Tensor)) throw new TorchError(`state ${i}.${k} must be a tensor`, 'loadStateDict');
          const a = s.shape, b = t.shape;
          if (a.length !== b.length || a.some((d, j) => d !== b[j])) {
            throw new TorchError(`state ${i}.${k} has shape [${a}] but parameter ${i} has [${b}]`, 'loadStateDict');
          }
          t.copy_(s);
        }
      });
    });
    sd.param_groups.forEach((g, i) => {
      const { params: _p, ...hyper } = g;
      Object.assign(this.paramGroups[i], hyper);
    });
  }

  /** Frees the state tensors. */
  dispose(): void {
    for (const s of this.stateTensors.values()) for (const t of Object.values(s)) t.dispose();
    this.stateTensors.clear();
  }

  protected stateHandles(name: string): number[] {
    return this.flat.map((p) => this.stateTensors.get(p)![name]._h);
  }
}

export const zerosLike = (p: Tensor): Tensor => creation.zerosLike(p);
