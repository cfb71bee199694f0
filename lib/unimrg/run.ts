// Training from the command line: the Trainer runs in a worker thread so that the main thread
// stays free to draw the progress bar (per-task losses, ETA) and to turn Ctrl-C into a clean
// stop with a checkpoint.
import { Worker } from 'node:worker_threads';
import { SingleBar } from 'cli-progress';
import { watchLauncher } from '../distributed/launcher-watchdog';
import { dieBySignal } from '../util/die';
import { workerEntry } from '../util/worker-entry';
import type { StepMetrics, TrainEvent } from './trainer';
import type { RunDirOptions } from './run-dir';

export interface RunOptions extends RunDirOptions {
  /** 'bar' (a TTY progress bar), 'lines' (a line every `every` steps), 'none'. Default: bar on a TTY. */
  progress?: 'bar' | 'lines' | 'none';
  every?: number;
  onEvent?: (e: TrainEvent) => void;
  /** Stop cleanly on SIGINT / SIGTERM (default true). */
  handleSignals?: boolean;
  /** Stop cleanly, as a first Ctrl-C does (a checkpoint, then `stopped`), when this aborts. */
  signal?: AbortSignal;
}

const SHORT: Record<string, string> = { understanding: 'und', reconstruction: 'rec', depth: 'dep', segmentation: 'seg' };

export function taskLosses(m: StepMetrics): string {
  return Object.entries(m.tasks).filter(([, v]) => v !== null).map(([t, v]) => `${SHORT[t]} ${(v as number).toFixed(3)}`).join(' ');
}

export function stepLine(m: StepMetrics, steps: number): string {
  return `step ${m.step}/${steps}  loss ${m.loss.toFixed(4)}  ${taskLosses(m)}  lr ${m.lr.toExponential(2)}  |g| ${m.gradNorm.toFixed(2)}  ${m.samplesPerSec.toFixed(1)} samples/s`;
}

/** Trains `config` in a worker thread; resolves with the final step and checkpoint. */
export function trainInWorker(config: unknown, o: RunOptions = {}): Promise<{ step: number; stopped: boolean; checkpoint: string }> {
  watchLauncher();
  const { code, data } = workerEntry(__dirname, 'train-worker');
  const stop = new SharedArrayBuffer(4);
  const flag = new Int32Array(stop);
  const worker = new Worker(code, { eval: true, workerData: { ...data, config, resume: o.resume ?? false, overwrite: o.overwrite ?? false, stop } });
  const mode = o.progress ?? (process.stderr.isTTY ? 'bar' : 'lines');
  const every = o.every ?? 10;
  let bar: SingleBar | undefined;
  let steps = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (Atomics.load(flag, 0) !== 0) {
      // A second Ctrl-C: the user wants out now (the last complete checkpoint stands).
      process.stderr.write(`\n${signal} again: exiting without waiting for the checkpoint\n`);
      dieBySignal(signal);
      return;
    }
    Atomics.store(flag, 0, 1);
    process.stderr.write('\nstopping: saving a checkpoint (Ctrl-C again exits at once, keeping the last complete checkpoint)\n');
  };
  if (o.handleSignals ?? true) { process.on('SIGINT', onSignal); process.on('SIGTERM', onSignal); }
  const onAbort = () => Atomics.store(flag, 0, 1);
  if (o.signal?.aborted) onAbort();
  o.signal?.addEventListener('abort', onAbort);
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      bar?.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      o.signal?.removeEventListener('abort', onAbort);
      f();
    };
    worker.on('message', (m: { type: string; event?: TrainEvent; result?: { step: number; stopped: boolean; checkpoint: string }; message?: string; name?: string }) => {
      if (m.type === 'event') {
        const e = m.event!;
        o.onEvent?.(e);
        if (e.type === 'start') {
          steps = e.steps;
          if (mode !== 'none') process.stderr.write(`training ${e.trainable.toLocaleString()} of ${e.parameters.toLocaleString()} parameters for ${e.steps} steps → ${e.runDir}\n`);
          if (mode === 'bar') {
            bar = new SingleBar({ format: 'train [{bar}] {value}/{total} | loss {loss} | {tasks} | {speed} samples/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 20 });
            bar.start(e.steps, e.step, { loss: '-', tasks: '', speed: '-' });
          }
        } else if (e.type === 'step') {
          const s = e.metrics;
          if (bar) bar.update(s.step, { loss: s.loss.toFixed(4), tasks: taskLosses(s), speed: s.samplesPerSec.toFixed(1) });
          else if (mode === 'lines' && (s.step % every === 0 || s.step === steps || s.step === 1)) process.stderr.write(`${stepLine(s, steps)}\n`);
        } else if (e.type === 'eval' && mode !== 'none') {
          const line = `eval at step ${e.step}: ${JSON.stringify(e.result)}`;
          if (bar) bar.stop();
          process.stderr.write(`${line}\n`);
          if (bar) bar.start(steps, e.step);
        }
      } else if (m.type === 'result') {
        finish(() => resolve(m.result!));
      } else if (m.type === 'error') {
        finish(() => reject(Object.assign(new Error(m.message), { name: m.name ?? 'Error' })));
      }
    });
    worker.on('error', (e) => finish(() => reject(e)));
    worker.on('exit', (c) => finish(() => reject(new Error(`the training thread exited (code ${c}) without a result`))));
  });
}
