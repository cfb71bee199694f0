// TorchScript modules (`torch.jit`): run a model exported from Python with torch.jit.trace /
// torch.jit.script + save, e.g. a depth or segmentation teacher. `define` compiles TorchScript
// source over given weights, so tests can build and save modules without Python.
import { native } from '../native/binding';
import type { JitOutput } from '../native/types';
import type { Device } from './dtype';
import { TorchError } from './errors';
import { Tensor } from './tensor';

/** What forward returns: a tensor, or tuples / lists (arrays) and dicts (objects) of tensors. */
export type ScriptOutput = Tensor | ScriptOutput[] | { [key: string]: ScriptOutput };

export interface JitLoadOptions {
  /** Where the module's parameters go: 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: Device | string;
}

export interface JitDefineOptions {
  /** Registered as parameters (copied), reachable as self.<name> in the source. */
  parameters?: Record<string, Tensor>;
  /** Registered as buffers (copied). */
  buffers?: Record<string, Tensor>;
}

// Safety net for modules that are never disposed (a few per process, so always registered).
const registry = new FinalizationRegistry<number>((id) => native.jitDispose(id));

function wrap(out: JitOutput): ScriptOutput {
  if (typeof out === 'number') return new Tensor(out);
  if (Array.isArray(out)) return out.map(wrap);
  const o: { [key: string]: ScriptOutput } = {};
  for (const [k, v] of Object.entries(out)) o[k] = wrap(v);
  return o;
}

function handles(ts: Record<string, Tensor> | undefined, what: string): Record<string, number> | undefined {
  if (ts === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const [k, t] of Object.entries(ts)) {
    if (!(t instanceof Tensor)) throw new TorchError(`${what} '${k}' is not a Tensor`, 'jit.define');
    out[k] = t._h;
  }
  return out;
}

/** A TorchScript module held by the addon; free it with dispose(). */
export class ScriptModule {
  private id: number;

  /** @internal use torch.jit.load or torch.jit.define. */
  constructor(id: number, readonly device: string) {
    this.id = id;
    registry.register(this, id, this);
  }

  get disposed(): boolean { return this.id < 0; }

  private live(what: string): number {
    if (this.id < 0) throw new TorchError('this ScriptModule was disposed; it can no longer be used', what);
    return this.id;
  }

  /** Calls the module's forward with tensors (on the module's device). */
  forward(...inputs: Tensor[]): ScriptOutput {
    const id = this.live('jit.forward');
    const hs = inputs.map((t, i) => {
      if (!(t instanceof Tensor)) throw new TorchError(`forward: argument ${i} is not a Tensor`, 'jit.forward');
      return t._h;
    });
    return wrap(native.jitForward(id, hs));
  }

  /** forward(), checked to return one tensor. */
  forwardTensor(...inputs: Tensor[]): Tensor {
    const out = this.forward(...inputs);
    if (out instanceof Tensor) return out;
    disposeOutput(out);
    throw new TorchError(`forward returned ${Array.isArray(out) ? 'a tuple or list' : 'a dict'}, not a tensor`, 'jit.forward');
  }

  /** Writes the module as a TorchScript archive (loadable by torch.jit.load in Python too). */
  save(path: string): void {
    native.jitSave(this.live('jit.save'), path);
  }

  dispose(): void {
    if (this.id < 0) return;
    native.jitDispose(this.id);
    registry.unregister(this);
    this.id = -1;
  }
}

/** Disposes every tensor of a forward() result. */
export function disposeOutput(out: ScriptOutput): void {
  if (out instanceof Tensor) out.dispose();
  else if (Array.isArray(out)) out.forEach(disposeOutput);
  else Object.values(out).forEach(disposeOutput);
}

/** Loads a torch.jit.save'd module onto a device, in eval mode. */
export function load(path: string, opts: JitLoadOptions = {}): ScriptModule {
  if (typeof path !== 'string') throw new TorchError('jit.load(path): path must be a string', 'jit.load');
  const device = opts.device ?? 'cpu';
  return new ScriptModule(native.jitLoad(path, device), device);
}

/**
 * Compiles TorchScript source defining `forward` (and helper methods) into a module on the CPU,
 * with the given parameters and buffers and a `training` flag (true, as a new nn.Module; a saved
 * module is loaded in eval mode), e.g.
 * `define('def forward(self, x):\n    return x @ self.w', { parameters: { w } })`.
 */
export function define(source: string, opts: JitDefineOptions = {}): ScriptModule {
  return new ScriptModule(native.jitDefine(source, handles(opts.parameters, 'parameter'), handles(opts.buffers, 'buffer')), 'cpu');
}

export const jit = { load, define, disposeOutput, ScriptModule };
