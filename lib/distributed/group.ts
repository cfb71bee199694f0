// Process groups over torch.distributed's c10d (native/distributed/): a TCPStore served by rank 0
// (configured as torchrun does, from MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK) or a
// FileStore; Gloo on CPU, NCCL in CUDA builds. Every collective returns a Promise: the JS thread
// only enqueues it, a libuv worker waits, so the event loop keeps running.
import { native } from '../native/binding';
import type { ReduceOpName } from '../native/types';
import { TorchError } from '../torch/errors';
import { Tensor } from '../torch/tensor';
import { watchLauncher } from './launcher-watchdog';

export type ReduceOp = ReduceOpName;
export type Backend = 'gloo' | 'nccl';

export interface InitOptions {
  /** 'gloo' (CPU, default) or 'nccl' (CUDA tensors; CUDA builds only). */
  backend?: Backend;
  /** Default: RANK. */
  rank?: number;
  /** Default: WORLD_SIZE. */
  worldSize?: number;
  /** Default: LOCAL_RANK, else rank. */
  localRank?: number;
  /** 'env://' (default: MASTER_ADDR, MASTER_PORT), 'tcp://host:port' or 'file:///path'. */
  initMethod?: string;
  /** Rendezvous and collective timeout in ms (default UNIMRG_DIST_TIMEOUT_MS or 60000). */
  timeoutMs?: number;
}

function fail(message: string): never {
  throw new TorchError(`distributed.init: ${message}`, 'distributed.init');
}

function intFrom(name: string, given: number | undefined, env: string | undefined, dflt?: number): number {
  if (given !== undefined) {
    if (!Number.isInteger(given)) fail(`${name} must be an integer, got ${given}`);
    return given;
  }
  if (env === undefined || env === '') {
    if (dflt !== undefined) return dflt;
    fail(`${name} is not set: pass it, or set the environment variable ${name} (as \`unimrg launch\` and torchrun do)`);
  }
  const v = Number(env);
  if (!Number.isInteger(v)) fail(`the environment variable ${name}=${JSON.stringify(env)} is not an integer`);
  return v;
}

/** Where to meet: parsed from initMethod or MASTER_ADDR / MASTER_PORT. */
function rendezvous(initMethod: string): { store: 'tcp' | 'file'; host: string; port: number; path: string } {
  if (initMethod.startsWith('file://')) return { store: 'file', host: '', port: 0, path: initMethod.slice('file://'.length) };
  let host: string | undefined;
  let portText: string | undefined;
  if (initMethod.startsWith('tcp://')) {
    const m = /^tcp:\/\/\[?([^\]]+?)\]?:(\d+)$/.exec(initMethod);
    if (!m) fail(`initMethod ${initMethod} must look like tcp://host:port`);
    [host, portText] = [m[1], m[2]];
  } else if (initMethod === 'env://') {
    host = process.env.MASTER_ADDR;
    portText = process.env.MASTER_PORT;
    if (!host) fail('MASTER_ADDR is not set (the address of rank 0, e.g. 127.0.0.1 on one machine)');
    if (!portText) fail('MASTER_PORT is not set (a free TCP port on the machine of rank 0, e.g. 29500)');
  } else {
    fail(`initMethod must be env://, tcp://host:port or file:///path, got ${initMethod}`);
  }
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`MASTER_PORT must be a port number in [1, 65535], got ${portText}`);
  return { store: 'tcp', host: host!, port, path: '' };
}

function handles(ts: Tensor[]): number[] {
  return ts.map((t) => t._h);
}

/** A group of processes that run collectives together (one per job, usually). */
export class ProcessGroup {
  private constructor(
    readonly id: number,
    readonly rank: number,
    readonly worldSize: number,
    readonly localRank: number,
    readonly backend: Backend,
  ) {}

  /** Joins the group: waits until every rank has arrived and checks they agree on WORLD_SIZE. */
  static async init(opts: InitOptions = {}): Promise<ProcessGroup> {
    const env = process.env;
    const rank = intFrom('RANK', opts.rank, env.RANK);
    const worldSize = intFrom('WORLD_SIZE', opts.worldSize, env.WORLD_SIZE);
    if (worldSize < 1) fail(`WORLD_SIZE must be >= 1, got ${worldSize}`);
    if (rank < 0 || rank >= worldSize) fail(`RANK=${rank} is outside [0, WORLD_SIZE=${worldSize})`);
    const localRank = intFrom('LOCAL_RANK', opts.localRank, env.LOCAL_RANK, rank);
    const timeoutMs = opts.timeoutMs ?? intFrom('UNIMRG_DIST_TIMEOUT_MS', undefined, env.UNIMRG_DIST_TIMEOUT_MS, 60000);
    if (!(timeoutMs > 0)) fail(`timeoutMs must be > 0, got ${timeoutMs}`);
    const backend = opts.backend ?? 'gloo';
    const where = rendezvous(opts.initMethod ?? 'env://');
    const id = await native.distInit({ backend, ...where, rank, worldSize, timeoutMs });
    return new ProcessGroup(id, rank, worldSize, localRank, backend);
  }

  /** In place: every rank's tensors become op over the ranks ('avg' = sum / worldSize). */
  async allReduce(tensors: Tensor | Tensor[], op: ReduceOp = 'sum'): Promise<void> {
    const ts = Array.isArray(tensors) ? tensors : [tensors];
    await native.distAllReduce(this.id, handles(ts), op);
  }

  /** In place: every rank's tensors become rank `src`'s. */
  async broadcast(tensors: Tensor | Tensor[], src = 0): Promise<void> {
    const ts = Array.isArray(tensors) ? tensors : [tensors];
    await native.distBroadcast(this.id, handles(ts), src);
  }

  /** One tensor per rank, in rank order (new tensors). */
  async allGather(t: Tensor): Promise<Tensor[]> {
    return (await native.distAllGather(this.id, t._h)).map((h) => new Tensor(h));
  }

  /** inputs[r] from every rank, reduced with op, lands on rank r (a new tensor). */
  async reduceScatter(inputs: Tensor[], op: ReduceOp = 'sum'): Promise<Tensor> {
    return new Tensor(await native.distReduceScatter(this.id, handles(inputs), op));
  }

  async barrier(): Promise<void> {
    await native.distBarrier(this.id);
  }

  /** Leaves the group (its store connection and backend threads are closed). */
  destroy(): void {
    native.distDestroy(this.id);
  }
}

/** `await distributed.initProcessGroup()` in a script started by `unimrg launch` (or torchrun). */
export function initProcessGroup(opts: InitOptions = {}): Promise<ProcessGroup> {
  watchLauncher();
  return ProcessGroup.init(opts);
}
