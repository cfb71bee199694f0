// Loads the native addon (build/Release or a matching prebuild) and explains any failure
// in one readable paragraph: which libtorch the binary was built for and how to rebuild.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchError } from '../torch/errors';
import type { BackendInfo, NativeAddon } from './types';

export const packageRoot = path.resolve(__dirname, '..', '..');

function builtFor(): string {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(packageRoot, 'build', 'Release', 'unimrg-build.json'), 'utf8'));
    return `libtorch ${info.torch}${info.cuda ? ` with CUDA ${info.cuda}` : ' (CPU)'} from ${info.source}`;
  } catch {
    return 'an unknown libtorch';
  }
}

const rebuildHint =
  'Rebuild it against the libtorch you have with `npm rebuild unimrg` (set LIBTORCH=/path/to/libtorch, ' +
  'or LIBTORCH_USE_PYTORCH=1 to use the PyTorch of python3, or install Debian\'s libtorch-dev).';

/**
 * Why the loaded libtorch cannot serve an addon built against another, or null. Versions must
 * agree in major.minor (the C++ ABI changes between minors) and in CUDA flavour.
 */
export function compatibilityProblem(b: Pick<BackendInfo, 'built' | 'runtime'>): string | null {
  const majorMinor = (v: string) => v.split('.').slice(0, 2).join('.');
  if (b.runtime.torch && majorMinor(b.runtime.torch) !== majorMinor(b.built.torch)) {
    return `the native addon was built against libtorch ${b.built.torch} but libtorch ${b.runtime.torch} is loaded.`;
  }
  if (b.runtime.cuda !== Boolean(b.built.cuda)) {
    return `the native addon was built against a ${b.built.cuda ? 'CUDA' : 'CPU-only'} libtorch but the loaded libtorch is ${b.runtime.cuda ? 'a CUDA' : 'CPU-only'} build.`;
  }
  return null;
}

function load(): NativeAddon {
  let addon: NativeAddon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require('node-gyp-build')(packageRoot) as NativeAddon;
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    throw new Error(
      `unimrg: the native addon could not be loaded (${why}). The binary was built for ${builtFor()}. ${rebuildHint}`,
    );
  }
  const problem = compatibilityProblem(addon.backend());
  if (problem && process.env.UNIMRG_ALLOW_TORCH_MISMATCH !== '1') throw new Error(`unimrg: ${problem} ${rebuildHint}`);
  addon.setErrorClass(TorchError);
  return addon;
}

export const native: NativeAddon = load();
