// The GC safety net: a tensor that escapes every tidy() scope and is dropped is freed by the
// FinalizationRegistry once V8 collects its wrapper.
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { torch } from '../../lib';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Full collections with event-loop turns between them (finalizers run as tasks afterwards),
 * until `done()` holds or about 5 s have passed: a loaded machine can delay the cleanup task. */
async function collect(done: () => boolean = () => true): Promise<void> {
  for (let i = 0; i < 100; i++) {
    gc();
    await new Promise((r) => setTimeout(r, i < 5 ? 10 : 50));
    if (i >= 4 && done()) return;
  }
}

describe('GC safety net', () => {
  it('frees dropped tensors that escaped every scope', async () => {
    await collect();
    const before = torch.memory().tensors;
    (() => {
      for (let i = 0; i < 100; i++) torch.ones([64]); // never disposed, never in a scope
    })();
    expect(torch.memory().tensors).toBe(before + 100);
    await collect(() => torch.memory().tensors === before);
    expect(torch.memory().tensors).toBe(before);
  });

  it('leaves alive the tensors still referenced, and explicit dispose() wins over the registry', async () => {
    await collect();
    const before = torch.memory().tensors;
    const kept = torch.ones([4]);
    const gone = torch.ones([4]);
    gone.dispose();
    await collect(() => torch.memory().tensors === before + 1);
    expect(torch.memory().tensors).toBe(before + 1);
    expect(kept.sum().item()).toBe(4);
    kept.dispose();
  });
});
