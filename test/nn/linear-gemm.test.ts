// unimrg::linear (F.linear, nn.Linear): float32 CPU GEMMs through oneDNN's sgemm where libtorch
// loaded libdnnl, everything else aten::linear. Checked against aten::linear in float64 on the
// same values: forward, the three gradients, accumulation, double backward, other dtypes, the
// switch that turns oneDNN off.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { torch, Tensor } from '../../lib';
import { randT } from '../helpers/gradcheck';
import { expectClose } from '../helpers/reference';

const F = torch.nn.functional;
const aten = torch.ops.aten as unknown as Record<string, (...a: unknown[]) => Tensor>;
const values = (t: Tensor) => Array.from(t.double().contiguous().toArray() as Float64Array);
const root = path.resolve(__dirname, '../..');
/** Deterministic uniform values in [-1, 1), float64, not requiring grad. */
const rand = (shape: number[], seed: number) => randT(shape, seed, { requiresGrad: false });

interface Case { name: string; x: () => Tensor; w: () => Tensor; bias: boolean }

// Inputs built as float64 leaves; the float32 run gets copies so both see the same numbers.
const cases: Case[] = [
  { name: '3-D input with bias', x: () => rand([2, 5, 33], 1), w: () => rand([17, 33], 2), bias: true },
  { name: '2-D input, no bias', x: () => rand([64, 48], 3), w: () => rand([40, 48], 4), bias: false },
  { name: 'transposed (non-contiguous) input', x: () => rand([24, 9], 5).t(), w: () => rand([12, 24], 6), bias: true },
  { name: 'transposed (non-contiguous) weight', x: () => rand([6, 20], 7), w: () => rand([20, 11], 8).t(), bias: true },
  { name: '1-D input', x: () => rand([30], 9), w: () => rand([7, 30], 10), bias: true },
];

function run(c: Case, dtype: 'float32' | 'float64', viaAten: boolean) {
  return torch.tidy(() => {
    const leaf = (t: Tensor) => t.to(dtype).detach().requiresGrad_(true);
    const x = leaf(c.x()), w = leaf(c.w());
    const b = c.bias ? leaf(rand([w.shape[0]], 11)) : null;
    const y = viaAten ? aten.linear(x, w, b) : F.linear(x, w, b);
    y.backward(rand(y.shape, 12).to(dtype));
    return { y: values(y), gx: values(x.grad!), gw: values(w.grad!), gb: b ? values(b.grad!) : [] };
  });
}

describe('unimrg::linear (F.linear)', () => {
  it('reports where float32 CPU GEMMs run: oneDNN when libtorch loaded libdnnl', () => {
    const dnnlLoaded = fs.readFileSync('/proc/self/maps', 'utf8').includes('libdnnl.so');
    expect(torch.backend().cpuGemm).toBe(dnnlLoaded && process.env.UNIMRG_ONEDNN_GEMM !== '0' ? 'onednn' : 'aten');
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: forward and gradients match float64 aten::linear', (_, c) => {
    const got = run(c, 'float32', false), ref = run(c, 'float64', true);
    for (const k of ['y', 'gx', 'gw', 'gb'] as const) expectClose(got[k], ref[k], 2e-5, 2e-5);
  });

  it('gradients accumulate over two backward passes', () => {
    torch.tidy(() => {
      const x = rand([16, 32], 13).float(), w = rand([8, 32], 14).float().requiresGrad_(true);
      const g = rand([16, 8], 15).float();
      F.linear(x, w).backward(g);
      const once = values(w.grad!);
      F.linear(x, w).backward(g);
      expectClose(values(w.grad!), once.map((v) => 2 * v), 1e-6, 1e-6);
    });
  });

  it('double backward (createGraph) matches float64', () => {
    const secondOrder = (dtype: 'float32' | 'float64', viaAten: boolean) => torch.tidy(() => {
      const x = rand([10, 12], 16).to(dtype).requiresGrad_(true), w = rand([6, 12], 17).to(dtype).requiresGrad_(true);
      const y = viaAten ? aten.linear(x, w, null) : F.linear(x, w);
      const [gx] = torch.autograd.grad([y.square().sum()], [x], null, { createGraph: true });
      gx!.square().sum().backward();
      return values(w.grad!);
    });
    expectClose(secondOrder('float32', false), secondOrder('float64', true), 1e-4, 1e-5);
  });

  it('other dtypes and empty batches are aten::linear exactly', () => {
    torch.tidy(() => {
      for (const dtype of ['float64', 'bfloat16'] as const) {
        const x = rand([4, 8], 18).to(dtype), w = rand([3, 8], 19).to(dtype), b = rand([3], 20).to(dtype);
        expect(values(F.linear(x, w, b))).toEqual(values(aten.linear(x, w, b)));
      }
      const empty = F.linear(torch.zeros([0, 8]), rand([3, 8], 21).float());
      expect(empty.shape).toEqual([0, 3]);
    });
  });

  it('mismatched shapes are TorchErrors (the bad call goes on to aten::linear, which names them)', () => {
    torch.tidy(() => {
      expect(() => F.linear(rand([4, 8], 22).float(), rand([3, 7], 23).float())).toThrow(/mat1 and mat2 shapes cannot be multiplied \(4x8 and 7x3\) \(op: unimrg::linear\)/);
      expect(() => F.linear(rand([4, 8], 24).float(), rand([3, 8], 25).float(), rand([5], 26).float())).toThrow(/size of the tensor \(3\) must match the existing size \(5\)/);
    });
  });

  it('UNIMRG_ONEDNN_GEMM=0 sends float32 GEMMs to aten (bit-identical results)', () => {
    const code = `const { torch } = require('./lib'); const a = torch.randn([33, 20]), w = torch.randn([9, 20]);
      const same = torch.nn.functional.linear(a, w).sub(torch.ops.aten.linear(a, w, null)).abs().max().item() === 0;
      console.log(JSON.stringify({ gemm: torch.backend().cpuGemm, same }));`;
    const out = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', code], {
      cwd: root, encoding: 'utf8', timeout: 60000, env: { ...process.env, UNIMRG_ONEDNN_GEMM: '0' },
    });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ gemm: 'aten', same: true });
  });
});
