// Ranks die with their launcher: `kill -9` of `unimrg train --nproc 2` (the launcher) must not
// leave its two ranks training on. Two mechanisms: PR_SET_PDEATHSIG through setpriv, and the
// ranks' own watchdog (UNIMRG_LAUNCHER_PID) where setpriv is missing.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prepareCodec } from '../../lib/unimrg/experiment';

jest.setTimeout(300_000);

const root = path.join(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-launcher-death-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Alive and not a zombie (a dead rank reparented to a PID 1 that does not reap stays a zombie). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The command line of a process ('' once it is gone). */
function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/**
 * The child processes of `pid` (every thread's list), less tsx's esbuild service: the launcher
 * runs from sources under tsx, whose transformer is a child process of its own (seen alive beside
 * the two ranks on a loaded machine).
 */
function children(pid: number): number[] {
  const out: number[] = [];
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const list = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
    if (list) out.push(...list.split(/\s+/).map(Number));
  }
  return out.filter((c) => !/\besbuild\b/.test(cmdline(c)));
}

async function waitUntil(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

const linux = process.platform === 'linux' && fs.existsSync('/proc/self/task');
const itLinux = linux ? it : it.skip;
if (!linux) it('(skipped: the launcher-death tests read /proc, which this platform lacks)', () => {});

itLinux('kill -9 of `unimrg train --nproc 2` ends both ranks within seconds', async () => {
  const codec = await prepareCodec('autoregressive-vq', 'tiny', path.join(tmp, 'codec.safetensors'), 8, () => {});
  const launcher = spawn(process.execPath, ['--require', 'tsx/cjs', 'test/scripts/cli.ts', 'train', '--nproc', '2', '--codec', codec,
    '--steps', '100000', '--batch-size', '2', '--count', '16', '--workers', '0', '--out', path.join(tmp, 'run'), '--progress', 'lines'],
  { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  launcher.stderr!.on('data', (d) => { stderr += d; });
  expect(await waitUntil(() => /step 1\//.test(stderr), 200_000)).toBe(true); // both ranks are training
  const ranks = children(launcher.pid!);
  expect(ranks).toHaveLength(2);
  expect(ranks.every(alive)).toBe(true);
  launcher.kill('SIGKILL');
  const t0 = Date.now();
  expect(await waitUntil(() => !ranks.some(alive), 10_000)).toBe(true);
  expect(Date.now() - t0).toBeLessThan(10_000);
});

itLinux('without setpriv, a rank whose launcher is gone kills itself (the watchdog)', () => {
  // A process told that its launcher is PID 1 (not its parent) is an orphaned rank.
  const script = "require('./lib/distributed/launcher-watchdog').watchLauncher(); setTimeout(() => console.log('still alive'), 20000);";
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script],
    { cwd: root, encoding: 'utf8', timeout: 30_000, env: { ...process.env, UNIMRG_LAUNCHER_PID: '1', RANK: '3' } });
  expect(r.signal).toBe('SIGKILL');
  expect(r.stdout).not.toContain('still alive');
  expect(r.stderr).toMatch(/rank 3 \(pid \d+\): its launcher \(pid 1\) is gone; exiting/);
  expect(Date.now() - t0).toBeLessThan(15_000);
});

itLinux('a rank whose parent is its launcher keeps running', () => {
  const script = "require('./lib/distributed/launcher-watchdog').watchLauncher(); setTimeout(() => console.log('still alive'), 1500);";
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script],
    { cwd: root, encoding: 'utf8', timeout: 30_000, env: { ...process.env, UNIMRG_LAUNCHER_PID: String(process.pid) } });
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('still alive');
});
