// Loading the addon a second time in the same environment (jest does it for every test file;
// two copies of the package in node_modules do it too) shares one tensor table, so a handle
// from the first copy never names another tensor in the second.
import * as path from 'node:path';

const addonPath = path.join(__dirname, '..', '..', 'build', 'Release', 'unimrg.node');

function load(): any {
  const m = { exports: {} as any };
  process.dlopen(m, addonPath);
  return m.exports;
}

describe('loading the addon twice', () => {
  it('shares the handle table between both copies', () => {
    const first = load();
    const a = first.fromBuffer(new Float32Array([1, 2, 3]), [3], 'float32');
    const second = load(); // after `a` exists: its handle must stay valid
    const before = second.memory().tensors;
    const b = second.fromBuffer(new Float32Array([4, 5]), [2], 'float32');
    expect(b).not.toBe(a);
    expect(second.memory().tensors).toBe(before + 1);
    // The first copy's handle still names its own tensor in the second copy.
    expect(Array.from(new Float32Array(second.toBuffer(a)))).toEqual([1, 2, 3]);
    first.dispose(a);
    expect(Array.from(new Float32Array(second.toBuffer(b)))).toEqual([4, 5]);
    second.dispose(b);
    expect(first.memory().tensors).toBe(before - 1);
  });
});
