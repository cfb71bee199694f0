// Autograd entry points beyond Tensor.backward(): grad mode and torch.autograd.grad.
import { native } from '../native/binding';
import { handleOf as H, optionalHandle as Opt } from './args';
import { TorchError } from './errors';
import { Tensor } from './tensor';

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = native.setGradEnabled(enabled);
  try {
    const result = fn();
    if (result instanceof Promise) {
      throw new TorchError('noGrad()/enableGrad() take a synchronous function (grad mode is per thread, not per await)', 'gradMode');
    }
    return result;
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Runs fn with gradient recording off. */
export const noGrad = <T>(fn: () => T): T => withGradMode(false, fn);
/** Runs fn with gradient recording on (inside a noGrad block, say). */
export const enableGrad = <T>(fn: () => T): T => withGradMode(true, fn);
export const isGradEnabled = (): boolean => native.isGradEnabled();
export const setGradEnabled = (enabled: boolean): boolean => native.setGradEnabled(enabled);

export interface GradOptions { retainGraph?: boolean; createGraph?: boolean; allowUnused?: boolean }

/** Gradients of outputs with respect to inputs, without touching .grad. */
function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], gradOutputs?: (Tensor | null)[] | Tensor | null, o: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const gos = gradOutputs == null ? null
    : (Array.isArray(gradOutputs) ? gradOutputs : [gradOutputs]).map((g, i) => Opt(g, 'autograd.grad', `gradOutputs[${i}]`));
  const hs = native.autogradGrad(outs.map((t, i) => H(t, 'autograd.grad', `outputs[${i}]`)),
    ins.map((t, i) => H(t, 'autograd.grad', `inputs[${i}]`)), gos, o.retainGraph, o.createGraph ?? false, o.allowUnused ?? false);
  return hs.map((h) => (h === null ? null : new Tensor(h)));
}

/** backward over several outputs at once. */
function backward(tensors: Tensor[], gradTensors?: (Tensor | null)[], o: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
  native.backward(tensors.map((t, i) => H(t, 'autograd.backward', `tensors[${i}]`)),
    gradTensors ? gradTensors.map((g, i) => Opt(g, 'autograd.backward', `gradTensors[${i}]`)) : null, o.retainGraph, o.createGraph ?? false);
}

export const autograd = { grad, backward };
