// `unimrg experiment --resume` at toy scale: a stop (Ctrl-C, or an AbortSignal) ends the experiment after a checkpoint, the
// same experiment resumes it, finished arms are kept untouched, arms evaluated on other sizes are
// evaluated again without training, an arm killed before its first checkpoint trains again, and a
// run directory holding another training is refused before any work.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type ExperimentOptions, ExperimentStopped, MAIN_ARMS, PAPER_ARMS, runExperiment } from '../../lib/unimrg/experiment';
import { writeReport } from '../../lib/unimrg/report';

jest.setTimeout(600_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-experiment-resume-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const out = path.join(tmp, 'exp');
const toy = (o: Partial<ExperimentOptions> = {}): ExperimentOptions => ({
  family: 'autoregressive-vq', out, arms: MAIN_ARMS, seeds: [0], steps: 4, baseSteps: 6, batchSize: 4,
  evalCount: 2, generationCount: 2, codecScenes: 8, count: 32, progress: 'none', log: () => {},
  train: { data: { workers: 0 } }, ...o,
});
const arm = (name: string) => PAPER_ARMS.find((a) => a.name === name)!;
const read = (f: string) => fs.readFileSync(f, 'utf8');
const steps = (runDir: string) => read(path.join(runDir, 'metrics.jsonl')).trim().split('\n').map((l) => JSON.parse(l).step);
/** A digest of every file under `dir` with its name, to show that nothing in it changed. */
function snapshot(dir: string): string {
  const h = createHash('sha256');
  for (const f of (fs.readdirSync(dir, { recursive: true }) as string[]).sort()) {
    const file = path.join(dir, f);
    if (fs.statSync(file).isFile()) h.update(`${f}\0`).update(fs.readFileSync(file));
  }
  return h.digest('hex');
}

describe('experiment --resume', () => {
  it('a stop (Ctrl-C) ends the experiment after a checkpoint; --resume continues it and adds arms', async () => {
    // Aborting is what a first Ctrl-C does (the CLI's SIGINT handler sets the same stop flag).
    const stop = new AbortController();
    const log = (line: string) => { if (line.startsWith('post-training "understanding only"')) stop.abort(); };
    const stopped = runExperiment(toy({ log, signal: stop.signal }));
    await expect(stopped).rejects.toBeInstanceOf(ExperimentStopped);
    await expect(stopped).rejects.toMatchObject({ exitCode: 130, message: expect.stringContaining('--resume') });
    const first = path.join(out, 'understanding-only-seed0');
    expect(fs.existsSync(path.join(first, 'checkpoint'))).toBe(true);
    expect(fs.existsSync(path.join(first, 'eval.json'))).toBe(false);
    const baseBefore = snapshot(path.join(out, 'base', 'checkpoint'));

    // Without --resume the directory is refused; with it, the stopped arm resumes and a new arm joins.
    await expect(runExperiment(toy())).rejects.toThrow(/--resume to continue them/);
    const lines: string[] = [];
    const arms = [arm('understanding only'), arm('+ depth'), arm('UniMRG (all four)')];
    const r = await runExperiment(toy({ arms, resume: true, log: (l) => lines.push(l) }));
    expect(r.arms.map((a) => a.arm)).toEqual(['understanding only', '+ depth', 'UniMRG (all four)']);
    for (const a of r.arms) expect(steps(a.runDir)).toEqual([1, 2, 3, 4]);
    expect(r.arms.some((a) => a.kept)).toBe(false);
    expect(lines.some((l) => l.startsWith('resuming "understanding only"'))).toBe(true);
    // the finished base was resumed at its last step: no step trained again, its weights unchanged
    expect(steps(path.join(out, 'base'))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(snapshot(path.join(out, 'base', 'checkpoint'))).toBe(baseBefore);

    // Everything finished: a second --resume keeps every arm, and every file of its run, as it is.
    const runs = () => r.arms.map((a) => snapshot(a.runDir));
    const before = runs();
    const again = await runExperiment(toy({ arms, resume: true }));
    expect(again.arms.every((a) => a.kept && a.seconds === 0 && a.eval.grid === path.join(a.runDir, 'samples.png'))).toBe(true);
    // a copied experiment resumes too: its runs name the old base path, whose weights are the same bytes
    const moved = path.join(tmp, 'moved');
    fs.cpSync(out, moved, { recursive: true });
    const there = await runExperiment(toy({ out: moved, arms, resume: true }));
    expect(there.arms.every((a) => a.kept && a.runDir.startsWith(moved) && a.eval.grid === path.join(a.runDir, 'samples.png'))).toBe(true);
    expect(read(await writeReport(moved, there, { command: 'test' }))).toContain('](depth-seed0/samples.png)');
    expect(again.arms.map((a) => a.eval.understanding.test!.overall)).toEqual(r.arms.map((a) => a.eval.understanding.test!.overall));
    expect(runs()).toEqual(before);
    const report = read(await writeReport(out, again, { command: 'test' }));
    expect(report).toContain('3 of its 3 runs were finished by an earlier invocation and kept (`--resume`)');
  });

  it('evaluates kept arms again, without training, when the evaluation sizes differ', async () => {
    const runDir = path.join(out, 'depth-seed0');
    const checkpoint = snapshot(path.join(runDir, 'checkpoint'));
    const metrics = read(path.join(runDir, 'metrics.jsonl'));
    const r = await runExperiment(toy({ arms: [arm('+ depth')], resume: true, evalCount: 3, generationCount: 3 }));
    expect(r.arms[0].kept).toBeUndefined();
    expect(r.arms[0].eval.generation!.scenes).toBe(3);
    expect(r.arms[0].eval.understanding.test!.overall.total).toBe(r.baseEval.understanding.test!.overall.total);
    expect(snapshot(path.join(runDir, 'checkpoint'))).toBe(checkpoint);
    expect(read(path.join(runDir, 'metrics.jsonl'))).toBe(metrics);
  });

  it('trains again an arm killed before its first checkpoint', async () => {
    const runDir = path.join(out, 'unimrg-all-four-seed0');
    fs.rmSync(path.join(runDir, 'checkpoint'), { recursive: true });
    fs.rmSync(path.join(runDir, 'eval.json'));
    fs.writeFileSync(path.join(runDir, 'metrics.jsonl'), read(path.join(runDir, 'metrics.jsonl')).split('\n').slice(0, 2).join('\n'));
    const lines: string[] = [];
    const r = await runExperiment(toy({ arms: [arm('UniMRG (all four)')], resume: true, log: (l) => lines.push(l) }));
    expect(lines.some((l) => l.includes('again (cut before its first checkpoint)'))).toBe(true);
    expect(steps(r.arms[0].runDir)).toEqual([1, 2, 3, 4]);
    expect(fs.existsSync(path.join(runDir, 'checkpoint'))).toBe(true);
  });

  it('refuses, before any work, a run directory holding another training, and --resume with --overwrite', async () => {
    const before = snapshot(out);
    await expect(runExperiment(toy({ resume: true, train: { data: { workers: 0 }, optim: { lr: 1e-2 } } })))
      .rejects.toThrow(new RegExp(`--resume: ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/base holds another training than this experiment's \\(differs in optim\\.lr\\)`));
    await expect(runExperiment(toy({ resume: true, steps: 5 }))).rejects.toThrow(/understanding-only-seed0 holds another training .*differs in steps/);
    // a model override (the gradient-scale study, --condition-grad-scale) is part of the training
    await expect(runExperiment(toy({ resume: true, train: { data: { workers: 0 }, model: { conditionGradScale: 1 } } })))
      .rejects.toThrow(/base holds another training .*differs in model\.conditionGradScale/);
    await expect(runExperiment(toy({ resume: true, overwrite: true }))).rejects.toThrow(/--resume and --overwrite contradict each other/);
    expect(snapshot(out)).toBe(before);
    // a run whose base is gone cannot be shown to be this experiment's
    const gone = path.join(tmp, 'gone');
    fs.cpSync(out, gone, { recursive: true });
    const config = path.join(gone, 'depth-seed0', 'config.json');
    fs.writeFileSync(config, JSON.stringify({ ...JSON.parse(read(config)), base: path.join(tmp, 'nowhere') }));
    await expect(runExperiment(toy({ out: gone, arms: [arm('+ depth')], resume: true })))
      .rejects.toThrow(/depth-seed0 holds another training .*its base .*nowhere is gone, so its bytes cannot be compared/);
  });
});
