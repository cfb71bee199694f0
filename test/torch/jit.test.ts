// torch.jit: TorchScript modules defined from source in C++ (no Python), saved, loaded back and
// run; outputs checked against the same math done with our tensor ops and against float64
// formulas; bad files, sources and inputs give readable TorchErrors.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { torch, Tensor, TorchError } from '../../lib/torch';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-jit-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const LINEAR = `
def forward(self, x):
    return torch.relu(torch.matmul(x, self.weight.t()) + self.bias) * self.scale
`;

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i])));
}

describe('define, save, load', () => {
  test('a module with parameters and a buffer round-trips through a file and matches our ops', () => {
    torch.manualSeed(3);
    const weight = torch.randn([4, 3]), bias = torch.randn([4]), scale = torch.tensor([2.5]);
    const m = torch.jit.define(LINEAR, { parameters: { weight, bias }, buffers: { scale } });
    const file = path.join(dir, 'linear.pt');
    m.save(file);
    // parameters were copied: changing ours afterwards does not change the module
    weight.mul_(0);
    const loaded = torch.jit.load(file);
    expect(loaded.device).toBe('cpu');
    torch.manualSeed(4);
    const x = torch.randn([5, 3]);
    const got = loaded.forwardTensor(x);
    expect(got.shape).toEqual([5, 4]);
    // the same math with our ops (module weights: the values before mul_)
    torch.manualSeed(3);
    const w0 = torch.randn([4, 3]), b0 = torch.randn([4]);
    const want = torch.matmul(x, w0.t()).add(b0).relu().mul(2.5);
    close(got.toArray() as Float32Array, want.toArray() as Float32Array, 1e-6);
    // and a float64 formula
    const [xs, ws, bs, g] = [x, w0, b0, got].map((t) => t.toArray() as Float32Array);
    for (let i = 0; i < 5; i++) {
      for (let o = 0; o < 4; o++) {
        let acc = bs[o];
        for (let k = 0; k < 3; k++) acc += xs[i * 3 + k] * ws[o * 3 + k];
        expect(g[i * 4 + o]).toBeCloseTo(Math.max(0, acc) * 2.5, 5);
      }
    }
    loaded.dispose();
    m.dispose();
  });

  test('define() gives a module in train mode (as nn.Module); load() puts it in eval mode', () => {
    const m = torch.jit.define(`
def forward(self, x):
    return torch.dropout(x, 0.5, self.training)
`);
    const x = torch.ones([1000]);
    const train = m.forwardTensor(x).toArray() as Float32Array;
    expect(train.some((v) => v === 0)).toBe(true);
    expect(train.every((v) => v === 0 || v === 2)).toBe(true);
    const file = path.join(dir, 'dropout.pt');
    m.save(file);
    const l = torch.jit.load(file);
    expect((l.forwardTensor(x).toArray() as Float32Array).every((v) => v === 1)).toBe(true);
    l.dispose();
    m.dispose();
  });

  test('several inputs; tuple, list and dict outputs come back as arrays and objects of tensors', () => {
    const m = torch.jit.define(`
def forward(self, a, b):
    s = a + b
    return (s, [a * b, a - b], {"sum": s.sum(), "max": torch.maximum(a, b)})
`);
    const file = path.join(dir, 'multi.pt');
    m.save(file);
    const l = torch.jit.load(file);
    const a = torch.tensor([1, 5, -2]), b = torch.tensor([3, 2, 4]);
    const out = l.forward(a, b) as [Tensor, Tensor[], Record<string, Tensor>];
    expect(Array.isArray(out)).toBe(true);
    expect(out[0].toNested()).toEqual([4, 7, 2]);
    expect(out[1].map((t) => t.toNested())).toEqual([[3, 10, -8], [-2, 3, -6]]);
    expect(Object.keys(out[2]).sort()).toEqual(['max', 'sum']);
    expect(out[2].sum.item()).toBe(13);
    expect(out[2].max.toNested()).toEqual([3, 5, 4]);
    torch.jit.disposeOutput(out);
    expect(() => out[0].shape).toThrow(TorchError);
    l.dispose();
    m.dispose();
  });

  test('outputs keep autograd when grad mode is on, and not under noGrad', () => {
    const w = torch.tensor([2, 3]);
    const m = torch.jit.define('def forward(self, x):\n    return (x * self.w).sum()\n', { parameters: { w } });
    const x = torch.tensor([1, 1]).requiresGrad_();
    const y = m.forwardTensor(x);
    y.backward();
    expect(x.grad!.toNested()).toEqual([2, 3]);
    const z = torch.noGrad(() => m.forwardTensor(x));
    expect(z.requiresGrad).toBe(false);
    m.dispose();
  });
});

describe('errors', () => {
  const good = path.join(dir, 'good.pt');
  beforeAll(() => {
    const m = torch.jit.define('def forward(self, x):\n    return torch.matmul(x, self.w)\n', { parameters: { w: torch.ones([2, 3]) } });
    m.save(good);
    m.dispose();
  });

  test('a missing file', () => {
    expect(() => torch.jit.load(path.join(dir, 'nope.pt'))).toThrow(/cannot open .*nope\.pt/);
  });

  test('a file that is not TorchScript: text, and a zip that is not a TorchScript archive', () => {
    const txt = path.join(dir, 'notes.txt');
    fs.writeFileSync(txt, 'hello');
    expect(() => torch.jit.load(txt)).toThrow(/is not a TorchScript file/);
    // the first bytes of a real archive, cut short
    const cut = path.join(dir, 'cut.pt');
    fs.writeFileSync(cut, fs.readFileSync(good).subarray(0, 200));
    expect(() => torch.jit.load(cut)).toThrow(/is not a TorchScript file/);
    try {
      torch.jit.load(txt);
    } catch (e) {
      expect(e).toBeInstanceOf(TorchError);
      expect((e as TorchError).op).toBe('jit.load');
    }
  });

  test('a device that is not there, or not a device', () => {
    if (!torch.cuda.isAvailable()) expect(() => torch.jit.load(good, { device: 'cuda' })).toThrow(/device 'cuda' is not available: no CUDA GPU can be used here/);
    expect(() => torch.jit.load(good, { device: 'tpu' as 'cpu' })).toThrow(/unknown device 'tpu'/);
  });

  test('wrong inputs: too many, too few, a runtime shape error (the cause, not the traceback)', () => {
    const m = torch.jit.load(good);
    expect(() => m.forward(torch.ones([1, 2]), torch.ones([1, 2]))).toThrow(/received 3 argument/);
    expect(() => m.forward()).toThrow(/missing value for argument 'x'/);
    let msg = '';
    try {
      m.forward(torch.ones([4, 5]));
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/shapes cannot be multiplied \(4x5 and 2x3\)/);
    expect(msg).not.toMatch(/TorchScript interpreter/);
    expect(() => m.forward(42 as unknown as Tensor)).toThrow(/argument 0 is not a Tensor/);
    const t = torch.ones([1, 2]);
    t.dispose();
    expect(() => m.forward(t)).toThrow(/disposed/);
    // the module still works after every failure
    expect(m.forwardTensor(torch.ones([1, 2])).toNested()).toEqual([[2, 2, 2]]);
    m.dispose();
    expect(() => m.forward(torch.ones([1, 2]))).toThrow(/ScriptModule was disposed/);
    m.dispose(); // twice is fine
  });

  test('bad sources, and outputs that are not tensors', () => {
    expect(() => torch.jit.define('def forward(self, x):\n    return x +\n')).toThrow(/cannot compile the TorchScript source: .*\(line \d+\)/);
    expect(() => torch.jit.define('def forward(self, x):\n    return x + self.missing\n')).toThrow(/no attribute or method 'missing'/);
    expect(() => torch.jit.define('def helper(self, x):\n    return x\n')).toThrow(/no forward method/);
    const m = torch.jit.define('def forward(self, x):\n    return (x, x.size(0))\n');
    expect(() => m.forward(torch.ones([3]))).toThrow(/forward returned Int at the output\[1\]/);
    expect(() => m.forwardTensor(torch.ones([3]))).toThrow(/forward returned Int/);
    m.dispose();
    const d = torch.jit.define('def forward(self, x):\n    return {"a": x}\n');
    expect(() => d.forwardTensor(torch.ones([3]))).toThrow(/returned a dict, not a tensor/);
    d.dispose();
  });
});
