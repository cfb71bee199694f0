// `unimrg tokenizer`, `unimrg experiment` and `unimrg quickstart` (the main job, `npm start`).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { checkFamily, codecConfig } from '../adapters/registry';
import { FAMILIES, type Family } from '../adapters/types';
import { type Arm, checkExperimentOut, DEFAULT_TRAIN_SCENES, MAIN_ARMS, PAPER_ARMS, prepareCodec, runExperiment } from '../unimrg/experiment';
import { publishedContext } from '../unimrg/published-results';
import { writeReport } from '../unimrg/report';
import { makeDirs } from '../io/dirs';
import { asUsage, batchModeFlag, numberFlag, progressFlag, UsageError } from './errors';

/** The main job's budget on 2 CPU cores (README's Quick start). */
export const QUICKSTART = { family: 'autoregressive-vq' as Family, steps: 300, evalCount: 60, generationCount: 8, count: 4000 };

const ARM_SETS: Record<string, readonly Arm[]> = { paper: PAPER_ARMS, main: MAIN_ARMS };

export function addExperimentCommands(cli: Command): void {
  cli.command('tokenizer')
    .description('fit the frozen image codec (VQ tokenizer or continuous autoencoder) of a family on the embedded scenes')
    .option('--family <name>', FAMILIES.join(' | '), 'autoregressive-vq')
    .option('--preset <name>', 'model preset (sets image size and codec shape)', 'tiny')
    .option('--scenes <n>', 'training scenes (each gives an image, a depth map and a boundary map)', '200')
    .option('-o, --out <file>', 'codec file', 'codec.safetensors')
    .action(async (f: { family: string; preset: string; scenes: string; out: string }) => {
      const family = asUsage(() => checkFamily(f.family));
      asUsage(() => codecConfig(family, f.preset)); // a bad preset is a usage error, before any work
      const scenes = numberFlag('scenes', f.scenes, { integer: true, min: 1 })!;
      asUsage(() => makeDirs(path.dirname(path.resolve(f.out)), '--out')); // before the fitting, not after
      const file = await prepareCodec(family, f.preset, path.resolve(f.out), scenes, (s) => console.error(s));
      console.log(`codec: ${file}`);
    });

  cli.command('experiment')
    .description("the paper's comparison at small scale: understanding only, + reconstruction, + depth, + segmentation, all four")
    .option('--family <name>', `${FAMILIES.join(' | ')} | all`, 'all')
    .option('--seeds <list>', 'comma-separated seeds', '0,1,2')
    .option('--steps <n>', 'post-training steps per arm', String(QUICKSTART.steps))
    .option('--base <dir>', "the base model every arm starts from (default: the family's shipped base in bases/)")
    .option('--base-steps <n>', 'pre-train the base from scratch for n steps instead of using the shipped one')
    .option('--arms <set>', 'paper (all five arms) | main (understanding only and all four)', 'paper')
    .option('--lr <x>', "peak learning rate of the post-training (default: the preset's)")
    .option('--condition-grad-scale <x>', "scale of the LLM's gradient (every task's) into the input image's features, in [0, 1] (default: the base's, the published 0.1)")
    .option('--train-scenes <n>', 'post-training scenes every arm draws from (the data-size study)', String(DEFAULT_TRAIN_SCENES))
    .option('--eval-count <n>', 'scenes per split for understanding', '100')
    .option('-o, --out <dir>', 'output directory', 'runs/experiment')
    .option('--progress <kind>', 'bar | lines | none')
    .option('--batch-mode <mode>', 'per-task (the published protocol: one micro-batch of every trained task per step) | mixed | interleave (equal compute)', 'per-task')
    .option('--overwrite', 'replace the runs of an earlier experiment in the output directory')
    .option('--resume', 'continue an experiment cut short in the output directory: finished arms are kept, started ones resume from their checkpoint')
    .action(async (f: { family: string; seeds: string; steps: string; arms: string; lr?: string; base?: string; baseSteps?: string; trainScenes: string; conditionGradScale?: string; evalCount: string; out: string; progress?: string; batchMode?: string; overwrite?: boolean; resume?: boolean }) => {
      const families = f.family === 'all' ? [...FAMILIES] : [asUsage(() => checkFamily(f.family))];
      const seeds = f.seeds.split(',').map((s) => numberFlag('seeds', s, { integer: true, min: 0 })!);
      const steps = numberFlag('steps', f.steps, { integer: true, min: 1 })!;
      const baseSteps = numberFlag('base-steps', f.baseSteps, { integer: true, min: 1 });
      const base = f.base === undefined ? undefined : path.resolve(f.base);
      if (base !== undefined && !fs.existsSync(base)) throw new UsageError(`--base: ${base} does not exist`);
      const evalCount = numberFlag('eval-count', f.evalCount, { integer: true, min: 1 })!;
      const trainScenes = numberFlag('train-scenes', f.trainScenes, { integer: true, min: 1 })!;
      const lr = numberFlag('lr', f.lr, { min: 0 });
      if (lr === 0) throw new UsageError('--lr must be > 0');
      const gradScale = numberFlag('condition-grad-scale', f.conditionGradScale, { min: 0, max: 1 });
      const train = { ...(lr === undefined ? {} : { optim: { lr } }), ...(gradScale === undefined ? {} : { model: { conditionGradScale: gradScale } }) };
      const arms = ARM_SETS[f.arms] ?? (() => { throw new UsageError(`--arms must be paper or main, got '${f.arms}'`); })();
      const progress = progressFlag(f.progress);
      const batchMode = batchModeFlag(f.batchMode);
      const experiments = families.map((family) => {
        const out = path.resolve(f.out, family);
        const options = { family, out, arms, seeds, steps, base, baseSteps, count: trainScenes, evalCount, generationCount: 8, progress, batchMode, overwrite: f.overwrite, resume: f.resume, train };
        asUsage(() => { checkExperimentOut(options); makeDirs(out, '--out'); }); // every family before any work
        return options;
      });
      for (const options of experiments) {
        const { family, out } = options;
        const r = await runExperiment(options);
        const command = `unimrg experiment --family ${family} --seeds ${seeds.join(',')} --arms ${f.arms} --steps ${steps}${lr === undefined ? '' : ` --lr ${lr}`}${base === undefined ? '' : ` --base ${f.base}`}${baseSteps === undefined ? '' : ` --base-steps ${baseSteps}`}${trainScenes === DEFAULT_TRAIN_SCENES ? '' : ` --train-scenes ${trainScenes}`}${gradScale === undefined ? '' : ` --condition-grad-scale ${gradScale}`} --eval-count ${evalCount} --batch-mode ${batchMode}`;
        console.log(`report: ${await writeReport(out, r, { title: `UniMRG at small scale: ${family}`, command })}`);
      }
    });

  cli.command('quickstart')
    .description('the main job (npm start): from the shipped base model, UniMRG vs understanding-only post-training, evaluation, report')
    .option('--family <name>', FAMILIES.join(' | '), QUICKSTART.family)
    .option('-o, --out <dir>', 'run directory (default runs/<timestamp>)')
    .option('--progress <kind>', 'bar | lines | none')
    .option('--batch-mode <mode>', 'per-task (the published protocol) | mixed | interleave (equal compute)', 'per-task')
    .option('--overwrite', 'replace an earlier quick start in the output directory')
    .option('--resume', 'continue a quick start cut short in --out (finished arms are kept)')
    .action(async (f: { family: string; out?: string; progress?: string; batchMode?: string; overwrite?: boolean; resume?: boolean }) => {
      const family = asUsage(() => checkFamily(f.family));
      const progress = progressFlag(f.progress);
      const batchMode = batchModeFlag(f.batchMode);
      if (f.resume && f.out === undefined) throw new UsageError('--resume needs --out: the directory of the quick start to continue');
      const id = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
      const out = path.resolve(f.out ?? path.join('runs', id));
      const q = QUICKSTART;
      const options = { family, out, arms: MAIN_ARMS, seeds: [0], steps: q.steps, evalCount: q.evalCount, generationCount: q.generationCount, count: q.count, progress, batchMode, overwrite: f.overwrite, resume: f.resume };
      asUsage(() => { checkExperimentOut(options); makeDirs(out, '--out'); });
      const r = await runExperiment(options);
      const report = await writeReport(out, r, { title: 'UniMRG quick start: post-training with all four tasks against understanding only', command: `unimrg quickstart --family ${family} --batch-mode ${batchMode}`, context: publishedContext() });
      console.log(`report: ${report} (${(r.seconds / 60).toFixed(1)} min)`);
    });
}
