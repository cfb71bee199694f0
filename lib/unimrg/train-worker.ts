// The training thread: runs a Trainer and reports its events to the main thread, which draws the
// progress and handles Ctrl-C (it sets the shared stop flag; the trainer checkpoints and returns).
import { parentPort, workerData } from 'node:worker_threads';
import { Trainer, type TrainEvent } from './trainer';
import { quickEvaluation } from './evaluate';

interface Data { config: unknown; resume: boolean; overwrite: boolean; stop: SharedArrayBuffer }

async function main(): Promise<void> {
  const d = workerData as Data;
  const stop = new Int32Array(d.stop);
  const trainer = new Trainer(d.config);
  try {
    const r = await trainer.run({
      resume: d.resume,
      overwrite: d.overwrite,
      onEvent: (e: TrainEvent) => parentPort!.postMessage({ type: 'event', event: e }),
      shouldStop: () => Atomics.load(stop, 0) !== 0,
      evaluate: (adapter) => quickEvaluation(adapter, { count: trainer.config.evalCount }),
    });
    parentPort!.postMessage({ type: 'result', result: r });
  } finally {
    trainer.dispose();
  }
}

main().catch((e: Error) => parentPort!.postMessage({ type: 'error', message: e.message, name: e.name, stack: e.stack }));
