// Loads the native addon: the binary that matches the libtorch present (a local build in
// build/Release or a prebuild, chosen by ./resolve before anything native loads), then checks
// what the loaded libtorch says of itself. Any failure is one readable paragraph.
import * as path from 'node:path';
import { TorchError } from './errors';
import { resolveBinary } from './resolve';
import type { NativeAddon } from './types';
import { compatibilityProblem, describeTorch, type BinaryCandidate, type LibtorchFound } from './variant';

export { compatibilityProblem } from './variant';

export const packageRoot = path.resolve(__dirname, '..', '..');

const rebuildHint =
  'Rebuild it against the libtorch you have with `UNIMRG_BUILD_FROM_SOURCE=1 npm rebuild unimrg` (set LIBTORCH=/path/to/libtorch, ' +
  'or LIBTORCH_USE_PYTORCH=1 to use the PyTorch of python3, or install Debian\'s libtorch-dev).';

/** The binary this process loaded and the libtorch the probe found for it. */
export interface LoadedBinary {
  candidate: BinaryCandidate;
  runtime: LibtorchFound | null;
  note: string;
}

function linkerHint(rt: LibtorchFound | null): string {
  if (!rt || !['LIBTORCH', 'LIBTORCH_USE_PYTORCH'].includes(rt.via)) return '';
  const onPath = (process.env.LD_LIBRARY_PATH ?? '').split(':').includes(rt.dir);
  return onPath ? '' : ` The dynamic linker does not search ${rt.dir}: add it to LD_LIBRARY_PATH.`;
}

function load(): { addon: NativeAddon; binary: LoadedBinary } {
  const { selection } = resolveBinary(packageRoot);
  if (!selection.ok) throw new Error(selection.message);
  const { candidate, runtime } = selection;
  let addon: NativeAddon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(candidate.file) as NativeAddon;
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    throw new Error(
      `unimrg: the native addon ${candidate.label} could not be loaded (${why}). It was built for ${describeTorch(candidate)}` +
      `${candidate.source ? ` from ${candidate.source}` : ''}.${linkerHint(runtime)} ${rebuildHint}`,
    );
  }
  const problem = compatibilityProblem(addon.backend());
  if (problem && process.env.UNIMRG_ALLOW_TORCH_MISMATCH !== '1') throw new Error(`unimrg: ${problem} ${rebuildHint}`);
  addon.setErrorClass(TorchError);
  return { addon, binary: { candidate, runtime, note: selection.note } };
}

const loaded = load();
export const native: NativeAddon = loaded.addon;
export const loadedBinary: LoadedBinary = loaded.binary;
