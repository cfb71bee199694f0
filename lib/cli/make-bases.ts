// `unimrg make-bases` (npm run make-bases): the command that made the base models in bases/.
import type { Command } from 'commander';
import { checkFamily } from '../adapters/registry';
import { FAMILIES, type Family } from '../adapters/types';
import { BASE_RECIPES, makeBase } from '../unimrg/make-base';
import { asUsage, progressFlag } from './errors';

export function addMakeBasesCommand(cli: Command): void {
  cli.command('make-bases')
    .description('pre-train the shipped base models (understanding + reconstruction) and write bases/<family>/ with recipe, metrics and checksums')
    .option('--family <name>', `${FAMILIES.join(' | ')} | all`, 'all')
    .option('--work <dir>', 'codecs and training runs (an interrupted run resumes from here)', 'runs/bases')
    .option('--progress <kind>', 'bar | lines | none')
    .option('--overwrite', 'replace bases already in bases/')
    .action(async (f: { family: string; work: string; progress?: string; overwrite?: boolean }) => {
      const families: Family[] = f.family === 'all' ? [...FAMILIES] : [asUsage(() => checkFamily(f.family))];
      const progress = progressFlag(f.progress);
      for (const family of families) {
        const r = await makeBase({ family, work: f.work, overwrite: f.overwrite, progress });
        const t = r.evaluation.splits.test;
        console.log(`${family}: ${BASE_RECIPES[family].steps} steps in ${(r.seconds.training / 60).toFixed(1)} min, test accuracy ${t.accuracy.toFixed(3)} (${t.questions} questions)`);
      }
    });
}
