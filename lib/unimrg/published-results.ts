// The multi-seed comparison that docs/results/README.md reports, quoted by `npm start`'s report
// so that its single seed is read against the seed-to-seed spread. Updated together with
// docs/results/ (test/unimrg/published-results.test.ts checks that both say the same).
import { formatDifference, type PairedDifference } from './eval/paired';

export interface PublishedComparison {
  family: string;
  seeds: number[];
  /** The command that produced it (as docs/results/README.md names it). */
  command: string;
  /** Test accuracy, mean ± sample std over seeds. */
  understandingOnly: { mean: number; std: number };
  unimrg: { mean: number; std: number };
  /** UniMRG − understanding only, paired by seed: mean [95% t-interval]. */
  difference: PairedDifference;
}

export const PUBLISHED_DATE = '3 Dec 2026';
export const PUBLISHED: readonly PublishedComparison[] = [
  {
    family: 'autoregressive-vq',
    seeds: [0, 1, 2],
    command: 'unimrg experiment --family autoregressive-vq --arms main --seeds 0,1,2 --steps 300 --lr 6e-4 --eval-count 200',
    understandingOnly: { mean: 0.471, std: 0.001 },
    unimrg: { mean: 0.476, std: 0.002 },
    difference: { mean: 0.005, low: 0.002, high: 0.008, pairs: 3 },
  },
  {
    family: 'mar-diffusion',
    seeds: [0, 1, 2],
    command: 'unimrg experiment --family mar-diffusion --arms main --seeds 0,1,2 --steps 300 --lr 6e-4 --eval-count 200',
    understandingOnly: { mean: 0.467, std: 0.003 },
    unimrg: { mean: 0.465, std: 0.008 },
    difference: { mean: -0.002, low: -0.014, high: 0.011, pairs: 3 },
  },
  {
    family: 'query-diffusion',
    seeds: [0, 1, 2],
    command: 'unimrg experiment --family query-diffusion --arms main --seeds 0,1,2 --steps 300 --lr 6e-4 --eval-count 200',
    understandingOnly: { mean: 0.465, std: 0.004 },
    unimrg: { mean: 0.466, std: 0.003 },
    difference: { mean: 0.001, low: -0.003, high: 0.005, pairs: 3 },
  },
];

/** The report's context section: one line per published family (empty when none is published). */
export function publishedContext(): string[] {
  if (PUBLISHED.length === 0) return [];
  return [
    `## For context: the multi-seed comparison (docs/results/README.md, ${PUBLISHED_DATE})`, '',
    'One seed moves test accuracy by a few points; these are the same two arms over several seeds, from the same shipped bases:', '',
    '| family | seeds | understanding only | UniMRG (all four) | paired difference [95% CI] |',
    '|---|---|---|---|---|',
    ...PUBLISHED.map((p) => `| ${p.family} | ${p.seeds.join(', ')} | ${p.understandingOnly.mean.toFixed(3)} ± ${p.understandingOnly.std.toFixed(3)} | ${p.unimrg.mean.toFixed(3)} ± ${p.unimrg.std.toFixed(3)} | ${formatDifference(p.difference)} |`),
    '',
  ];
}
