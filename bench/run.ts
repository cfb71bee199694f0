// npm run bench -- <name> [args]: runs bench/<name>.ts (all of them without a name).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const [name, ...rest] = process.argv.slice(2);
const all = fs.readdirSync(__dirname).filter((f) => f.endsWith('.ts') && f !== 'run.ts').map((f) => f.slice(0, -3));
const chosen = name ? [name] : all;
for (const b of chosen) {
  if (!all.includes(b)) {
    console.error(`unknown benchmark '${b}'; available: ${all.join(', ')}`);
    process.exit(2);
  }
  console.log(`== bench ${b}`);
  const r = spawnSync(process.execPath, [require.resolve('tsx/cli'), path.join(__dirname, `${b}.ts`), ...rest], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
