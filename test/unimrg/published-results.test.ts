// npm start's report quotes the multi-seed comparison of docs/results/README.md: the numbers it
// quotes must be the ones the results page reports.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatDifference } from '../../lib/unimrg/eval/paired';
import { PUBLISHED, PUBLISHED_DATE, publishedContext } from '../../lib/unimrg/published-results';

const page = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'results', 'README.md'), 'utf8');

it('quotes at least one family, dated', () => {
  expect(PUBLISHED.length).toBeGreaterThan(0);
  expect(PUBLISHED_DATE).toMatch(/\d{4}/);
});

it.each(PUBLISHED.map((p) => [p.family, p] as const))('%s: the page states the same command, arms and paired difference', (_, p) => {
  expect(page).toContain(p.command);
  expect(page).toContain(`${p.understandingOnly.mean.toFixed(3)} ± ${p.understandingOnly.std.toFixed(3)}`);
  expect(page).toContain(`${p.unimrg.mean.toFixed(3)} ± ${p.unimrg.std.toFixed(3)}`);
  expect(page).toContain(formatDifference(p.difference));
});

it('renders a context section naming the results page', () => {
  const md = publishedContext().join('\n');
  expect(md).toContain('docs/results/README.md');
  for (const p of PUBLISHED) expect(md).toContain(formatDifference(p.difference));
});
