// Shared by test/torch/worker.test.ts and test/scripts/worker-isolation.ts: worker programs over
// the raw addon and the TypeScript library, and small matmul problems with float64 answers.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { uniformArray } from './gradcheck';
import { matmul } from './reference';

export const root = path.resolve(__dirname, '..', '..');
export const addonPath = path.join(root, 'build', 'Release', 'unimrg.node');

// Plain JS run inside the worker: only the raw addon (findOp / fromBuffer / call / toBuffer).
export const RAW = `
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
export const LIB = `
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

export interface Reply { [k: string]: unknown }

export function runWorker(code: string, workerData: Record<string, unknown>): Promise<Reply> {
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

export function problem(seed: number, n = 5, k = 7, m = 3) {
  const a = Array.from(uniformArray(n * k, seed));
  const b = Array.from(uniformArray(k * m, seed + 1));
  return { a, b, n, k, m, expected: matmul(a, b, n, k, m) };
}

