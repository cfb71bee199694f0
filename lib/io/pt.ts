// `.pt` / `.pth` state dicts written by Python's `torch.save(obj, path)` (zip format, the default
// since PyTorch 1.6), read natively by libtorch's unpickler (native/pt_io.cc). Nested dicts give
// dotted names ({'model': {'w': t}} → 'model.w'); non-tensor leaves (ints, strings, lists…) are
// left out. The legacy pre-1.6 format, non-dict top levels and corrupt files give a TorchError.
import { native } from '../native/binding';
import { TorchError } from '../torch/errors';
import { Tensor } from '../torch/tensor';
import { requireRegularFile } from './regular-file';

export interface LoadPtOptions {
  /** Called with the dotted names of the non-tensor leaves that were left out (when any). */
  onSkipped?: (names: string[]) => void;
}

/** The tensors of a `torch.save`d (nested) dict, by dotted name, as new CPU tensors. */
export function loadPt(path: string, options: LoadPtOptions = {}): Record<string, Tensor> {
  requireRegularFile(path, (m) => new TorchError(`loadPt: ${m}`, 'loadPt'));
  const { names, handles, skipped } = native.readPt(path);
  const out: Record<string, Tensor> = {};
  for (let i = 0; i < names.length; i++) {
    const prev = out[names[i]];
    if (prev) prev.dispose(); // '.'-joined names can collide ({'a.b': x, 'a': {'b': y}}): the last wins
    out[names[i]] = new Tensor(handles[i]);
  }
  if (skipped.length > 0) options.onSkipped?.(skipped);
  return out;
}
