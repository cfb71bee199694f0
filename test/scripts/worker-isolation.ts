// Run by test/torch/worker.test.ts in a plain Node process: the main thread's tensor count must
// be exact, and inside jest other test files' dropped tensors are freed by the GC at random
// moments on the same thread, which moves that count. Here the main thread owns only what this
// script creates.
import { torch, TorchError } from '../../lib';
import { addonPath, problem, RAW, runWorker } from '../helpers/workers';

async function twoWorkersAndMain() {
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
  const mainAfter = torch.memory().tensors;
  const mainStillWorks = torch.tidy(() => torch.ones([2]).add(1).toNested());
  return { r1, r2, p1: p1.expected, p2: p2.expected, p3: p3.expected, mainOut, mainBefore, mainAfter, mainStillWorks };
}

async function workerExitsHoldingTensors() {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const addon = require(workerData.addonPath);
    const zeros = addon.findOp('aten::zeros', '');
    for (let i = 0; i < 50; i++) addon.call(zeros, [256, 256], 'float32', null, 'cpu', null);
    parentPort.postMessage({ live: addon.memory().tensors });
  `;
  const before = torch.memory().tensors;
  const r = await runWorker(code, { addonPath });
  const after = torch.memory().tensors;
  let errorClassIntact = false;
  try { torch.ones([2]).add(torch.ones([3])); } catch (e) { errorClassIntact = e instanceof TorchError; }
  return { workerLive: r.live, before, after, errorClassIntact };
}

async function main(): Promise<void> {
  const concurrent = await twoWorkersAndMain();
  const exiting = await workerExitsHoldingTensors();
  console.log(JSON.stringify({ concurrent, exiting }));
}

main().catch((e) => { console.error(e); process.exit(1); });
