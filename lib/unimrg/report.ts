// report.md for an experiment: tables of understanding accuracy (per split and per category),
// hallucination and generation metrics for the base and every arm (mean ± std over seeds), and
// PNG plots: loss curves per task, accuracy by category, the sample grids.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TASKS, type TaskKind } from '../data/tasks/kinds';
import { QA_CATEGORIES } from '../data/scenes/qa';
import { barChart, linePlot, type LineSeries } from './eval/plot';
import { formatDifference, pairedDifference } from './eval/paired';
import { writePng } from './eval/png';
import type { EvalResult } from './evaluate';
import type { ArmResult, ExperimentResult } from './experiment';
import type { BatchMode } from '../data/tasks/schedule';
import { makeDirs } from '../io/dirs';
import { readBaseRecord, RECIPE_FILE } from './shipped-bases';

const SPLITS = ['val', 'test', 'compositional'] as const;

function stats(xs: number[]): { mean: number; std: number } {
  const f = xs.filter(Number.isFinite);
  if (f.length === 0) return { mean: NaN, std: NaN };
  const mean = f.reduce((a, b) => a + b, 0) / f.length;
  const std = f.length > 1 ? Math.sqrt(f.reduce((a, b) => a + (b - mean) ** 2, 0) / (f.length - 1)) : 0;
  return { mean, std };
}

/** "0.512 ± 0.013" (the ± part only with several seeds). */
export function meanStd(xs: number[], digits = 3): string {
  const s = stats(xs);
  if (!Number.isFinite(s.mean)) return '–';
  return xs.length > 1 ? `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}` : s.mean.toFixed(digits);
}

/** The arms' results grouped by arm name, in first-seen order, with the base as its own group. */
function groups(r: ExperimentResult): [string, EvalResult[]][] {
  const g = new Map<string, EvalResult[]>([['base', [r.baseEval]]]);
  for (const a of r.arms) g.set(a.arm, [...(g.get(a.arm) ?? []), a.eval]);
  return [...g];
}

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function resultTables(r: ExperimentResult): string {
  const g = groups(r);
  const und = table(['model', ...SPLITS.map((s) => `${s} accuracy`), 'val macro'], g.map(([name, evs]) => [
    name, ...SPLITS.map((s) => meanStd(evs.map((e) => e.understanding[s]?.overall.accuracy ?? NaN))), meanStd(evs.map((e) => e.understanding.val?.macro ?? NaN)),
  ]));
  const cats = table(['model', ...QA_CATEGORIES], g.map(([name, evs]) => [
    name, ...QA_CATEGORIES.map((c) => meanStd(evs.map((e) => e.understanding.test?.byCategory[c]?.accuracy ?? NaN))),
  ]));
  const pope = table(['model', 'accuracy', 'precision', 'recall', 'F1', 'yes-ratio'], g.map(([name, evs]) => {
    const h = (k: 'accuracy' | 'precision' | 'recall' | 'f1' | 'yesRatio') => meanStd(evs.map((e) => e.understanding.test?.hallucination[k] ?? NaN));
    return [name, h('accuracy'), h('precision'), h('recall'), h('f1'), h('yesRatio')];
  }));
  const gen = table(['model', 'reconstruction PSNR (dB)', 'depth AbsRel ↓', 'depth δ<1.25', 'depth Spearman ρ', 'boundary F (2 px)'], g.map(([name, evs]) => [
    name,
    meanStd(evs.map((e) => e.generation?.reconstruction.psnr ?? NaN), 2),
    meanStd(evs.map((e) => e.generation?.depth.absRel ?? NaN)),
    meanStd(evs.map((e) => e.generation?.depth.delta1 ?? NaN)),
    meanStd(evs.map((e) => e.generation?.depth.spearman ?? NaN)),
    meanStd(evs.map((e) => e.generation?.segmentation.f ?? NaN)),
  ]));
  return [
    '### Understanding accuracy (exact match)', '', und, '',
    ...pairedSection(r),
    '### Accuracy by question category (test split)', '', cats, '',
    '### Hallucination: existence questions, POPE-style (test split)', '', pope, '',
    '### Generation quality (val scenes)', '', gen, '',
  ].join('\n');
}

/** The baseline every other arm is compared with, seed by seed. */
export const BASELINE_ARM = 'understanding only';

/**
 * Each arm minus understanding-only on the test split, paired by seed (same base, same
 * understanding rows): mean and 95% t-interval over seeds, overall, per category and POPE F1.
 * Empty with fewer than two seeds or no baseline arm.
 */
function pairedSection(r: ExperimentResult): string[] {
  const seeds = [...new Set(r.arms.filter((a) => a.arm === BASELINE_ARM).map((a) => a.seed))];
  if (seeds.length < 2) return [];
  const bySeed = (arm: string) => seeds.map((s) => r.arms.find((a) => a.arm === arm && a.seed === s)?.eval.understanding.test);
  const base = bySeed(BASELINE_ARM);
  const others = [...new Set(r.arms.map((a) => a.arm))].filter((a) => a !== BASELINE_ARM);
  const rows = others.map((arm) => {
    const mine = bySeed(arm);
    const diff = (f: (u: NonNullable<typeof base[number]>) => number | undefined) =>
      formatDifference(pairedDifference(mine.map((u) => (u === undefined ? NaN : f(u) ?? NaN)), base.map((u) => (u === undefined ? NaN : f(u) ?? NaN))));
    return [arm, diff((u) => u.overall.accuracy), ...QA_CATEGORIES.map((c) => diff((u) => u.byCategory[c]?.accuracy)), diff((u) => u.hallucination.f1)];
  });
  return [
    `### Paired difference from understanding only (test split; mean over ${seeds.length} seeds [95% t-interval])`, '',
    table(['arm', 'overall', ...QA_CATEGORIES, 'POPE F1'], rows), '',
  ];
}

/** One task's loss over steps, one series per arm that trains it (first seed). */
function lossSeries(arms: ArmResult[], task: TaskKind): LineSeries[] {
  const out: LineSeries[] = [];
  for (const a of arms.filter((x) => x.seed === arms[0].seed)) {
    const pts = a.metrics.filter((m) => m.tasks[task] !== null);
    if (pts.length > 0) out.push({ name: a.arm, x: pts.map((m) => m.step), y: smooth(pts.map((m) => m.tasks[task] as number)) });
  }
  return out;
}

/** What the batching mode means for the comparison, in one sentence for every results table. */
export function protocolSentence(mode: BatchMode | undefined): string {
  switch (mode) {
    case 'per-task': return 'Batching: **per-task**, the published protocol: every step holds one full micro-batch of each trained task, so the understanding rows per step, and their order, are the same in every arm (arms with more tasks see more samples).';
    case 'mixed': return 'Batching: **mixed**, equal compute: every arm\'s step holds one batch shared by its trained tasks, so arms with more tasks see fewer understanding rows.';
    case 'interleave': return 'Batching: **interleave**, equal compute: one task per micro-batch in turn, so arms with more tasks see fewer understanding rows.';
    default: return 'Batching: not recorded (results from before the batching mode was recorded were mixed).';
  }
}

/** A trailing mean over 10 steps: per-step losses of small batches are noisy. */
function smooth(y: number[], k = 10): number[] {
  return y.map((_, i) => {
    const w = y.slice(Math.max(0, i - k + 1), i + 1);
    return w.reduce((a, b) => a + b, 0) / w.length;
  });
}

/** With --resume, the runs an earlier invocation finished (their time is not in this one's). */
function keptNote(r: ExperimentResult): string {
  const kept = r.arms.filter((a) => a.kept).length;
  return kept === 0 ? '' : `; ${kept} of its ${r.arms.length} runs were finished by an earlier invocation and kept (\`--resume\`)`;
}

/** The base as a reader needs it: a shipped base by its recipe and accuracy, a run by its path. */
function baseDescription(dir: string, base: string): string {
  if (!fs.existsSync(path.join(base, RECIPE_FILE))) return `\`${path.relative(dir, base) || base}\``;
  const b = readBaseRecord(base);
  const t = b.evaluation.splits.test;
  return `the shipped \`bases/${b.family}\`: preset ${b.preset}, ${b.steps} steps of understanding + reconstruction by \`${b.command}\`, test accuracy ${t.accuracy.toFixed(3)} on ${t.questions} questions`;
}

/** Writes report.md and its PNGs into `dir`; returns the report's path. */
export async function writeReport(dir: string, r: ExperimentResult, o: { title?: string; command?: string; context?: string[] } = {}): Promise<string> {
  makeDirs(dir, 'report');
  const curves: string[] = [];
  for (const task of TASKS) {
    const series = lossSeries(r.arms, task);
    if (series.length === 0) continue;
    const file = `loss-${task}.png`;
    await writePng(path.join(dir, file), linePlot({ series, title: `${task} loss (10-step mean)`, xLabel: 'step', yLabel: 'loss', width: 640, height: 320 }));
    curves.push(`![${task} loss](${file})`);
  }
  const g = groups(r);
  await writePng(path.join(dir, 'accuracy-by-category.png'), barChart({
    groups: QA_CATEGORIES as unknown as string[],
    series: g.map(([name, evs]) => ({ name, values: QA_CATEGORIES.map((c) => stats(evs.map((e) => e.understanding.test?.byCategory[c]?.accuracy ?? NaN)).mean) })),
    title: 'test accuracy by question category', yMin: 0, yMax: 1, width: 900, height: 420,
  }));
  const grids = r.arms.filter((a) => a.eval.grid !== undefined).map((a) => `**${a.arm}** (seed ${a.seed}): ![samples](${path.relative(dir, a.eval.grid!)})`);
  const md = [
    `# ${o.title ?? `UniMRG experiment: ${r.family}`}`, '',
    `${o.command ? `Produced by \`${o.command}\` in` : 'Took'} ${(r.seconds / 60).toFixed(1)} min${keptNote(r)}.`, '',
    `Every arm starts from the same base model (${baseDescription(dir, r.base)}) and trains the same number of steps with the same batch size${r.trainScenes === undefined ? '' : `, drawing from the same ${r.trainScenes} post-training scenes`}; only the tasks differ. ${protocolSentence(r.batchMode)} Seeds: ${[...new Set(r.arms.map((a) => a.seed))].join(', ')}${r.arms.length > 0 && new Set(r.arms.map((a) => a.seed)).size > 1 ? ' (mean ± sample std)' : ''}.`, '',
    resultTables(r),
    ...(o.context ?? []),
    '## Plots', '',
    ...curves.map((c) => `${c}\n`),
    '![accuracy by category](accuracy-by-category.png)', '',
    '## Samples (input | true depth | generated depth | true boundaries | generated boundaries | reconstruction)', '',
    ...grids.map((l) => `${l}\n`),
  ].join('\n');
  const file = path.join(dir, 'report.md');
  fs.writeFileSync(file, md);
  return file;
}
