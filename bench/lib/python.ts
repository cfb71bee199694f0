// Finds a python3 that imports torch (Debian's python3-torch lives in /usr/bin/python3, which
// a pyenv python3 on PATH may hide) and runs a peer script as a request/response process.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as readline from 'node:readline';

let cached: string | null | undefined;

/** The first python3 that can `import torch`, or null. */
export function torchPython(): string | null {
  if (cached !== undefined) return cached;
  for (const py of [process.env.UNIMRG_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean) as string[]) {
    try {
      execFileSync(py, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60000 });
      return (cached = py);
    } catch {
      /* try the next one */
    }
  }
  return (cached = null);
}

/** A long-lived Python process: send one JSON line, read one JSON line back. */
export class PythonPeer {
  private proc: ChildProcessWithoutNullStreams;
  private lines: AsyncIterableIterator<string>;
  /** env is added to this process's; a key set to undefined is removed. */
  constructor(python: string, script: string, args: string[] = [], env: Record<string, string | undefined> = {}) {
    this.proc = spawn(python, [script, ...args], { env: { ...process.env, ...env } });
    this.proc.stderr.on('data', (d) => process.stderr.write(d));
    this.lines = readline.createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }
  async request<T>(msg: unknown): Promise<T> {
    this.proc.stdin.write(`${JSON.stringify(msg)}\n`);
    const { value, done } = await this.lines.next();
    if (done) throw new Error('python peer exited');
    return JSON.parse(value) as T;
  }
  close(): void { this.proc.stdin.end(); }
}
