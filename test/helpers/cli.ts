// Runs the command line in this process (lib/cli's main), capturing what it prints: for tests of
// its error paths, which must answer with a message and an exit code, never a hang or a crash.
import { main } from '../../lib/cli';

export interface CliResult { code: number; err: string; out: string }

export async function runCli(...args: string[]): Promise<CliResult> {
  const err: string[] = [];
  const out: string[] = [];
  const e = jest.spyOn(console, 'error').mockImplementation((...a) => { err.push(a.join(' ')); });
  const l = jest.spyOn(console, 'log').mockImplementation((...a) => { out.push(a.join(' ')); });
  const w = jest.spyOn(process.stderr, 'write').mockImplementation((s) => { err.push(String(s)); return true; });
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((s) => { out.push(String(s)); return true; });
  const before = process.exitCode;
  try {
    const code = await main(['node', 'unimrg', ...args]);
    return { code, err: err.join('\n'), out: out.join('\n') };
  } finally {
    process.exitCode = before;
    e.mockRestore(); l.mockRestore(); w.mockRestore(); o.mockRestore();
  }
}
