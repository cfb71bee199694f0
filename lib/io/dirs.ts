// Creating directories without Node's recursive mkdir: on a path under a pseudo-filesystem such as
// /proc it spins forever (mkdir says ENOENT, so it retries the parent, which exists, and so on),
// and an unkillable loop is worse than an error. Here each missing component is made in turn and
// the first failure names the path at fault.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Makes `dir` and any missing parents; `what` names the flag or setting for the error (e.g. '--out'). */
export function makeDirs(dir: string, what = 'directory'): string {
  const target = path.resolve(dir);
  const missing: string[] = [];
  let p = target;
  for (;;) {
    let st: fs.Stats | undefined;
    try { st = fs.statSync(p); } catch (e) {
      // ENOTDIR: a parent is a file, which the walk up finds and names.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new RangeError(`${what}: cannot use ${target}: ${p} is not accessible (${code})`);
    }
    if (st !== undefined) {
      if (!st.isDirectory()) throw new RangeError(`${what}: cannot use ${target}: ${p} exists and is not a directory`);
      break;
    }
    missing.unshift(p);
    const parent = path.dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (const m of missing) {
    try { fs.mkdirSync(m); } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && fs.statSync(m).isDirectory()) continue; // made meanwhile by another rank
      throw new RangeError(`${what}: cannot create ${target}: making ${m} failed (${code ?? (e as Error).message})`);
    }
  }
  return target;
}
