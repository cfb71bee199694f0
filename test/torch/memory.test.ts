// tidy/keep/dispose, live-tensor accounting, a long training-like loop, use after dispose.
import { torch, Tensor, TorchError } from '../../lib';

const live = () => torch.memory().tensors;

describe('tidy, keep and dispose', () => {
  it('tidy frees everything but its result', () => {
    const before = live();
    let a!: Tensor;
    let b!: Tensor;
    const c = torch.tidy(() => {
      a = torch.ones([3]);
      b = a.add(1);
      expect(live()).toBe(before + 2);
      return b.mul(2);
    });
    expect(live()).toBe(before + 1);
    expect(a.isDisposed).toBe(true);
    expect(b.isDisposed).toBe(true);
    expect(c.isDisposed).toBe(false);
    expect(c.toNested()).toEqual([4, 4, 4]);
    c.dispose();
    expect(live()).toBe(before);
  });

  it('tensors inside arrays and plain objects of the result survive; others do not', () => {
    const before = live();
    const r = torch.tidy(() => {
      const x = torch.ones([2]);
      torch.zeros([5]);
      return { list: [x.add(1), x.add(2)], nested: { y: x.mul(3) }, n: 1 };
    });
    expect(live()).toBe(before + 3);
    expect(r.list.map((t) => t.toNested())).toEqual([[2, 2], [3, 3]]);
    expect(r.nested.y.toNested()).toEqual([3, 3]);
    torch.dispose(r);
    expect(live()).toBe(before);
    expect(r.list[0].isDisposed && r.list[1].isDisposed && r.nested.y.isDisposed).toBe(true);
  });

  it('scopes nest: an inner result belongs to the outer scope', () => {
    const before = live();
    let inner!: Tensor;
    let innerTmp!: Tensor;
    const out = torch.tidy(() => {
      inner = torch.tidy(() => {
        innerTmp = torch.ones([2]);
        return innerTmp.add(1);
      });
      expect(innerTmp.isDisposed).toBe(true);
      expect(inner.isDisposed).toBe(false);
      expect(live()).toBe(before + 1);
      return inner.mul(10);
    });
    expect(inner.isDisposed).toBe(true); // freed with the outer scope
    expect(out.toNested()).toEqual([20, 20]);
    expect(live()).toBe(before + 1);
    out.dispose();
    expect(live()).toBe(before);
  });

  it('keep() survives every enclosing scope until disposed', () => {
    const before = live();
    let kept!: Tensor;
    torch.tidy(() => {
      torch.tidy(() => {
        kept = torch.keep(torch.full([2], 7));
        torch.ones([4]);
      });
      expect(kept.isDisposed).toBe(false);
    });
    expect(kept.isDisposed).toBe(false);
    expect(kept.toNested()).toEqual([7, 7]);
    expect(live()).toBe(before + 1);
    torch.dispose(kept);
    expect(kept.isDisposed).toBe(true);
    expect(live()).toBe(before);
  });

  it('dispose() frees now, twice is harmless, and views keep their storage alive', () => {
    const before = live();
    const x = torch.arange(0, 6, 1, { dtype: 'float32' });
    const v = x.reshape(2, 3);
    expect(live()).toBe(before + 2);
    x.dispose();
    x.dispose();
    expect(x.isDisposed).toBe(true);
    expect(live()).toBe(before + 1);
    expect(v.toNested()).toEqual([[0, 1, 2], [3, 4, 5]]);
    v.dispose();
    expect(live()).toBe(before);
  });

  it('torch.memory() counts tensors inside and outside tidy, and bytes of distinct storages', () => {
    const before = torch.memory();
    torch.tidy(() => {
      const big = torch.zeros([1000]);
      expect(torch.memory().tensors).toBe(before.tensors + 1);
      expect(torch.memory().bytes - before.bytes).toBe(4000);
      const view = big.view(10, 100);
      expect(torch.memory().tensors).toBe(before.tensors + 2);
      expect(torch.memory().bytes - before.bytes).toBe(4000); // a view shares the storage
      torch.zeros([10], { dtype: 'float64' });
      expect(torch.memory().bytes - before.bytes).toBe(4080);
      return view.shape;
    });
    expect(torch.memory()).toEqual(before);
  });

  it('reading .grad twice gives two handles, both freed by tidy', () => {
    const w = torch.ones([3], { requiresGrad: true });
    w.sum().backward();
    const before = live();
    torch.tidy(() => {
      const g1 = w.grad!;
      const g2 = w.grad!;
      expect(g1).not.toBe(g2);
      expect(live()).toBe(before + 2);
    });
    expect(live()).toBe(before);
    torch.tidy(() => expect(w.grad!.toNested()).toEqual([1, 1, 1]));
    w.dispose();
  });

  it('a tidy whose fn throws frees its tensors and rethrows the same error', () => {
    const before = live();
    let t!: Tensor;
    const err = new Error('boom');
    expect(() => torch.tidy(() => {
      t = torch.ones([3]);
      torch.ones([3]).add(1);
      throw err;
    })).toThrow(err);
    expect(t.isDisposed).toBe(true);
    expect(live()).toBe(before);
    // and a libtorch failure inside nested scopes
    expect(() => torch.tidy(() => torch.tidy(() => torch.ones([2, 3]).add(torch.ones([4]))))).toThrow(TorchError);
    expect(live()).toBe(before);
  });

  it('tidy refuses an async fn and frees what it made', () => {
    const before = live();
    expect(() => torch.tidy((async () => torch.ones([1])) as never)).toThrow(TorchError);
    expect(live()).toBe(before);
  });
});

describe('use after dispose', () => {
  it('an explicitly disposed tensor throws TorchError saying it was disposed', () => {
    const t = torch.ones([2]);
    t.dispose();
    const uses: (() => unknown)[] = [() => t.add(1), () => t.shape, () => t.toArray(), () => t.item(), () => t.sum(), () => torch.ones([2]).add(t)];
    for (const use of uses) {
      let caught: unknown;
      try { use(); } catch (e) { caught = e; }
      expect(caught).toBeInstanceOf(TorchError);
      expect((caught as Error).message).toMatch(/disposed/);
    }
  });

  it('a tensor freed by tidy throws the same way', () => {
    let t!: Tensor;
    torch.tidy(() => { t = torch.ones([2]); });
    expect(() => t.mul(2)).toThrow(TorchError);
    expect(() => t.mul(2)).toThrow(/disposed/);
  });

  it('a live tensor is unaffected when another one sharing its storage is disposed', () => {
    const x = torch.tensor([1, 2]);
    const y = x.to('float32'); // no change: a second handle to the same tensor
    x.dispose();
    expect(y.toNested()).toEqual([1, 2]);
    y.dispose();
  });
});

describe('a long training-like loop', () => {
  it('10,000 steps of linear regression in tidy leave no tensors behind and RSS within 50 MB', () => {
    torch.manualSeed(0);
    const n = 32;
    const wTrue = torch.tensor([[1.5], [-2], [0.5], [3]]);
    const x = torch.randn([n, 4]);
    const y = torch.tidy(() => x.matmul(wTrue).add(0.25));
    const w = torch.zeros([4, 1], { requiresGrad: true });
    const b = torch.zeros([1], { requiresGrad: true });
    const lr = 0.05;
    let lastLoss = NaN;
    const step = () => torch.tidy(() => {
      const pred = x.matmul(w).add(b);
      const loss = pred.sub(y).pow(2).mean();
      loss.backward();
      torch.noGrad(() => {
        w.sub_(w.grad!.mul(lr));
        b.sub_(b.grad!.mul(lr));
      });
      w.grad = null;
      b.grad = null;
      lastLoss = loss.item() as number;
    });
    for (let i = 0; i < 200; i++) step(); // warm-up
    const tensorsBefore = live();
    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < 10000; i++) step();
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    expect(live()).toBe(tensorsBefore);
    expect(rssGrowth).toBeLessThan(50 * 1024 * 1024);
    // and it learnt: the exact weights, independent of the loop's bookkeeping
    expect(lastLoss).toBeLessThan(1e-8);
    expect(w.grad).toBeNull();
    const learnt = Array.from(w.detach().toArray() as Float32Array);
    [1.5, -2, 0.5, 3].forEach((v, i) => expect(learnt[i]).toBeCloseTo(v, 3));
    expect(b.item()).toBeCloseTo(0.25, 3);
    torch.dispose([wTrue, x, y, w, b]);
  });
});
