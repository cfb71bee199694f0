// The GC safety net: a tensor that escapes every tidy() scope and is dropped is freed by the
// FinalizationRegistry once V8 collects its wrapper. Checked in a plain Node process with
// --expose-gc (test/scripts/gc-safety-net.ts): inside jest's vm contexts finalization callbacks
// were sometimes not delivered within seconds on a loaded machine.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

describe('GC safety net', () => {
  it('frees dropped tensors that escaped every scope, keeps referenced ones, lets dispose() win', () => {
    const root = path.join(__dirname, '..', '..');
    const out = execFileSync(process.execPath, ['--expose-gc', '--require', 'tsx/cjs', 'test/scripts/gc-safety-net.ts'], {
      cwd: root, encoding: 'utf8', timeout: 120000,
    });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r.afterCreate).toBe(r.before + 100);
    expect(r.freed).toBe(true);
    expect(r.afterKeep).toBe(r.before + 1); // `kept` alive, `gone` disposed explicitly
    expect(r.keptSum).toBe(4);
  });
});
