// Every reader refuses what is not a regular file before opening it: open(2) on a FIFO waits for
// a writer (forever, for a mistyped path), and a directory or a device gives errors that name
// neither the path nor the problem. stat() never blocks, so it is asked first. (A file swapped
// for a FIFO between the stat and the open is not guarded against: this is for mistakes.)
import * as fs from 'node:fs';

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a file';
}

function describe(file: unknown, st: fs.Stats | undefined, err: unknown): string | undefined {
  if (err !== undefined) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return `cannot open ${String(file)}: no such file`;
    return `cannot open ${String(file)}: ${code ?? (err as Error).message}`;
  }
  if (st !== undefined && !st.isFile()) return `${String(file)} is not a regular file (it is ${kindOf(st)})`;
  return undefined;
}

/** Why `file` cannot be read as a regular file (a sentence naming it), or undefined when it can. */
export function regularFileProblem(file: string): string | undefined {
  if (typeof file !== 'string' || file === '') return `a file path must be a non-empty string, got ${JSON.stringify(file)}`;
  try {
    return describe(file, fs.statSync(file), undefined);
  } catch (e) {
    return describe(file, undefined, e);
  }
}

/** regularFileProblem without blocking the event loop (image decoding in loader workers). */
export async function regularFileProblemAsync(file: string): Promise<string | undefined> {
  if (typeof file !== 'string' || file === '') return `a file path must be a non-empty string, got ${JSON.stringify(file)}`;
  try {
    return describe(file, await fs.promises.stat(file), undefined);
  } catch (e) {
    return describe(file, undefined, e);
  }
}

const plain = (message: string): Error => new Error(message);

/** Throws toError(problem) unless `file` is a regular file (symbolic links are followed). */
export function requireRegularFile(file: string, toError: (message: string) => Error = plain): void {
  const p = regularFileProblem(file);
  if (p !== undefined) throw toError(p);
}

export async function requireRegularFileAsync(file: string, toError: (message: string) => Error = plain): Promise<void> {
  const p = await regularFileProblemAsync(file);
  if (p !== undefined) throw toError(p);
}
