// Starts world-size copies of a test/scripts/ddp-*.ts script as plain Node processes on loopback.
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

export const root = path.join(__dirname, '..', '..');

export interface RankResult { rank: number; code: number | null; signal: string | null; stdout: string; stderr: string; ms: number; json: any }

/** A port the kernel just handed out (closed again, so free unless someone races for it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function runRank(script: string, env: Record<string, string>, timeoutMs = 90000): Promise<RankResult> {
  const t0 = Date.now();
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join('test', 'scripts', script)], {
    cwd: root, env: { ...process.env, OMP_NUM_THREADS: '1', UNIMRG_NUM_THREADS: '1', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      let json: any = null;
      try { json = JSON.parse(last); } catch { /* not JSON: the test looks at stderr */ }
      resolve({ rank: Number(env.RANK), code, signal, stdout, stderr, ms: Date.now() - t0, json });
    });
  });
}

/** Runs `world` ranks of the script with torchrun's variables; extra[r] adds to rank r's env. */
export async function runRanks(script: string, world: number, extra: Record<string, string>[] = [], timeoutMs?: number): Promise<RankResult[]> {
  const port = await freePort();
  return Promise.all(Array.from({ length: world }, (_, r) => runRank(script, {
    MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), RANK: String(r), WORLD_SIZE: String(world), LOCAL_RANK: String(r),
    UNIMRG_DIST_TIMEOUT_MS: '30000', ...(extra[r] ?? {}),
  }, timeoutMs)));
}
