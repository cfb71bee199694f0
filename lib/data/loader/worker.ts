// The loader's worker thread: builds the pipeline from the spec and answers batch requests with
// host batches whose buffers are transferred, not copied. No libtorch here.
import { parentPort, workerData } from 'node:worker_threads';
import { transferList } from '../tasks/collate';
import { buildPipeline, type LoaderSpec } from './spec';

export interface BatchRequest { index: number }

async function main(): Promise<void> {
  const port = parentPort!;
  let pipeline;
  try {
    pipeline = await buildPipeline((workerData as { spec: LoaderSpec }).spec);
  } catch (e) {
    port.postMessage({ type: 'fatal', message: (e as Error).message });
    return;
  }
  const { batcher, problems } = pipeline;
  let sent = 0;
  port.on('message', (m: BatchRequest) => {
    batcher.hostBatch(m.index).then(
      (batch) => {
        const all = problems();
        const fresh = all.slice(sent);
        sent = all.length;
        port.postMessage({ type: 'batch', index: m.index, batch, problems: fresh, skipped: { ...batcher.skipped } }, transferList(batch));
      },
      (e: Error) => port.postMessage({ type: 'error', index: m.index, message: e.message }),
    );
  });
  port.postMessage({ type: 'ready' });
}

void main();
