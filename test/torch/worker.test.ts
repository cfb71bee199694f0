// The addon in worker_threads: each Node environment gets its own handle table, and several
// environments can run libtorch ops at the same time.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { torch, TorchError } from '../../lib';
import { uniformArray } from '../helpers/gradcheck';
import { expectClose, matmul } from '../helpers/reference';

const root = path.resolve(__dirname, '..', '..');
const addonPath = path.join(root, 'build', 'Release', 'unimrg.node');

// Plain JS run inside the worker: only the raw addon (findOp / fromBuffer / call / toBuffer).
const RAW = `
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData.addonPath);
const { a, b, n, k, m, iterations } = workerData;
const mm = addon.findOp('aten::matmul', '');
const add = addon.findOp('aten::add', 'Tensor');
const ha = addon.fromBuffer(Float64Array.from(a), [n, k], 'float64');
const hb = addon.fromBuffer(Float64Array.from(b), [k, m], 'float64');
let last = null;
for (let i = 0; i < iterations; i++) {
  const h = addon.call(mm, ha, hb);
  if (last !== null) addon.dispose(last);
  last = h;
}
const out = Array.from(new Float64Array(addon.toBuffer(last)));
const shape = addon.shape(last);
let error = null;
try { addon.call(add, ha, hb); } catch (e) { error = { name: e.name, message: e.message }; }
const memory = addon.memory();
parentPort.postMessage({ out, shape, dtype: addon.dtype(last), memory, error, threadId: require('node:worker_threads').threadId });
`;

// The TypeScript library itself inside a worker, through tsx's require hook.
const LIB = `
const { parentPort, workerData } = require('node:worker_threads');
require(workerData.tsxApi).register();
const { torch, TorchError } = require(workerData.lib);
const x = torch.tensor(Float64Array.from(workerData.a), { shape: [workerData.n, workerData.k], dtype: 'float64' });
const w = torch.tensor(Float64Array.from(workerData.b), { shape: [workerData.k, workerData.m], dtype: 'float64', requiresGrad: true });
const before = torch.memory().tensors;
const out = torch.tidy(() => x.matmul(w));
const afterTidy = torch.memory().tensors - before;
out.sum().backward();
let isTorchError = false;
try { x.add(torch.ones([workerData.k + 1])); } catch (e) { isTorchError = e instanceof TorchError && /must match/.test(e.message); }
parentPort.postMessage({ out: Array.from(out.detach().toArray()), grad: Array.from(w.grad.toArray()), afterTidy, isTorchError });
`;

interface Reply { [k: string]: unknown }

function runWorker(code: string, workerData: Record<string, unknown>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData });
    let reply: Reply | undefined;
    w.on('message', (m: Reply) => { reply = m; });
    w.on('error', reject);
    w.on('exit', (code) => {
      if (code !== 0) reject(new Error(`worker exited with code ${code}`));
      else if (reply === undefined) reject(new Error('worker exited without replying'));
      else resolve(reply);
    });
  });
}

function problem(seed: number, n = 5, k = 7, m = 3) {
  const a = Array.from(uniformArray(n * k, seed));
  const b = Array.from(uniformArray(k * m, seed + 1));
  return { a, b, n, k, m, expected: matmul(a, b, n, k, m) };
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

  it('two workers at once plus the main thread, each on its own data', async () => {
    const p1 = problem(10, 16, 24, 8);
    const p2 = problem(20, 12, 9, 20);
    const p3 = problem(30, 20, 11, 6);
    const mainBefore = torch.memory().tensors;
    const pending = [runWorker(RAW, { addonPath, ...p1, iterations: 300 }), runWorker(RAW, { addonPath, ...p2, iterations: 300 })];
    // the main thread keeps computing while the workers run
    let mainOut: number[] = [];
    for (let i = 0; i < 300; i++) {
      mainOut = torch.tidy(() => {
        const x = torch.tensor(Float64Array.from(p3.a), { shape: [p3.n, p3.k], dtype: 'float64' });
        const y = torch.tensor(Float64Array.from(p3.b), { shape: [p3.k, p3.m], dtype: 'float64' });
        return Array.from(x.matmul(y).toArray() as Float64Array);
      });
    }
    const [r1, r2] = await Promise.all(pending);
    expect(r1.threadId).not.toBe(r2.threadId);
    expectClose(r1.out as number[], p1.expected, 1e-14, 1e-12);
    expectClose(r2.out as number[], p2.expected, 1e-14, 1e-12);
    expectClose(mainOut, p3.expected, 1e-14, 1e-12);
    expect(r1.memory).toMatchObject({ tensors: 3 });
    expect(r2.memory).toMatchObject({ tensors: 3 });
    // the workers' tensors never appear in the main thread's table
    expect(torch.memory().tensors).toBe(mainBefore);
    // and the main thread still works after they exited (their environments were torn down)
    expect(torch.tidy(() => torch.ones([2]).add(1).toNested())).toEqual([2, 2]);
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

  it('a worker that exits holding tensors does not disturb the main thread', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(workerData.addonPath);
      const zeros = addon.findOp('aten::zeros', '');
      for (let i = 0; i < 50; i++) addon.call(zeros, [256, 256], 'float32', null, 'cpu', null);
      parentPort.postMessage({ live: addon.memory().tensors });
    `;
    const before = torch.memory().tensors;
    const r = await runWorker(code, { addonPath });
    expect(r.live).toBe(50);
    expect(torch.memory().tensors).toBe(before);
    expect(() => torch.ones([2]).add(torch.ones([3]))).toThrow(TorchError); // the main thread's error class is intact
  });
});
