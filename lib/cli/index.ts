// The `unimrg` command line (bin/unimrg.js). One file per command beside this one.
import { Command } from 'commander';
import { doctor, formatDoctor } from './doctor';
import { watchLauncher } from '../distributed/launcher-watchdog';
import { EXIT } from './errors';
import { addEvalCommands } from './evaluate';
import { addExperimentCommands } from './experiment';
import { addLabelCommand } from './label';
import { addLaunchCommand } from './launch';
import { addMakeBasesCommand } from './make-bases';
import { addTrainCommand } from './train';

export function program(): Command {
  const { version } = require('../../package.json') as { version: string }; // eslint-disable-line @typescript-eslint/no-require-imports
  const cli = new Command('unimrg').description('Post-train unified multimodal models with UniMRG').version(version);
  cli.command('doctor')
    .description('the native binary loaded (variant), the libtorch found, backend, CUDA, threads and memory')
    .option('--json', 'print the report as JSON')
    .action((opts: { json?: boolean }) => {
      const r = doctor();
      console.log(opts.json ? JSON.stringify(r, null, 2) : formatDoctor(r));
      if (r.error) process.exitCode = 1;
    });
  addTrainCommand(cli);
  addEvalCommands(cli);
  addExperimentCommands(cli);
  addLaunchCommand(cli);
  addLabelCommand(cli);
  addMakeBasesCommand(cli);
  // Bad flags and unknown commands: commander prints the message; the exit code says "usage".
  cli.exitOverride().configureOutput({ outputError: (s, write) => write(s) });
  for (const c of cli.commands) c.exitOverride();
  return cli;
}

/** Runs the command line; resolves with the process exit code (never calls process.exit). */
export async function main(argv: string[] = process.argv): Promise<number> {
  watchLauncher(); // a rank of `unimrg launch` dies with it
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    const err = e as Error & { exitCode?: number; code?: string };
    if (typeof err.code === 'string' && err.code.startsWith('commander.')) {
      // --help and --version end here too, with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    console.error(`unimrg: ${err.message}`);
    return typeof err.exitCode === 'number' ? err.exitCode : EXIT.failure; // usage 2, a stopped experiment 130
  }
}
