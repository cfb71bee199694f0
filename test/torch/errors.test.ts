// libtorch failures reach JS as TorchError with a readable one-line message and the op name;
// nothing aborts the process and the next op works.
import { torch, Tensor, TorchError } from '../../lib';
import type { Device } from '../../lib';
import { native } from '../../lib/native/binding';

function caught(fn: () => unknown): TorchError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TorchError);
    expect(e).toBeInstanceOf(Error);
    return e as TorchError;
  }
  throw new Error('expected a TorchError, nothing was thrown');
}

describe('TorchError from libtorch', () => {
  it('a shape mismatch (add of [2,3] and [4]): one readable line, .op set, and the next op works', () => torch.tidy(() => {
    const a = torch.ones([2, 3]);
    const b = torch.ones([4]);
    const e = caught(() => a.add(b));
    expect(e.name).toBe('TorchError');
    expect(e.message).not.toMatch(/\n/);
    expect(e.message).toMatch(/size of tensor a \(3\) must match the size of tensor b \(4\)/);
    expect(e.message).not.toMatch(/Exception raised from|frame #|\.cpp:/); // no C++ backtrace
    expect(e.op).toMatch(/add/);
    expect(e.message).toContain(`(op: ${e.op})`);
    // the next op works, and so does the same op on good shapes
    expect(a.add(a).toNested()).toEqual([[2, 2, 2], [2, 2, 2]]);
    expect(b.mul(3).toNested()).toEqual([3, 3, 3, 3]);
  }));

  it('every failing elementwise path reports a TorchError (tensor, scalar, alpha, in-place)', () => torch.tidy(() => {
    const a = torch.ones([2, 3]);
    const b = torch.ones([4]);
    for (const f of [() => a.sub(b), () => a.mul(b), () => a.div(b), () => a.add(b, 2), () => a.add_(b), () => a.maximum(b), () => a.pow(b)]) {
      const e = caught(f);
      expect(e.message).toMatch(/must match/);
      expect(e.op).not.toBe('');
    }
    expect(a.toNested()).toEqual([[1, 1, 1], [1, 1, 1]]); // the failed in-place add left it alone
  }));

  it('matmul of incompatible shapes', () => torch.tidy(() => {
    const e = caught(() => torch.ones([2, 3]).matmul(torch.ones([4, 5])));
    expect(e.message).toMatch(/2x3.*4x5|shapes cannot be multiplied/);
    expect(e.message).not.toMatch(/\n/);
    expect(e.op).toMatch(/matmul|mm/);
    expect(caught(() => torch.ones([2, 2, 3]).bmm(torch.ones([2, 4, 2]))).op).toMatch(/bmm/);
    expect(torch.ones([2, 3]).matmul(torch.ones([3, 1])).toNested()).toEqual([[3], [3]]);
  }));

  it('out-of-range dims and indices', () => torch.tidy(() => {
    const x = torch.ones([2, 3]);
    expect(caught(() => x.select(0, 5)).message).toMatch(/out of range/);
    expect(caught(() => x.sum(4)).message).toMatch(/Dimension out of range/);
    caught(() => x.indexSelect(0, torch.tensor([7n])));
    caught(() => x.gather(1, torch.tensor([[0n, 9n, 0n], [0n, 0n, 0n]])));
    caught(() => torch.embedding(torch.tensor([5n]), x));
    caught(() => x.reshape(4, 2));
    caught(() => x.view(-1, 4));
    expect(() => x.size(2)).toThrow(TorchError);
    caught(() => torch.ones([1, 1, 2, 2]).narrow(3, 1, 5));
  }));

  it('item() on many elements, requiresGrad on integers, dropout p outside [0, 1]', () => torch.tidy(() => {
    expect(caught(() => torch.ones([3]).item()).message).toMatch(/exactly one element/);
    caught(() => { torch.arange(3).requiresGrad = true; });
    caught(() => torch.dropout(torch.ones([2]), 1.5));
    caught(() => torch.interpolate(torch.ones([2, 2]), { size: 3 }));
    caught(() => torch.interpolate(torch.ones([1, 1, 2, 2]), { size: 3, scaleFactor: 2 }));
    caught(() => torch.pad(torch.ones([2, 2]), [1]));
  }));

  it('failed ops leave no tensors behind', () => {
    const a = torch.ones([2, 3]);
    const b = torch.ones([4]);
    const before = torch.memory().tensors;
    for (let i = 0; i < 200; i++) {
      try { a.add(b); } catch { /* expected */ }
      try { a.matmul(b); } catch { /* expected */ }
    }
    expect(torch.memory().tensors).toBe(before);
    torch.dispose([a, b]);
  });
});

describe('torch.ops errors name the op', () => {
  it('wrong arity', () => torch.tidy(() => {
    const a = torch.ones([2]);
    const few = caught(() => torch.ops.aten.add.Tensor(a));
    expect(few.op).toBe('aten::add');
    expect(few.message).toMatch(/aten::add/);
    expect(few.message).toMatch(/no overload accepts the arguments \(Tensor\)/);
    const many = caught(() => torch.ops.aten.neg(a, a, a, a));
    expect(many.message).toMatch(/aten::neg/);
    // the resolved op still works afterwards
    expect((torch.ops.aten.add.Tensor(a, a, { alpha: 3 }) as Tensor).toNested()).toEqual([4, 4]);
  }));

  it('wrong argument types', () => torch.tidy(() => {
    const a = torch.ones([2, 2]);
    const e = caught(() => torch.ops.aten.mm(a, 'not a tensor'));
    expect(e.message).toMatch(/aten::mm/);
    expect(e.message).toMatch(/\(Tensor, string\)/);
    expect(caught(() => torch.ops.aten.cumsum(a, 'x')).message).toMatch(/aten::cumsum/);
    expect(caught(() => torch.ops.aten.sum.dim_IntList(a, [0.5])).message).toMatch(/aten::sum/);
    expect(caught(() => torch.ops.aten.cumsum(a, 0, { notAnArg: 1 })).message).toMatch(/aten::cumsum/);
  }));

  it('an unknown op and an unknown overload', () => {
    const e = caught(() => torch.ops.aten.definitely_not_an_op(torch.ones([1])));
    expect(e.message).toMatch(/no operator aten::definitely_not_an_op/);
    expect(e.op).toMatch(/definitely_not_an_op/);
    const o = caught(() => torch.ops.aten.add.no_such_overload);
    expect(o.message).toMatch(/aten::add\.no_such_overload/);
    expect(caught(() => torch.ops.nonexistent_ns.foo()).message).toMatch(/nonexistent_ns::foo/);
  });

  it('the raw dispatcher checks arity and argument types itself', () => torch.tidy(() => {
    const id = native.findOp('aten::neg', '');
    const x = torch.ones([2]);
    expect(caught(() => native.call(id, x._h, x._h)).message).toMatch(/aten::neg takes at most 1 arguments, got 2/);
    const add = native.findOp('aten::add', 'Tensor');
    const e = caught(() => native.call(add, x._h, 'two'));
    expect(e.message).toMatch(/argument 'other'.*expected a Tensor/);
    expect(e.op).toMatch(/aten::add/);
    expect(caught(() => native.call(add, x._h)).message).toMatch(/'other'.*is required/);
    expect(caught(() => native.call(native.findOp('aten::sum', 'dim_IntList'), x._h, [1.5])).message).toMatch(/expected an integer/);
    expect(() => native.call(-1)).toThrow(/valid op id/);
  }));
});

describe('autograd, device and numeric edge cases', () => {
  it('backward on a non-scalar without a gradient', () => torch.tidy(() => {
    const x = torch.ones([3], { requiresGrad: true });
    const e = caught(() => x.mul(2).backward());
    expect(e.message).toMatch(/scalar/);
    expect(e.op).toBe('backward');
    expect(caught(() => torch.ones([2]).sum().backward()).message).toMatch(/does not require grad/);
    x.mul(2).sum().backward(); // the next backward works
    expect(x.grad!.toNested()).toEqual([2, 2, 2]);
  }));

  it('an invalid device string', () => torch.tidy(() => {
    const e = caught(() => torch.zeros(2, { device: 'tpu' as Device }));
    expect(e.message).toMatch(/device/i);
    expect(e.message).toMatch(/tpu/);
    caught(() => torch.ones([2], { device: 'cuda:x' as Device }));
    caught(() => torch.tensor([1], { device: 'gpu' as Device }));
    caught(() => torch.ones([1]).to('cuda:-3' as Device));
    if (!torch.cuda.isAvailable()) {
      const c = caught(() => torch.ones([1]).to('cuda'));
      expect(c.message).not.toMatch(/\n/);
    }
    expect(torch.ones([1]).add(1).item()).toBe(2);
  }));

  it('NaN-producing ops do not crash and give NaN / inf', () => torch.tidy(() => {
    const x = torch.tensor([-1, 0, 1], { dtype: 'float64' });
    const v = (t: Tensor) => Array.from(t.toArray() as Float64Array);
    expect(v(x.log())).toEqual([NaN, -Infinity, 0]);
    expect(v(x.sqrt())).toEqual([NaN, 0, 1]);
    expect(v(x.div(torch.zeros([3], { dtype: 'float64' })))).toEqual([-Infinity, NaN, Infinity]);
    expect(v(torch.tensor([Infinity], { dtype: 'float64' }).sub(Infinity))).toEqual([NaN]);
    expect(v(torch.tensor([NaN, 1], { dtype: 'float64' }).softmax(0))).toEqual([NaN, NaN]);
    expect(torch.zeros([0]).mean().item()).toBeNaN();
    expect(torch.tensor([NaN, 1]).max().item()).toBeNaN();
    expect(v(x.rsqrt())).toEqual([NaN, Infinity, 1]);
    expect(torch.tensor([1e308], { dtype: 'float64' }).mul(10).item()).toBe(Infinity);
    expect(torch.tensor([NaN]).toArray()[0]).toBeNaN();
    expect(torch.ones([1]).add(1).item()).toBe(2);
  }));

  it('errors inside noGrad restore grad mode', () => {
    expect(torch.isGradEnabled()).toBe(true);
    expect(() => torch.noGrad(() => torch.ones([2]).add(torch.ones([3])))).toThrow(TorchError);
    expect(torch.isGradEnabled()).toBe(true);
  });
});
