// unimrg::matmul (Tensor.matmul, torch.matmul): stacks of float32 CPU matrices with the same batch
// shape run through oneDNN's sgemm, everything else is aten::matmul. Checked against
// aten::matmul in float64 on the same values: forward, both gradients, transposed and
// non-mergeable batch layouts, broadcasting, double backward, autocast, other dtypes.
import { torch, Tensor } from '../../lib';
import { randT } from '../helpers/gradcheck';
import { expectClose } from '../helpers/reference';

const aten = torch.ops.aten as unknown as Record<string, (...a: unknown[]) => Tensor>;
const values = (t: Tensor) => Array.from(t.double().contiguous().toArray() as Float64Array);
const rand = (shape: number[], seed: number) => randT(shape, seed, { requiresGrad: false });

interface Case { name: string; a: () => Tensor; b: () => Tensor }

const cases: Case[] = [
  { name: 'stacks [4, 5, 6] · [4, 6, 7]', a: () => rand([4, 5, 6], 1), b: () => rand([4, 6, 7], 2) },
  { name: "attention's scores: [2, 3, 8, 16] · kᵀ (a transposed view)", a: () => rand([2, 3, 8, 16], 3), b: () => rand([2, 3, 10, 16], 4).transpose(-2, -1) },
  { name: 'batch dimensions that do not merge (a permuted view)', a: () => rand([3, 2, 8, 16], 5).transpose(0, 1), b: () => rand([2, 3, 16, 4], 6) },
  { name: 'many matrices (one per thread)', a: () => rand([64, 9, 12], 7), b: () => rand([64, 12, 5], 8) },
  { name: 'a stack of one matrix (all threads on it)', a: () => rand([1, 7, 9], 20), b: () => rand([1, 9, 4], 21) },
  { name: 'broadcast batch (aten::matmul)', a: () => rand([1, 5, 6], 9), b: () => rand([4, 6, 7], 10) },
  { name: 'matrix · vector (aten::matmul)', a: () => rand([5, 6], 11), b: () => rand([6], 12) },
];

function run(c: Case, dtype: 'float32' | 'float64', viaAten: boolean) {
  return torch.tidy(() => {
    const leaf = (t: Tensor) => t.to(dtype).detach().requiresGrad_(true);
    const a = leaf(c.a()), b = leaf(c.b());
    const y = viaAten ? aten.matmul(a, b) : a.matmul(b);
    y.backward(rand(y.shape, 13).to(dtype));
    return { y: values(y), shape: y.shape, ga: values(a.grad!), gb: values(b.grad!) };
  });
}

describe('unimrg::matmul (Tensor.matmul)', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s: forward and gradients match float64 aten::matmul', (_, c) => {
    const got = run(c, 'float32', false), ref = run(c, 'float64', true);
    expect(got.shape).toEqual(ref.shape);
    for (const k of ['y', 'ga', 'gb'] as const) expectClose(got[k], ref[k], 2e-5, 2e-5);
  });

  it('mismatched shapes are TorchErrors (the bad call goes on to aten::matmul, which names them)', () => {
    torch.tidy(() => {
      expect(() => rand([2, 4, 8], 22).float().matmul(rand([2, 7, 3], 23).float())).toThrow(/batch2 tensor to be: \[2, 8\] but got: \[2, 7\]/);
      expect(() => rand([2, 4, 8], 24).float().matmul(rand([3, 8, 3], 25).float())).toThrow(/size of tensor a \(2\) must match the size of tensor b \(3\) at non-singleton dimension 0 \(op: unimrg::matmul\)/);
    });
  });

  it('double backward (createGraph) matches float64', () => {
    const secondOrder = (dtype: 'float32' | 'float64', viaAten: boolean) => torch.tidy(() => {
      const a = rand([3, 4, 5], 14).to(dtype).requiresGrad_(true), b = rand([3, 5, 6], 15).to(dtype).requiresGrad_(true);
      const y = viaAten ? aten.matmul(a, b) : a.matmul(b);
      const [ga] = torch.autograd.grad([y.square().sum()], [a], null, { createGraph: true });
      ga!.square().sum().backward();
      return values(b.grad!);
    });
    expectClose(secondOrder('float32', false), secondOrder('float64', true), 1e-4, 1e-5);
  });

  it('autocast gives bfloat16 stacks; float64 is aten::matmul exactly', () => {
    torch.tidy(() => {
      const a = rand([2, 4, 8], 16).float(), b = rand([2, 8, 3], 17).float();
      expect(torch.autocast('cpu', () => a.matmul(b)).dtype).toBe('bfloat16');
      const ad = rand([2, 4, 8], 18), bd = rand([2, 8, 3], 19);
      expect(values(ad.matmul(bd))).toEqual(values(aten.matmul(ad, bd)));
    });
  });
});
