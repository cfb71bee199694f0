// The loaded libtorch, threads, seeds and CUDA.
import { native } from '../native/binding';
import type { BackendInfo } from '../native/types';
import { TorchError } from './errors';
import { Tensor } from './tensor';

/** Which libtorch is loaded and how it is set up. */
export function backend(): BackendInfo { return native.backend(); }

/** Intra-op threads (default: every core; UNIMRG_NUM_THREADS or OMP_NUM_THREADS override). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n)) throw new TorchError(`the number of threads must be an integer, got ${n}`, 'setNumThreads');
  native.setNumThreads(n);
}
export const getNumThreads = (): number => native.backend().threads;

/** Seeds every random generator (CPU and CUDA). */
export function manualSeed(seed: number): void { native.manualSeed(seed); }

/** A copy of the default CPU generator's state: a uint8 tensor (PyTorch's torch.get_rng_state()). */
export function getRngState(): Tensor { return new Tensor(native.getRngState()); }

/** Restores the default CPU generator from a tensor returned by getRngState(). */
export function setRngState(state: Tensor): void {
  if (!(state instanceof Tensor)) throw new TorchError('setRngState expects the uint8 tensor returned by getRngState()', 'setRngState');
  native.setRngState(state._h);
}

export const cuda = {
  isAvailable: (): boolean => native.cudaIsAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
  /** Waits for every kernel queued on the current device. */
  synchronize: (): void => native.cudaSynchronize(),
};
