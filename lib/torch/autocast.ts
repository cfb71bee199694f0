// torch.autocast: automatic mixed precision for a synchronous block. Inside it, libtorch's
// autocast runs the ops on its lower-precision list (matmul, linear, conv, bmm, addmm, …) in
// `dtype` and the precision-sensitive ones (softmax, log_softmax, losses, norms, …) in float32;
// parameters stay float32 (master weights) and their gradients come back float32.
import { native } from '../native/binding';
import type { DType } from './dtype';
import { TorchError } from './errors';

export type AutocastDevice = 'cpu' | 'cuda';
export interface AutocastOptions {
  /** Lower precision for the autocast ops: 'bfloat16' (default) or, on CUDA, 'float16'. */
  dtype?: DType;
  /** false runs fn with autocast off for the device (a disabled region inside an enabled one). */
  enabled?: boolean;
}

function checkDevice(device: string): asserts device is AutocastDevice {
  if (device !== 'cpu' && device !== 'cuda') {
    throw new TorchError(`autocast device type must be 'cpu' or 'cuda', got '${String(device)}'`, 'autocast');
  }
}

/**
 * Runs fn with autocast on (or off) for one device type and restores the previous state
 * afterwards, also when fn throws. Regions nest; the cache of casted weights is cleared when the
 * outermost region exits, as PyTorch's torch.autocast does. fn must be synchronous: the
 * autocast state is per thread, not per await.
 */
export function autocast<T>(device: AutocastDevice, fn: () => T, o: AutocastOptions = {}): T {
  checkDevice(device);
  if (typeof fn !== 'function') throw new TorchError('autocast(device, fn, options): fn must be a function', 'autocast');
  const dtype = o.dtype ?? 'bfloat16';
  const enabled = o.enabled ?? true;
  const prev = native.autocastEnter(device, enabled, dtype);
  try {
    const result = fn();
    if (result instanceof Promise) {
      throw new TorchError('autocast() takes a synchronous function (the autocast state is per thread, not per await)', 'autocast');
    }
    return result;
  } finally {
    native.autocastExit(device, prev.enabled, prev.dtype);
  }
}

/** Whether autocast is on for the device type on this thread. */
export const isAutocastEnabled = (device: AutocastDevice = 'cuda'): boolean => {
  checkDevice(device);
  return native.autocastState(device).enabled;
};

/** The autocast lower-precision dtype for the device type (libtorch's default: bfloat16 on CPU, float16 on CUDA). */
export const getAutocastDtype = (device: AutocastDevice): DType => {
  checkDevice(device);
  return native.autocastState(device).dtype as DType;
};
