// `.pt` state dicts written by Python's torch.save, read with io.loadPt (libtorch's unpickler):
// every tensor bit-exact against raw bytes the same Python script writes (so the reference never
// goes through our loader), a Linear's state dict loaded into nn.Linear gives PyTorch's output,
// nested dicts give dotted names, non-tensor leaves are reported, and bad files give clear
// TorchErrors. Skipped, with the reason in its name, where no python3 imports torch.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { io, nn, torch, Tensor, TorchError } from '../../lib';
import { torchPython } from '../../bench/lib/python';

const PY = torchPython();
const d = PY ? describe : describe.skip;
const title = PY ? 'io.loadPt (files from PyTorch for Python)' : 'io.loadPt — SKIPPED: no python3 that can import torch (set UNIMRG_PYTHON)';

const SCRIPT = String.raw`
import collections, json, os, sys, torch
out = sys.argv[1]
torch.manual_seed(0)
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(5, 3)
        self.norm = torch.nn.LayerNorm(3)
        self.register_buffer('steps', torch.tensor([3, -7, 2**40], dtype=torch.int64))
net = Net()
with torch.no_grad():
    net.norm.weight.uniform_(0.5, 1.5); net.norm.bias.uniform_(-0.5, 0.5)
sd = net.state_dict()
assert isinstance(sd, collections.OrderedDict)
sd['f64'] = torch.randn(2, 3, dtype=torch.float64)
sd['bf16'] = torch.randn(4, 2).to(torch.bfloat16)
sd['tview'] = sd['lin.weight'].t()  # a strided view sharing lin.weight's storage
sd['nested'] = {'enc': {'w': torch.arange(6, dtype=torch.float32).reshape(2, 3), 'layers': 4}, 'b': torch.tensor([True, False])}
sd['epoch'] = 7
sd['tag'] = 'hello'
torch.save(sd, os.path.join(out, 'sd.pt'))
torch.save(net.lin.state_dict(), os.path.join(out, 'linear.pth'))
manifest = {}
def ref(name, t):
    t = t.detach().contiguous()
    raw = t.view(torch.int16) if t.dtype == torch.bfloat16 else t
    with open(os.path.join(out, name + '.bin'), 'wb') as f: f.write(raw.numpy().tobytes())
    manifest[name] = {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape)}
for k, v in sd.items():
    if torch.is_tensor(v): ref(k, v)
ref('nested.enc.w', sd['nested']['enc']['w']); ref('nested.b', sd['nested']['b'])
x = torch.randn(4, 5)
with torch.no_grad():
    ref('x', x); ref('y', net.lin(x)); ref('z', net.norm(net.lin(x)))
json.dump(manifest, open(os.path.join(out, 'manifest.json'), 'w'))
torch.save([torch.ones(2)], os.path.join(out, 'list.pt'))
torch.save(net, os.path.join(out, 'module.pt'))  # a whole nn.Module, not a state dict
torch.save({'x': torch.ones(2)}, os.path.join(out, 'legacy.pt'), _use_new_zipfile_serialization=False)
`;

d(title, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-pt-'));
  const file = (n: string) => path.join(dir, n);
  let manifest: Record<string, { dtype: string; shape: number[] }> = {};
  beforeAll(() => {
    execFileSync(PY as string, ['-c', SCRIPT, dir], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120000 });
    manifest = JSON.parse(fs.readFileSync(file('manifest.json'), 'utf8'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const refBytes = (name: string) => fs.readFileSync(file(`${name}.bin`));
  const bytes = (t: Tensor) => Buffer.from(t.contiguous().toArray().buffer);
  const floats = (name: string) => { const b = refBytes(name); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); };

  test('every tensor of a torch.save(state_dict) file is bit-exact, with dotted names for nested dicts', () => {
    let skipped: string[] = [];
    const sd = io.loadPt(file('sd.pt'), { onSkipped: (s) => { skipped = s; } });
    try {
      const expected = Object.keys(manifest).filter((k) => !['x', 'y', 'z'].includes(k));
      expect(Object.keys(sd).sort()).toEqual(expected.sort());
      expect(expected).toEqual(expect.arrayContaining(['lin.weight', 'lin.bias', 'norm.weight', 'norm.bias', 'steps', 'f64', 'bf16', 'tview', 'nested.enc.w', 'nested.b']));
      for (const name of expected) {
        const t = sd[name];
        expect([name, t.dtype, t.shape]).toEqual([name, manifest[name].dtype, manifest[name].shape]);
        expect(bytes(t).equals(refBytes(name))).toBe(true);
      }
      expect(sd.steps.dtype).toBe('int64');
      expect(sd.bf16.dtype).toBe('bfloat16');
      expect(sd.tview.shape).toEqual([5, 3]);
      expect(skipped.sort()).toEqual(['epoch', 'nested.enc.layers', 'tag']);
    } finally {
      for (const t of Object.values(sd)) t.dispose();
    }
  });

  test("a Linear's state dict loads into nn.Linear and gives PyTorch's output", () => {
    const sd = io.loadPt(file('linear.pth'));
    const lin = new nn.Linear(5, 3);
    const norm = new nn.LayerNorm(3);
    const full = io.loadPt(file('sd.pt'));
    try {
      expect(Object.keys(sd).sort()).toEqual(['bias', 'weight']);
      lin.loadStateDict(sd);
      norm.loadStateDict({ weight: full['norm.weight'], bias: full['norm.bias'] });
      const x = torch.tensor(floats('x'), { shape: [4, 5] });
      const y = lin.forward(x);
      const z = norm.forward(y);
      const [yr, zr] = [floats('y'), floats('z')];
      const [ya, za] = [y.toArray() as Float32Array, z.toArray() as Float32Array];
      for (let i = 0; i < yr.length; i++) expect(Math.abs(ya[i] - yr[i])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(yr[i])));
      for (let i = 0; i < zr.length; i++) expect(Math.abs(za[i] - zr[i])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(zr[i])));
      for (const t of [x, y, z]) t.dispose();
    } finally {
      for (const t of [...Object.values(sd), ...Object.values(full)]) t.dispose();
      lin.dispose(); norm.dispose();
    }
  });

  const rejects = (f: string, re: RegExp) => {
    let err: unknown;
    try { io.loadPt(f); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(TorchError);
    expect((err as Error).message).toMatch(re);
  };
  test('a missing file', () => rejects(file('nope.pt'), /cannot open .*nope\.pt/));
  test('a text file', () => {
    fs.writeFileSync(file('text.pt'), 'this is not a checkpoint\n');
    rejects(file('text.pt'), /not a zip archive/);
  });
  test('an empty file', () => {
    fs.writeFileSync(file('empty.pt'), '');
    rejects(file('empty.pt'), /0 bytes/);
  });
  test('a truncated zip', () => {
    const b = fs.readFileSync(file('sd.pt'));
    fs.writeFileSync(file('trunc.pt'), b.subarray(0, Math.floor(b.length / 2)));
    rejects(file('trunc.pt'), /cannot read the archive|cannot unpickle/);
  });
  test('a pickled list at the top level', () => rejects(file('list.pt'), /the saved object is a list, not a dict/));
  test('a whole pickled nn.Module', () => rejects(file('module.pt'), /the saved object is an object built by .*, not a dict/));
  test('the legacy (pre-1.6) format', () => rejects(file('legacy.pt'), /legacy \(pre-1\.6\)/));
});
