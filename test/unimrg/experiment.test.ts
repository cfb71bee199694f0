// The main job's machinery at toy scale: codec → base model → two arms from the same base →
// evaluation → report.md with valid PNG plots and sample grids.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { MAIN_ARMS, runExperiment } from '../../lib/unimrg/experiment';
import { meanStd, writeReport } from '../../lib/unimrg/report';

jest.setTimeout(300_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-experiment-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function expectPng(file: string, minSide = 32): Promise<void> {
  const buf = fs.readFileSync(file);
  expect(buf.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  const meta = await sharp(buf).metadata();
  expect(meta.format).toBe('png');
  expect(Math.min(meta.width!, meta.height!)).toBeGreaterThanOrEqual(minSide);
}

describe('experiment and report', () => {
  it('runs base + two arms from the same base and writes a report with valid PNGs', async () => {
    const out = path.join(tmp, 'run');
    const r = await runExperiment({
      family: 'autoregressive-vq', out, arms: MAIN_ARMS, seeds: [0], steps: 4, baseSteps: 6, batchSize: 4,
      evalCount: 2, generationCount: 2, codecScenes: 8, count: 32, progress: 'none', log: () => {},
      train: { data: { workers: 0 } },
    });
    expect(r.arms.map((a) => a.arm)).toEqual(['understanding only', 'UniMRG (all four)']);
    // both arms start from the base and train the same number of steps
    for (const a of r.arms) {
      expect(a.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4]);
      expect(JSON.parse(fs.readFileSync(path.join(a.runDir, 'config.json'), 'utf8')).base).toBe(r.base);
      // one question per understanding sample, as evaluation asks (ExperimentOptions.maxTurns)
      expect(JSON.parse(fs.readFileSync(path.join(a.runDir, 'config.json'), 'utf8')).data.maxTurns).toBe(1);
      // every arm draws from the same post-training scenes (the data-size study sets how many)
      expect(JSON.parse(fs.readFileSync(path.join(a.runDir, 'config.json'), 'utf8')).data.count).toBe(32);
    }
    // understanding only never samples a generation task; UniMRG does
    expect(r.arms[0].metrics.every((m) => m.tasks.depth === null && m.tasks.segmentation === null && m.tasks.reconstruction === null)).toBe(true);
    expect(r.arms[1].metrics.some((m) => m.tasks.depth !== null)).toBe(true);
    for (const e of [r.baseEval, ...r.arms.map((a) => a.eval)]) {
      for (const s of ['val', 'test', 'compositional'] as const) expect(e.understanding[s]!.overall.total).toBeGreaterThan(0);
      expect(e.generation!.scenes).toBe(2);
      expect(e.generation!.depth.spearman).toBeGreaterThanOrEqual(-1);
      expect(e.generation!.depth.spearman).toBeLessThanOrEqual(1);
    }

    const report = await writeReport(out, r, { command: 'test' });
    const md = fs.readFileSync(report, 'utf8');
    expect(md).toMatch(/^# /);
    expect(r.trainScenes).toBe(32);
    expect(md).toContain('drawing from the same 32 post-training scenes');
    expect(md).toContain('| model | val accuracy | test accuracy | compositional accuracy | val macro |');
    expect(md).toContain('| UniMRG (all four) |');
    expect(md).toContain('| understanding only |');
    // every image the Markdown links exists and is a PNG
    const links = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]);
    expect(links).toEqual(expect.arrayContaining(['loss-understanding.png', 'loss-depth.png', 'accuracy-by-category.png']));
    expect(links.length).toBeGreaterThanOrEqual(4);
    for (const l of links) await expectPng(path.join(out, l));
  });

  it('formats mean ± sample std over seeds', () => {
    expect(meanStd([0.5])).toBe('0.500');
    expect(meanStd([0.4, 0.6])).toBe('0.500 ± 0.141');
    expect(meanStd([NaN])).toBe('–');
  });
});
