// Ranks die with their launcher. `unimrg launch` starts each rank with PR_SET_PDEATHSIG (through
// util-linux's setpriv, where present) and names itself in UNIMRG_LAUNCHER_PID; this watchdog is
// the second line for where setpriv is missing or the launcher died before the rank set it: when
// the rank's parent is no longer the launcher, the rank kills itself (its last complete checkpoint
// stands). Runs on the main thread, whose event loop stays free while training runs in a worker.
import { isMainThread } from 'node:worker_threads';

export const LAUNCHER_PID_ENV = 'UNIMRG_LAUNCHER_PID';
const POLL_MS = 500;

let watching = false;

/** Starts the watchdog when this process is a rank of `unimrg launch` (idempotent; never holds the process open). */
export function watchLauncher(): void {
  const launcher = Number(process.env[LAUNCHER_PID_ENV]);
  if (watching || !isMainThread || !Number.isSafeInteger(launcher) || launcher <= 0) return;
  watching = true;
  const check = () => {
    if (process.ppid === launcher) return;
    process.stderr.write(`unimrg: rank ${process.env.RANK ?? '?'} (pid ${process.pid}): its launcher (pid ${launcher}) is gone; exiting\n`);
    process.kill(process.pid, 'SIGKILL');
  };
  check();
  setInterval(check, POLL_MS).unref();
}
