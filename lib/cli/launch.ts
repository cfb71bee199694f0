// `unimrg launch`: torchrun's job for unimrg scripts. Starts --nproc ranks on this node with
// RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR and MASTER_PORT set;
// when one rank fails, names it, stops the others and returns a non-zero exit code.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { LAUNCHER_PID_ENV } from '../distributed/launcher-watchdog';
import { numberFlag, UsageError } from './errors';

export interface LaunchOptions {
  /** Processes on this node. */
  nproc: number;
  /** Nodes in the job (default 1). */
  nnodes?: number;
  /** This node's index in [0, nnodes) (default 0). */
  nodeRank?: number;
  /** Address of the node of rank 0 (default 127.0.0.1). */
  masterAddr?: string;
  /** Port of rank 0's rendezvous store (default 29500; 0 on one node: a free port). */
  masterPort?: number;
  /** Extra environment for every rank. */
  env?: Record<string, string>;
  /** Children's stdio (default inherit). */
  stdio?: 'inherit' | 'ignore';
  /** Where the launcher's own messages go (default console.error). */
  log?: (line: string) => void;
  /** After a failure, how long the other ranks get between SIGTERM and SIGKILL (default 5000 ms). */
  graceMs?: number;
}

/** Ranks on one machine: beyond this the processes alone would exhaust memory. */
export const MAX_NPROC = 64;

function bad(message: string): never {
  throw new UsageError(`unimrg launch: ${message}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A script path runs under this Node (TypeScript through tsx); anything else is run as given. */
export function commandLine(command: string[]): [string, string[]] {
  const [first, ...rest] = command;
  if (/\.(c|m)?js$/.test(first)) return [process.execPath, [first, ...rest]];
  if (/\.(c|m)?ts$/.test(first)) return [process.execPath, ['--require', 'tsx/cjs', first, ...rest]];
  return [first, rest];
}

/**
 * util-linux's setpriv, which starts a command with PR_SET_PDEATHSIG so that the kernel kills it
 * when the launcher dies, even by SIGKILL (Linux only; undefined where it is missing).
 */
function setprivPath(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/bin', '/bin'])) {
    const p = path.join(dir, 'setpriv');
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* not here */ }
  }
  return undefined;
}

/** The process to spawn for a rank: the command, under setpriv --pdeathsig KILL where available. */
export function rankCommand(file: string, args: string[]): [string, string[]] {
  const setpriv = setprivPath();
  return setpriv === undefined ? [file, args] : [setpriv, ['--pdeathsig', 'KILL', '--', file, ...args]];
}

/** Runs the job; resolves with the exit code it should end with (0 when every rank succeeded). */
export async function launch(opts: LaunchOptions, command: string[]): Promise<number> {
  const nnodes = opts.nnodes ?? 1;
  const nodeRank = opts.nodeRank ?? 0;
  const log = opts.log ?? ((line: string) => console.error(line));
  if (!Number.isInteger(opts.nproc) || opts.nproc < 1) bad(`--nproc must be an integer >= 1, got ${opts.nproc}`);
  if (!Number.isInteger(nnodes) || nnodes < 1) bad(`--nnodes must be an integer >= 1, got ${nnodes}`);
  if (!Number.isInteger(nodeRank) || nodeRank < 0 || nodeRank >= nnodes) bad(`--node-rank must lie in [0, ${nnodes}), got ${nodeRank}`);
  if (command.length === 0) bad('no command given (unimrg launch --nproc N -- <command>)');
  let port = opts.masterPort ?? 29500;
  if (!Number.isInteger(port) || port < 0 || port > 65535) bad(`--master-port must be a port number, got ${port}`);
  if (port === 0) {
    if (nnodes > 1) bad('--master-port 0 (pick a free port) only works on one node; give every node the same port');
    port = await freePort();
  }
  const masterAddr = opts.masterAddr ?? '127.0.0.1';
  const world = nnodes * opts.nproc;
  const [file, args] = rankCommand(...commandLine(command));

  const children: ChildProcess[] = [];
  const running = new Set<number>();
  let failure: { code: number } | null = null;
  let killTimer: NodeJS.Timeout | null = null;
  const stopOthers = () => {
    for (const i of running) children[i].kill('SIGTERM');
    killTimer = setTimeout(() => { for (const i of running) children[i].kill('SIGKILL'); }, opts.graceMs ?? 5000);
  };
  const forward = (sig: NodeJS.Signals) => () => { for (const i of running) children[i].kill(sig); };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);

  try {
    return await new Promise<number>((resolve) => {
      for (let local = 0; local < opts.nproc; local++) {
        const rank = nodeRank * opts.nproc + local;
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          // torchrun's default: one thread per rank unless told otherwise.
          ...(opts.nproc > 1 && process.env.OMP_NUM_THREADS === undefined ? { OMP_NUM_THREADS: '1' } : {}),
          ...opts.env,
          RANK: String(rank), LOCAL_RANK: String(local), WORLD_SIZE: String(world), LOCAL_WORLD_SIZE: String(opts.nproc),
          GROUP_RANK: String(nodeRank), MASTER_ADDR: masterAddr, MASTER_PORT: String(port),
          [LAUNCHER_PID_ENV]: String(process.pid),
        };
        const child = spawn(file, args, { env, stdio: opts.stdio ?? 'inherit' });
        children.push(child);
        running.add(local);
        child.on('error', (e) => {
          if (!failure) {
            failure = { code: 1 };
            log(`unimrg launch: rank ${rank} could not be started (${e.message})`);
            stopOthers();
          }
        });
        child.on('exit', (code, signal) => {
          running.delete(local);
          const failed = signal !== null || (code ?? 1) !== 0;
          if (failed && !failure) {
            failure = { code: code && code > 0 ? code : 1 };
            const how = signal ? `was killed by ${signal}` : `exited with code ${code}${code === 127 ? ' (command not found?)' : ''}`;
            log(`unimrg launch: rank ${rank} (local rank ${local}, pid ${child.pid}) ${how}` +
              (running.size ? `; stopping the other ${running.size} rank(s) on this node` : ''));
            stopOthers();
          }
          if (running.size === 0) resolve(failure ? failure.code : 0);
        });
      }
    });
  } finally {
    if (killTimer) clearTimeout(killTimer);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}


/** `unimrg launch --nproc N [--nnodes M --node-rank K --master-addr A --master-port P] -- <command>` (as torchrun). */
export function addLaunchCommand(cli: import('commander').Command): void {
  cli.command('launch')
    .description('start N processes of a command with torchrun\'s environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT)')
    .requiredOption('--nproc <n>', 'processes on this node')
    .option('--nnodes <n>', 'nodes in the job', '1')
    .option('--node-rank <k>', 'this node\'s index', '0')
    .option('--master-addr <addr>', 'address of rank 0', '127.0.0.1')
    .option('--master-port <port>', 'rendezvous port of rank 0 (0: a free port, one node only)', '29500')
    .argument('<command...>', 'the command each rank runs (after --)')
    .action(async (command: string[], f: { nproc: string; nnodes: string; nodeRank: string; masterAddr: string; masterPort: string }) => {
      const int = (name: string, v: string, min: number, max?: number) => numberFlag(name, v, { integer: true, min, max })!;
      const opts = {
        nproc: int('nproc', f.nproc, 1, MAX_NPROC), nnodes: int('nnodes', f.nnodes, 1), nodeRank: int('node-rank', f.nodeRank, 0),
        masterAddr: f.masterAddr, masterPort: int('master-port', f.masterPort, 0),
      };
      process.exitCode = await launch(opts, command);
    });
}
