// The addon in worker_threads: each Node environment gets its own handle table, and several
// environments can run libtorch ops at the same time.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { expectClose } from '../helpers/reference';
import { addonPath, LIB, problem, RAW, root, runWorker } from '../helpers/workers';

// The main thread's exact tensor counts are checked in a plain Node process
// (test/scripts/worker-isolation.ts): under jest, earlier files' dropped tensors are freed by the
// GC on this same thread at unpredictable moments.
function isolationRun(): Record<string, any> {
  const out = execFileSync(process.execPath, ['--require', 'tsx/cjs', 'test/scripts/worker-isolation.ts'], {
    cwd: root, encoding: 'utf8', timeout: 120000,
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('worker_threads', () => {
  it('the raw addon loads in a worker and computes a matmul', async () => {
    const p = problem(1);
    const r = await runWorker(RAW, { addonPath, ...p, iterations: 1 });
    expect(r.shape).toEqual([p.n, p.m]);
    expect(r.dtype).toBe('float64');
    expectClose(r.out as number[], p.expected, 1e-14, 1e-12);
    // the worker's own handle table: its two inputs and one result
    expect(r.memory).toMatchObject({ tensors: 3 });
    // without setErrorClass a failure is still a catchable Error, with the op name
    expect(r.error).toMatchObject({ message: expect.stringMatching(/must match.*\(op: aten::add\.Tensor\)/) });
  });

  describe('in a plain Node process', () => {
    let run: Record<string, any> = {};
    beforeAll(() => { run = isolationRun(); }, 120000);

    it('two workers at once plus the main thread, each on its own data', () => {
      const { r1, r2, p1, p2, p3, mainOut } = run.concurrent;
      expect(r1.threadId).not.toBe(r2.threadId);
      expectClose(r1.out, p1, 1e-14, 1e-12);
      expectClose(r2.out, p2, 1e-14, 1e-12);
      expectClose(mainOut, p3, 1e-14, 1e-12);
      expect(r1.memory).toMatchObject({ tensors: 3 });
      expect(r2.memory).toMatchObject({ tensors: 3 });
      // the workers' tensors never appear in the main thread's table
      expect(run.concurrent.mainAfter).toBe(run.concurrent.mainBefore);
      // and the main thread still works after they exited (their environments were torn down)
      expect(run.concurrent.mainStillWorks).toEqual([2, 2]);
    });

    it('a worker that exits holding tensors does not disturb the main thread', () => {
      expect(run.exiting.workerLive).toBe(50);
      expect(run.exiting.after).toBe(run.exiting.before);
      expect(run.exiting.errorClassIntact).toBe(true); // the main thread's error class is intact
    });
  });

  it('the TypeScript library works in a worker (tidy, autograd, TorchError)', async () => {
    const p = problem(40);
    const r = await runWorker(LIB, {
      ...p,
      tsxApi: require.resolve('tsx/cjs/api', { paths: [root] }),
      lib: path.join(root, 'lib', 'index.ts'),
    });
    expectClose(r.out as number[], p.expected, 1e-14, 1e-12);
    // d/dW sum(X W) = X^T 1: column sums of X repeated across W's columns
    const colSums = Array.from({ length: p.k }, (_, j) => Array.from({ length: p.n }, (_, i) => p.a[i * p.k + j]).reduce((s, x) => s + x, 0));
    expectClose(r.grad as number[], colSums.flatMap((s) => Array(p.m).fill(s)), 1e-14, 1e-12);
    expect(r.afterTidy).toBe(1);
    expect(r.isTorchError).toBe(true);
  });
});
