// The caching CPU allocator (native/allocator.cc): on by default, reuses freed blocks of the
// same size class, keeps exact in-use accounting, respects its cap, works when tensors are made
// and freed concurrently from worker threads, and is off with UNIMRG_CACHING_ALLOCATOR=0.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { torch } from '../../lib';

const root = path.resolve(__dirname, '..', '..');
const addonPath = path.join(root, 'build', 'Release', 'unimrg.node');
const stats = () => torch.memory().allocator;

/** Runs a snippet in a fresh Node process with env set; returns its JSON output. */
function inChild(env: Record<string, string>, body: string): any {
  const code = `const a = require(${JSON.stringify(addonPath)}); const out = (() => { ${body} })(); process.stdout.write(JSON.stringify(out));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', code], { env: { ...process.env, ...env }, encoding: 'utf8' }));
}

describe('caching CPU allocator', () => {
  it('is installed by default and reuses a freed block of the same size class', () => {
    expect(stats().caching).toBe(true);
    const s0 = stats();
    const a = torch.zeros([1 << 20]); // 4 MiB
    const s1 = stats();
    expect(s1.inUse! - s0.inUse!).toBe(4 << 20);
    a.dispose();
    expect(stats().inUse).toBe(s0.inUse);
    const b = torch.full([1 << 20], 3); // same class: served from the cache
    const s2 = stats();
    expect(s2.hits! - s1.hits!).toBeGreaterThanOrEqual(1);
    expect(s2.misses).toBe(s1.misses);
    expect((b.toArray() as Float32Array).every((v) => v === 3)).toBe(true);
    b.dispose();
  });

  it('rounds sizes to 4 classes per power of two and gives the cache back on emptyCache()', () => {
    const t = torch.empty([(5 << 20) / 4 + 7]); // just over 5 MiB → the 6 MiB class
    const before = stats();
    t.dispose();
    const after = stats();
    expect(after.cached! - before.cached!).toBe(6 << 20);
    const freed = torch.emptyCache();
    expect(freed).toBeGreaterThanOrEqual(6 << 20);
    expect(stats().cached).toBe(0);
  });

  it('stays consistent when workers allocate and free concurrently with the main thread', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const a = require(workerData.addonPath);
      const zeros = a.findOp('aten::zeros', '');
      for (let i = 0; i < 300; i++) {
        const hs = [];
        for (let k = 0; k < 4; k++) hs.push(a.call(zeros, [(64 << 10) * (1 + ((i + k) % 5))], 'float32', null, null, null));
        for (const h of hs) a.dispose(h);
      }
      parentPort.postMessage('ok');`;
    const before = stats().inUse!;
    const workers = [0, 1].map(() => new Worker(code, { eval: true, workerData: { addonPath } }));
    const done = workers.map((w) => new Promise((res, rej) => { w.on('message', res); w.on('error', rej); }));
    for (let i = 0; i < 300; i++) torch.tidy(() => { torch.ones([(1 + (i % 7)) * 40000]).add(1); });
    expect(await Promise.all(done)).toEqual(['ok', 'ok']);
    await Promise.all(workers.map((w) => w.terminate()));
    // Nothing leaked or double-freed (an earlier suite's tensors may be collected meanwhile, so
    // in-use may only have shrunk; an accounting underflow would show as a huge number).
    expect(stats().inUse).toBeLessThanOrEqual(before);
  });

  it('releases instead of caching above its cap, and is off with UNIMRG_CACHING_ALLOCATOR=0', () => {
    const body = `const z = a.findOp('aten::zeros', ''); const h = a.call(z, [1 << 20], 'float32', null, null, null); a.dispose(h); return a.allocatorStats();`;
    const capped = inChild({ UNIMRG_ALLOCATOR_CACHE_MB: '1' }, body);
    expect(capped).toMatchObject({ caching: true, cached: 0, inUse: 0, cap: 1 << 20 });
    expect(capped.releases).toBeGreaterThanOrEqual(1);
    expect(inChild({ UNIMRG_CACHING_ALLOCATOR: '0' }, body)).toEqual({ caching: false });
  });
});
