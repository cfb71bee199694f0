// CUDA: runs only where torch.cuda.isAvailable(); otherwise the block is skipped and its name
// says why. CPU results (checked elsewhere against references) are the reference here.
import { torch, Tensor } from '../../lib';
import { uniformArray } from '../helpers/gradcheck';
import { expectClose, matmul } from '../helpers/reference';

const available = torch.cuda.isAvailable();
const b = torch.backend();
const why = b.runtime.cuda ? 'the CUDA libtorch sees no device' : `libtorch ${b.torch} is a CPU-only build`;
const describeCuda = available ? describe : describe.skip;
if (!available) console.warn(`test/cuda: skipping the CUDA tests: ${why}`);

const f32 = (t: Tensor) => Array.from(t.cpu().toArray() as Float32Array);
const f64 = (t: Tensor) => Array.from(t.cpu().toArray() as Float64Array);

describeCuda(available ? `CUDA (${torch.cuda.deviceCount()} device(s))` : `CUDA (skipped: no CUDA device: ${why})`, () => {
  it('creates tensors on cuda with factories and torch.tensor', () => torch.tidy(() => {
    const z = torch.zeros([2, 3], { device: 'cuda' });
    expect(z.device).toBe('cuda:0');
    expect(f32(z)).toEqual([0, 0, 0, 0, 0, 0]);
    const t = torch.tensor([[1, 2], [3, 4]], { device: 'cuda:0' });
    expect(t.device).toBe('cuda:0');
    expect(t.toNested()).toEqual([[1, 2], [3, 4]]);
    expect(torch.arange(4, undefined, 1, { device: 'cuda' }).device).toBe('cuda:0');
    expect(torch.randn([3], { device: 'cuda' }).device).toBe('cuda:0');
    expect(torch.cuda.deviceCount()).toBeGreaterThan(0);
  }));

  it('matmul on cuda matches the float64 reference and the CPU result', () => torch.tidy(() => {
    const a = uniformArray(64 * 48, 1);
    const w = uniformArray(48 * 32, 2);
    const exp = matmul(a, w, 64, 48, 32);
    const A = torch.tensor(a, { shape: [64, 48], dtype: 'float64' });
    const W = torch.tensor(w, { shape: [48, 32], dtype: 'float64' });
    const gpu = A.cuda().matmul(W.cuda());
    expect(gpu.device).toBe('cuda:0');
    expectClose(f64(gpu), exp, 1e-12, 1e-10);
    expectClose(f64(gpu), f64(A.matmul(W)), 1e-12, 1e-10);
    // float32 (TF32 may be on for matmul: allow its rounding)
    const g32 = A.float().cuda().matmul(W.float().cuda());
    expectClose(f32(g32), exp, 2e-2, 2e-2);
  }));

  it("to('cpu') round trip keeps the bits, for every dtype", () => torch.tidy(() => {
    const bits = Uint16Array.from({ length: 4096 }, (_, i) => (i * 16 + 3) & 0xffff);
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const back = torch.tensor(bits, { dtype }).to('cuda').to('cpu');
      expect(back.device).toBe('cpu');
      expect(Array.from(back.toArray() as Uint16Array)).toEqual(Array.from(bits));
    }
    const i64 = BigInt64Array.from([2n ** 62n + 1n, -(2n ** 63n), 7n]);
    expect(Array.from(torch.tensor(i64).cuda().cpu().toArray() as BigInt64Array)).toEqual(Array.from(i64));
    const f = Float64Array.from(uniformArray(100, 3));
    expect(Array.from(torch.tensor(f).cuda().cpu().toArray() as Float64Array)).toEqual(Array.from(f));
    const bools = torch.tensor([true, false, true]).cuda();
    expect(bools.toNested()).toEqual([true, false, true]);
  }));

  it('bfloat16 on cuda: conversion and arithmetic agree with the CPU', () => torch.tidy(() => {
    const x = torch.tensor(Float32Array.from(uniformArray(1000, 4, -100, 100)));
    const cpu = x.bfloat16();
    const gpu = x.cuda().bfloat16();
    expect(gpu.dtype).toBe('bfloat16');
    expect(Array.from(gpu.cpu().toArray() as Uint16Array)).toEqual(Array.from(cpu.toArray() as Uint16Array));
    const sumCpu = cpu.add(cpu).mul(cpu);
    const sumGpu = gpu.add(gpu).mul(gpu);
    expect(Array.from(sumGpu.cpu().toArray() as Uint16Array)).toEqual(Array.from(sumCpu.toArray() as Uint16Array));
    const m = gpu.reshape(25, 40).matmul(gpu.reshape(40, 25));
    expect(m.dtype).toBe('bfloat16');
    expectClose(f32(m.float()), f32(cpu.float().reshape(25, 40).matmul(cpu.float().reshape(40, 25))), 50, 2e-2);
  }));

  it('autograd on cuda matches the CPU gradient', () => torch.tidy(() => {
    const data = uniformArray(12, 5);
    const grads = (device: 'cpu' | 'cuda') => {
      const x = torch.tensor(data, { shape: [3, 4], dtype: 'float64', device, requiresGrad: true });
      expect(x.isLeaf).toBe(true);
      const y = x.tanh().mul(x).softmax(-1).logsumexp(-1).sum();
      y.backward();
      expect(x.grad!.device).toBe(device === 'cuda' ? 'cuda:0' : 'cpu');
      return f64(x.grad!);
    };
    expectClose(grads('cuda'), grads('cpu'), 1e-12, 1e-10);
  }));

  it('torch.cuda.synchronize() returns after queued work and results are readable', () => torch.tidy(() => {
    const x = torch.ones([512, 512], { device: 'cuda' });
    let y = x;
    for (let i = 0; i < 5; i++) y = y.matmul(x).div(512);
    torch.cuda.synchronize();
    expect(f32(y.sum()).map(Math.round)).toEqual([512 * 512]);
  }));

  it('mixing devices throws a TorchError', () => torch.tidy(() => {
    expect(() => torch.ones([2], { device: 'cuda' }).add(torch.ones([2]))).toThrow(torch.TorchError);
  }));
});

describe('CUDA availability', () => {
  it('isAvailable, deviceCount and the backend agree', () => {
    expect(typeof available).toBe('boolean');
    expect(torch.cuda.deviceCount() > 0).toBe(available);
    if (!b.runtime.cuda) expect(available).toBe(false);
    expect(() => torch.cuda.synchronize()).not.toThrow(); // a no-op without CUDA
  });
});
