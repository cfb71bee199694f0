// `unimrg eval` and `unimrg generate`: rebuild a trained adapter from its run directory and
// measure it, or draw its generations for a few scenes (or image files).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { SPLIT_NAMES, type Split } from '../data/scenes/splits';
import { evaluate } from '../unimrg/evaluate';
import { resultTables } from '../unimrg/report';
import { buildAdapter, readAdapterSpec } from '../unimrg/run-model';
import type { Adapter } from '../adapters/types';
import { asUsage, deviceFlag, numberFlag, UsageError } from './errors';
import type { Device } from '../torch/dtype';

/** The adapter saved in a run directory (adapter.json + checkpoint/model.safetensors). */
export function adapterFromRun(dir: string, device?: Device): Adapter {
  if (!fs.existsSync(dir)) throw new UsageError(`no such run directory or checkpoint: ${dir}`);
  const spec = asUsage(() => readAdapterSpec(dir));
  if (spec === undefined) throw new UsageError(`${dir} has no adapter.json: pass a run directory written by unimrg train`);
  return asUsage(() => buildAdapter(spec, { weights: dir, device }));
}

export function addEvalCommands(cli: Command): void {
  cli.command('eval')
    .description('understanding accuracy per category (val, test, compositional), POPE hallucination, generation quality, a sample grid')
    .argument('<run>', 'run directory (or its checkpoint folder)')
    .option('--splits <list>', 'comma-separated splits', 'val,test,compositional')
    .option('--count <n>', 'scenes per split', '100')
    .option('--generation-count <n>', 'val scenes for generation metrics (0: none)', '16')
    .option('--steps <n>', 'decoding steps for generation')
    .option('--cfg <x>', 'classifier-free guidance scale')
    .option('--device <d>', 'cpu | cuda')
    .option('--json', 'print JSON instead of tables')
    .action(async (run: string, f: { splits: string; count: string; generationCount: string; steps?: string; cfg?: string; device?: string; json?: boolean }) => {
      const splits = f.splits.split(',').map((s) => s.trim());
      for (const s of splits) if (!(SPLIT_NAMES as readonly string[]).includes(s)) throw new UsageError(`--splits: unknown split '${s}' (expected ${SPLIT_NAMES.join(', ')})`);
      const count = numberFlag('count', f.count, { integer: true, min: 1 })!;
      const generationCount = numberFlag('generation-count', f.generationCount, { integer: true, min: 0 })!;
      const steps = numberFlag('steps', f.steps, { integer: true, min: 1 });
      const cfg = numberFlag('cfg', f.cfg, { min: 0 });
      const adapter = adapterFromRun(run, deviceFlag(f.device));
      try {
        const grid = path.join(fs.statSync(run).isDirectory() ? run : path.dirname(run), 'eval-samples.png');
        const r = await evaluate(adapter, { splits: splits as Split[], count, generationCount, steps, cfg, gridFile: generationCount > 0 ? grid : undefined });
        fs.writeFileSync(path.join(path.dirname(grid), 'eval.json'), `${JSON.stringify(r, null, 2)}\n`);
        if (f.json) console.log(JSON.stringify(r, null, 2));
        else console.log(resultTables({ family: adapter.family, base: run, baseEval: r, arms: [], seconds: 0 }).replace(/\| base \|/g, `| ${path.basename(path.resolve(run))} |`));
        if (r.grid) console.log(`samples: ${r.grid}`);
      } finally {
        adapter.dispose();
      }
    });

  cli.command('generate')
    .description('generate reconstructions, depth maps or boundary maps for val scenes into a PNG grid')
    .argument('<run>', 'run directory')
    .option('--count <n>', 'val scenes', '4')
    .option('--steps <n>', 'decoding steps')
    .option('--cfg <x>', 'classifier-free guidance scale')
    .option('-o, --out <file>', 'PNG file', 'samples.png')
    .action(async (run: string, f: { count: string; steps?: string; cfg?: string; out: string }) => {
      const count = numberFlag('count', f.count, { integer: true, min: 1 })!;
      const adapter = adapterFromRun(run);
      try {
        const { evaluateGeneration } = await import('../unimrg/evaluate');
        const r = await evaluateGeneration(adapter, { count, gridRows: count, steps: numberFlag('steps', f.steps, { integer: true, min: 1 }), cfg: numberFlag('cfg', f.cfg, { min: 0 }), gridFile: f.out });
        console.log(`wrote ${r.grid} (${count} val scenes; depth ρ ${r.depth.spearman.toFixed(3)}, boundary F ${r.segmentation.f.toFixed(3)}, PSNR ${r.reconstruction.psnr.toFixed(2)} dB)`);
      } finally {
        adapter.dispose();
      }
    });
}
