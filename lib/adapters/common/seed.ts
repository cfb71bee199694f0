// Seeded parameter initialisation that leaves the caller's random stream where it was.
import { getRngState, manualSeed, setRngState } from '../../torch/backend';

/** Runs fn with libtorch's global generator seeded, restoring its state afterwards. */
export function withSeed<T>(seed: number, fn: () => T): T {
  const saved = getRngState();
  try {
    manualSeed(seed);
    return fn();
  } finally {
    setRngState(saved);
    saved.dispose();
  }
}
