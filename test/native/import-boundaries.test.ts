// Who may reach the addon directly: torch, and the layers that own a native domain (optim's fused
// steps, io's file formats, distributed's c10d, the fused losses) plus doctor's diagnostics.
// Everything else goes through torch's public surface. And lib/native imports nothing above it.
import * as fs from 'node:fs';
import * as path from 'node:path';

const LIB = path.join(__dirname, '..', '..', 'lib');
const ALLOWED = ['native/', 'torch/', 'optim/', 'io/', 'distributed/', 'losses/', 'cli/doctor.ts'];

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The lib-relative targets of a file's relative imports and re-exports. */
function imports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:import|export)[^'"]*from\s+'(\.[^']+)'/g)].map((m) => path.relative(LIB, path.resolve(path.dirname(file), m[1])));
}

const files = sources(LIB).map((f) => ({ rel: path.relative(LIB, f), targets: imports(f) }));

it('only torch and the native-domain layers import lib/native', () => {
  const offenders = files.filter((f) => !ALLOWED.some((a) => f.rel.startsWith(a)) && f.targets.some((t) => t.startsWith('native/')));
  expect(offenders.map((f) => f.rel)).toEqual([]);
});

it('lib/native imports nothing else of lib/', () => {
  const outward = files.filter((f) => f.rel.startsWith('native/')).flatMap((f) => f.targets.filter((t) => !t.startsWith('native/')).map((t) => `${f.rel} -> ${t}`));
  expect(outward).toEqual([]);
});

it('finds the imports it checks (the scan is not empty)', () => {
  expect(files.length).toBeGreaterThan(100);
  expect(files.find((f) => f.rel === 'torch/tensor.ts')!.targets).toContain('native/binding');
});
