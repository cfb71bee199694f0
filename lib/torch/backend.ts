// The loaded libtorch, threads, seeds and CUDA.
import { native } from '../native/binding';
import type { BackendInfo } from '../native/types';
import { TorchError } from './errors';

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

export const cuda = {
  isAvailable: (): boolean => native.cudaIsAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
  /** Waits for every kernel queued on the current device. */
  synchronize: (): void => native.cudaSynchronize(),
};
