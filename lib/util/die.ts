// Ending the process at once, even while a worker thread is inside a long native call: exit()
// waits for worker threads to stop, which they cannot do there (measured: a worker blocked in a
// native loop kept `process.exit` and `process.reallyExit` waiting forever). A signal's default
// action does not wait, and the parent sees the conventional status (SIGINT: 130 in a shell).
export function dieBySignal(signal: NodeJS.Signals): void {
  process.removeAllListeners(signal); // back to the default action, which terminates
  process.kill(process.pid, signal);
}
