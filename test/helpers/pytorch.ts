// PyTorch for Python with our ops library loaded: the python to use, or why tests must skip.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const OPS_LIB = path.join(__dirname, '..', '..', 'build', 'Release', 'libunimrg_ops.so');

/** The first python that imports torch: UNIMRG_PYTHON, python3 on PATH, Debian's /usr/bin/python3. */
function findPython(): { python: string; version: string } | null {
  for (const py of [process.env.UNIMRG_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean) as string[]) {
    try {
      const version = execFileSync(py, ['-c', 'import torch; print(torch.__version__)'], {
        encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60000,
      }).trim();
      return { python: py, version };
    } catch {
      /* try the next one */
    }
  }
  return null;
}

const minor = (v: string) => v.split('.').slice(0, 2).join('.');

/** { python } when the ops library can load into a Python torch, else { skip: the reason }. */
export function pytorchWithOps(): { python: string; skip: null } | { python: null; skip: string } {
  const found = findPython();
  if (found === null) return { python: null, skip: 'no python (UNIMRG_PYTHON, python3, /usr/bin/python3) imports torch' };
  if (!fs.existsSync(OPS_LIB)) return { python: null, skip: `${OPS_LIB} is not built` };
  // The ops library only loads into the libtorch it was built against (same major.minor).
  const builtFor = JSON.parse(fs.readFileSync(path.join(path.dirname(OPS_LIB), 'unimrg-build.json'), 'utf8')).torch as string;
  if (minor(builtFor) !== minor(found.version)) {
    return { python: null, skip: `${OPS_LIB} is built for libtorch ${builtFor}, Python has torch ${found.version}` };
  }
  return { python: found.python, skip: null };
}

/** Runs a Python script (argv[1] = the ops library) and parses the JSON it prints last. */
export function runPython<T>(python: string, script: string): T {
  const out = execFileSync(python, ['-c', script, OPS_LIB], { encoding: 'utf8', timeout: 300000 });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}
