// The `unimrg` command line (bin/unimrg.js). One file per command beside this one.
import { Command } from 'commander';
import { doctor, formatDoctor } from './doctor';

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
  return cli;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  await program().parseAsync(argv);
}
