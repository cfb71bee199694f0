// `unimrg make-bases` (npm run make-bases): the command that made the base models in bases/.
import * as path from 'node:path';
import type { Command } from 'commander';
import { checkFamily } from '../adapters/registry';
import { FAMILIES, type Family } from '../adapters/types';
import { BASE_RECIPES, BaseInterrupted, makeBase } from '../unimrg/make-base';
import { asUsage, EXIT, progressFlag } from './errors';

export function addMakeBasesCommand(cli: Command): void {
  cli.command('make-bases')
    .description('pre-train the shipped base models (understanding + reconstruction) and write bases/<family>/ with recipe, metrics and checksums')
    .option('--family <name>', `${FAMILIES.join(' | ')} | all`, 'all')
    .option('--work <dir>', 'codecs and training runs (an interrupted run resumes from here)', 'runs/bases')
    .option('--bases <dir>', "where to write the bases (default: the package's bases/)")
    .option('--progress <kind>', 'bar | lines | none')
    .option('--overwrite', 'replace bases already in bases/')
    .action(async (f: { family: string; work: string; bases?: string; progress?: string; overwrite?: boolean }) => {
      const families: Family[] = f.family === 'all' ? [...FAMILIES] : [asUsage(() => checkFamily(f.family))];
      const progress = progressFlag(f.progress);
      const root = f.bases === undefined ? undefined : path.resolve(f.bases);
      for (const family of families) {
        let r;
        try {
          r = await makeBase({ family, work: f.work, root, overwrite: f.overwrite, progress });
        } catch (e) {
          if (!(e instanceof BaseInterrupted)) throw e;
          console.error(e.message);
          process.exitCode = EXIT.interrupted;
          return;
        }
        const t = r.evaluation.splits.test;
        console.log(`${family}: ${BASE_RECIPES[family].steps} steps in ${(r.seconds.training / 60).toFixed(1)} min, test accuracy ${t.accuracy.toFixed(3)} (${t.questions} questions)`);
      }
    });
}
