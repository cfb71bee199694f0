// Full training-state checkpoints: 10 uninterrupted steps of a small model with dropout (so the
// RNG matters), AdamW and warm-up + cosine equal 5 steps, save, fresh objects, load, 5 more —
// bit for bit, parameters and every loss. Also the RNG round trip, atomic replacement and clear
// errors for missing, truncated and corrupt checkpoints and for a model that does not match.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { io, nn, optim, torch, Tensor, TorchError } from '../../lib';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-ckpt-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const bytes = (t: Tensor) => Buffer.from(t.toArray().buffer).toString('hex');

const X = torch.tensor(Array.from({ length: 8 * 6 }, (_, i) => Math.sin(i * 1.7)), { shape: [8, 6] });
const Y = torch.tensor(Array.from({ length: 8 * 2 }, (_, i) => Math.cos(i * 0.9)), { shape: [8, 2] });
afterAll(() => { X.dispose(); Y.dispose(); });

function build(hidden = 16) {
  const model = new nn.Sequential(new nn.Linear(6, hidden), new nn.Dropout(0.3), new nn.ReLU(), new nn.Linear(hidden, 2));
  const optimizer = new optim.AdamW(optim.weightDecayGroups(model.namedParameters(), 0.05), { lr: 1e-2, betas: [0.9, 0.95] });
  const schedule = new optim.WarmupCosine(optimizer, { warmupSteps: 3, totalSteps: 10, minLrRatio: 0.1 });
  return { model, optimizer, schedule };
}
type Run = ReturnType<typeof build>;

/** n training steps; returns each loss's raw bytes. */
function train(r: Run, n: number): string[] {
  const losses: string[] = [];
  for (let i = 0; i < n; i++) {
    torch.tidy(() => {
      const loss = r.model.forward(X).sub(Y).square().mean();
      losses.push(bytes(loss));
      loss.backward();
      r.optimizer.step();
      r.optimizer.zeroGrad();
      r.schedule.step();
    });
  }
  return losses;
}
const paramBytes = (r: Run) => r.model.parameters().map(bytes);
function free(r: Run) { r.optimizer.dispose(); r.model.dispose(); }

describe('bit-identical resume', () => {
  test('10 steps = 5 steps, save, fresh objects, load, 5 steps', () => {
    torch.manualSeed(1234);
    const a = build();
    const lossesA = train(a, 10);
    const paramsA = paramBytes(a);

    torch.manualSeed(1234);
    const b = build();
    const lossesB = train(b, 5);
    const dir = path.join(root, 'run1');
    io.saveCheckpoint(dir, { model: b.model, optimizer: b.optimizer, schedule: b.schedule, step: 5, extra: { epoch: 0, note: 'half' } });
    const lrAt5 = b.optimizer.paramGroups.map((g) => g.lr);
    free(b);

    torch.manualSeed(999); // a different generator state and different initial weights
    torch.randn([100]).dispose();
    const c = build();
    const got = io.loadCheckpoint(dir, { model: c.model, optimizer: c.optimizer, schedule: c.schedule });
    expect(got).toEqual({ step: 5, extra: { epoch: 0, note: 'half' } });
    expect(c.schedule.lastStep).toBe(5);
    expect(c.optimizer.paramGroups.map((g) => g.lr)).toEqual(lrAt5);
    lossesB.push(...train(c, 5));

    expect(lossesB).toEqual(lossesA);
    expect(paramBytes(c)).toEqual(paramsA);
    expect(new Set(lossesA).size).toBe(10); // the losses do change
    free(a); free(c);
  });

  test('without the RNG state the continuation differs (dropout draws from it)', () => {
    torch.manualSeed(7);
    const a = build();
    const lossesA = train(a, 4);
    torch.manualSeed(7);
    const b = build();
    train(b, 2);
    const dir = path.join(root, 'run2');
    io.saveCheckpoint(dir, { model: b.model, optimizer: b.optimizer, schedule: b.schedule, step: 2 });
    free(b);
    torch.manualSeed(8);
    const c = build();
    io.loadCheckpoint(dir, { model: c.model, optimizer: c.optimizer, schedule: c.schedule, restoreRng: false });
    const rest = train(c, 2);
    expect(rest).not.toEqual(lossesA.slice(2));
    free(a); free(c);
  });
});

describe('RNG state', () => {
  test('round trip: randn after setRngState repeats', () => {
    torch.manualSeed(42);
    torch.randn([3]).dispose();
    const s = torch.getRngState();
    expect(s.dtype).toBe('uint8');
    expect(s.shape.length).toBe(1);
    const first = torch.randn([1000]);
    const firstU = torch.rand([17]);
    torch.randn([5]).dispose();
    torch.setRngState(s);
    const again = torch.randn([1000]);
    const againU = torch.rand([17]);
    expect(bytes(again)).toBe(bytes(first));
    expect(bytes(againU)).toBe(bytes(firstU));
    // getRngState returns a copy: drawing does not change it.
    const s2 = torch.getRngState();
    expect(bytes(s2)).not.toBe(bytes(s));
    torch.dispose([s, s2, first, firstU, again, againU]);
  });

  test('an odd number of normal samples (the cached second sample) is restored too', () => {
    torch.manualSeed(3);
    torch.randn([1]).dispose();
    const s = torch.getRngState();
    const x = torch.randn([1]);
    torch.setRngState(s);
    const y = torch.randn([1]);
    expect(bytes(y)).toBe(bytes(x));
    torch.dispose([s, x, y]);
  });

  test('bad states are clear TorchErrors', () => {
    const f = torch.zeros([10]);
    expect(() => torch.setRngState(f)).toThrow(/uint8/);
    const short = torch.zeros([10], { dtype: 'uint8' });
    expect(() => torch.setRngState(short)).toThrow(TorchError);
    expect(() => torch.setRngState({} as Tensor)).toThrow(TorchError);
    torch.dispose([f, short]);
    torch.randn([2]).dispose(); // the generator still works
  });
});

describe('files', () => {
  let saved: Run;
  const dir = path.join(root, 'files');
  beforeAll(() => {
    torch.manualSeed(5);
    saved = build();
    train(saved, 2);
    io.saveCheckpoint(dir, { model: saved.model, optimizer: saved.optimizer, schedule: saved.schedule, step: 2 });
  });
  afterAll(() => free(saved));
  const copy = (name: string) => {
    const d = path.join(root, name);
    fs.rmSync(d, { recursive: true, force: true });
    fs.cpSync(dir, d, { recursive: true });
    return d;
  };
  const load = (d: string, r: Run = build()) => {
    try { return io.loadCheckpoint(d, { model: r.model, optimizer: r.optimizer, schedule: r.schedule }); } finally { free(r); }
  };

  test('layout', () => {
    expect(fs.readdirSync(dir).sort()).toEqual(['model.safetensors', 'optimizer.safetensors', 'rng.safetensors', 'trainer_state.json']);
    const st = JSON.parse(fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8'));
    expect(st.step).toBe(2);
    expect(st.optimizer.type).toBe('AdamW');
    expect(st.schedule).toEqual({ type: 'WarmupCosine', state: { lastStep: 2 } });
    expect(io.openSafetensors(path.join(dir, "optimizer.safetensors")).keys().length).toBe(8); // 4 params x (exp_avg, exp_avg_sq)
    expect(io.openSafetensors(path.join(dir, 'model.safetensors')).keys().sort()).toEqual(['0.bias', '0.weight', '3.bias', '3.weight']);
  });

  test('saving again replaces atomically; no temporary or .prev directory is left', () => {
    const d = copy('replace');
    io.saveCheckpoint(d, { model: saved.model, optimizer: saved.optimizer, schedule: saved.schedule, step: 3, extra: [1, 2] });
    expect(load(d)).toEqual({ step: 3, extra: [1, 2] });
    expect(fs.readdirSync(root).filter((n) => n.includes('replace'))).toEqual(['replace']);
  });

  test('a save interrupted between its renames leaves <dir>.prev, which is loaded and restored', () => {
    const d = path.join(root, 'interrupted');
    fs.rmSync(d, { recursive: true, force: true });
    fs.cpSync(dir, `${d}.prev`, { recursive: true });
    expect(load(d).step).toBe(2);
    io.saveCheckpoint(d, { model: saved.model, optimizer: saved.optimizer, schedule: saved.schedule, step: 9 });
    expect(fs.existsSync(`${d}.prev`)).toBe(false);
    expect(load(d).step).toBe(9);
  });

  test('a failed save leaves the previous checkpoint intact', () => {
    const d = copy('failed');
    expect(() => io.saveCheckpoint(d, { model: saved.model, optimizer: saved.optimizer, step: 4, extra: { big: 1n } })).toThrow(TorchError);
    expect(() => io.saveCheckpoint(d, { model: saved.model, optimizer: saved.optimizer, step: -1 })).toThrow(/non-negative integer/);
    expect(load(d).step).toBe(2);
    expect(fs.readdirSync(root).filter((n) => n.includes('failed'))).toEqual(['failed']);
  });

  test('refuses to replace a directory that is not a checkpoint', () => {
    const d = path.join(root, 'precious');
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'notes.txt'), 'keep me');
    expect(() => io.saveCheckpoint(d, { model: saved.model, optimizer: saved.optimizer, step: 1 })).toThrow(/refusing/);
    expect(fs.readFileSync(path.join(d, 'notes.txt'), 'utf8')).toBe('keep me');
  });

  test('missing directory or manifest', () => {
    expect(() => load(path.join(root, 'nope'))).toThrow(/no checkpoint at .*does not exist/);
    const d = copy('nomanifest');
    fs.rmSync(path.join(d, 'trainer_state.json'));
    expect(() => load(d)).toThrow(/no trainer_state.json/);
    const e = copy('nofile');
    fs.rmSync(path.join(e, 'rng.safetensors'));
    expect(() => load(e)).toThrow(/rng.safetensors is missing/);
  });

  test('truncated and corrupt files are TorchErrors and change nothing', () => {
    const r = build();
    const before = paramBytes(r);
    const t = copy('truncated');
    const mf = path.join(t, 'model.safetensors');
    fs.truncateSync(mf, fs.statSync(mf).size - 10);
    expect(() => io.loadCheckpoint(t, { model: r.model, optimizer: r.optimizer })).toThrow(/holds \d+ bytes, the manifest says \d+ \(truncated/);

    const c = copy('corrupt');
    const of = path.join(c, 'optimizer.safetensors');
    const buf = fs.readFileSync(of);
    buf[buf.length - 3] ^= 0x40;
    fs.writeFileSync(of, buf);
    expect(() => io.loadCheckpoint(c, { model: r.model, optimizer: r.optimizer })).toThrow(/SHA-256/);
    // Without the hash check the structural checks still run: a broken header is caught.
    const h = copy('badheader');
    const hf = path.join(h, 'model.safetensors');
    const hb = fs.readFileSync(hf);
    hb.write('!', 9);
    fs.writeFileSync(hf, hb);
    expect(() => io.loadCheckpoint(h, { model: r.model, optimizer: r.optimizer, verify: false })).toThrow(/not valid JSON/);

    const j = copy('badjson');
    const jf = path.join(j, 'trainer_state.json');
    fs.writeFileSync(jf, fs.readFileSync(jf, 'utf8').slice(0, 50));
    expect(() => io.loadCheckpoint(j, { model: r.model, optimizer: r.optimizer })).toThrow(/not valid JSON.*corrupt or truncated/);
    expect(paramBytes(r)).toEqual(before);
    free(r);
  });

  test('a model, optimiser or schedule that does not match', () => {
    expect(() => load(dir, build(8))).toThrow(/shape \[\d+(,\d+)?\] but parameter \d+ has/);
    const r = build();
    const wrongModel = new nn.Sequential(new nn.Linear(6, 16), new nn.ReLU(), new nn.Linear(16, 2), new nn.Linear(2, 2));
    const wrongOpt = new optim.AdamW(wrongModel.parameters());
    expect(() => io.loadCheckpoint(dir, { model: wrongModel, optimizer: wrongOpt })).toThrow(/parameter group|parameters in the checkpoint/);
    const sgd = new optim.SGD(r.model.parameters(), { lr: 0.1, momentum: 0.9 });
    expect(() => io.loadCheckpoint(dir, { model: r.model, optimizer: sgd })).toThrow(/holds AdamW state but the optimiser is SGD/);
    const mismatched = new nn.Sequential(new nn.Linear(6, 16), new nn.Dropout(0.3), new nn.ReLU(), new nn.Linear(16, 2, { bias: false }));
    const opt2 = new optim.AdamW(optim.weightDecayGroups(r.model.namedParameters(), 0.05));
    expect(() => io.loadCheckpoint(dir, { model: mismatched, optimizer: opt2 })).toThrow(/the model does not match the checkpoint: .*unexpected keys.*3\.bias/);
    expect(() => io.loadCheckpoint(dir, { model: r.model, optimizer: r.optimizer, schedule: new optim.ConstantLR(r.optimizer) })).toThrow(/WarmupCosine schedule but the schedule given is ConstantLR/);
    sgd.dispose(); wrongOpt.dispose(); opt2.dispose(); wrongModel.dispose(); mismatched.dispose();
    free(r);
  });
});
