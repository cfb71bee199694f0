// How a worker thread runs one of our modules: compiled JS as is, TypeScript sources (tests,
// tsx scripts) through tsx's require hook.
import * as path from 'node:path';

/** Worker code (for `new Worker(code, { eval: true, workerData: { ...data, … } })`) that loads `dir/base`. */
export function workerEntry(dir: string, base: string): { code: string; data: { entry: string; tsx: string | null } } {
  const ts = __filename.endsWith('.ts');
  const entry = path.join(dir, ts ? `${base}.ts` : `${base}.js`);
  let tsx: string | null = null;
  if (ts) {
    try {
      tsx = require.resolve('tsx/cjs/api');
    } catch {
      throw new Error(`${base} runs from TypeScript sources here and needs tsx to start its worker thread (npm install -D tsx)`);
    }
  }
  const code = `const { workerData } = require('node:worker_threads');
if (workerData.tsx) require(workerData.tsx).register();
require(workerData.entry);`;
  return { code, data: { entry, tsx } };
}
