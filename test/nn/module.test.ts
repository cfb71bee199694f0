// nn.Module bookkeeping (names, modes, dtype moves, state dicts, freezing, counts) and the
// PyTorch default initialisations, checked against their formulas.
import { nn, torch, Tensor, TorchError } from '../../lib';

const tiny = () => new nn.DecoderLM({ vocabSize: 11, dim: 8, numLayers: 2, numHeads: 2, numKvHeads: 1, hiddenDim: 12 });

describe('Module', () => {
  it('names parameters as Hugging Face does and counts them', () => {
    const lm = tiny();
    const names = lm.namedParameters().map(([n]) => n);
    expect(names).toEqual(expect.arrayContaining([
      'model.embed_tokens.weight', 'model.layers.0.input_layernorm.weight', 'model.layers.0.self_attn.q_proj.weight',
      'model.layers.0.self_attn.k_proj.weight', 'model.layers.1.mlp.gate_proj.weight', 'model.layers.1.mlp.down_proj.weight',
      'model.layers.1.post_attention_layernorm.weight', 'model.norm.weight', 'lm_head.weight',
    ]));
    // embed 11·8, per layer: norms 2·8, q 8·8, k,v 2·(4·8), o 8·8, mlp 3·8·12; final norm 8; head 11·8
    const perLayer = 16 + 64 + 64 + 64 + 288;
    expect(lm.numParameters()).toBe(88 + 2 * perLayer + 8 + 88);
    expect(lm.parameters().length).toBe(names.length);
    expect(Object.keys(lm.stateDict())).toEqual(names); // inv_freq is a non-persistent buffer
    expect(lm.namedBuffers().map(([n]) => n)).toEqual(['model.rotary_emb.inv_freq']);
  });

  it('counts a tied parameter once', () => {
    const lm = new nn.DecoderLM({ vocabSize: 11, dim: 8, numLayers: 1, numHeads: 2, hiddenDim: 12, tieEmbeddings: true });
    expect(lm.namedParameters().map(([n]) => n)).not.toContain('lm_head.weight');
    expect(lm.lmHead.weight).toBe(lm.model.embedTokens.weight);
  });

  it('train() and eval() reach every submodule; Dropout is the identity in eval', () => {
    const seq = new nn.Sequential(new nn.Linear(4, 4), new nn.Dropout(0.5));
    seq.eval();
    expect(seq.modules().every((m) => !m.training)).toBe(true);
    const x = torch.randn([3, 4]);
    torch.tidy(() => {
      const a = seq.forward(x), b = (seq.at(0) as nn.Linear).forward(x);
      expect(Array.from(a.toArray() as Float32Array)).toEqual(Array.from(b.toArray() as Float32Array));
    });
    seq.train();
    expect(seq.modules().every((m) => m.training)).toBe(true);
    expect(seq.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias']);
  });

  it('Dropout in training zeroes about p of the elements and scales the rest by 1/(1-p)', () => {
    const d = new nn.Dropout(0.3);
    torch.tidy(() => {
      const y = d.forward(torch.ones([200_000])).toArray() as Float32Array;
      const zeros = y.filter((v) => v === 0).length / y.length;
      expect(Math.abs(zeros - 0.3)).toBeLessThan(0.01); // 0.3 ± 0.01 is > 9 sigma
      expect(y.filter((v) => v !== 0).every((v) => Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
    });
  });

  it('to(dtype) casts floating parameters in place, keeping their identity', () => {
    const m = new nn.PatchEmbedding({ imageSize: 8, patchSize: 4, dim: 6 });
    const w = m.patchEmbedding.weight;
    const before = Array.from(w.toArray() as Float32Array);
    m.to('float64');
    expect(m.patchEmbedding.weight).toBe(w);
    expect(w.dtype).toBe('float64');
    expect(w.requiresGrad).toBe(true);
    expect(Array.from(w.toArray() as Float64Array)).toEqual(before);
    expect(m.positionIds.dtype).toBe('int64'); // integer buffers keep their dtype
  });

  it('loadStateDict lists missing keys, unexpected keys and shape mismatches in one error', () => {
    const m = new nn.Sequential(new nn.Linear(3, 2), new nn.LayerNorm(2));
    const sd: Record<string, Tensor> = { '0.weight': torch.zeros([2, 4]), '0.bias': torch.zeros([2]), 'extra.weight': torch.zeros([1]) };
    let err: Error | undefined;
    try { m.loadStateDict(sd); } catch (e) { err = e as Error; }
    expect(err).toBeInstanceOf(TorchError);
    expect(err!.message).toMatch(/missing keys \(2\): 1\.weight, 1\.bias/);
    expect(err!.message).toMatch(/unexpected keys \(1\): extra\.weight/);
    expect(err!.message).toMatch(/0\.weight: checkpoint shape \[2, 4\], model shape \[2, 3\]/);
    // Nothing was copied by the failed call.
    expect((m.at(0) as nn.Linear).bias!.abs().sum().item()).toBeGreaterThan(0);
    // Non-strict: a partial load succeeds and reports what it skipped; shapes must still match.
    sd['0.weight'] = torch.full([2, 3], 7);
    const r = m.loadStateDict(sd, { strict: false });
    expect(r).toEqual({ missingKeys: ['1.weight', '1.bias'], unexpectedKeys: ['extra.weight'] });
    expect(Array.from((m.at(0) as nn.Linear).weight.toArray() as Float32Array)).toEqual([7, 7, 7, 7, 7, 7]);
  });

  it('freezes and unfreezes by glob, RegExp or predicate', () => {
    const lm = tiny();
    const frozen = lm.freeze('model.layers.*.mlp.*');
    expect(frozen).toHaveLength(6);
    expect(lm.numParameters({ trainableOnly: true })).toBe(lm.numParameters() - 2 * 288);
    expect(lm.unfreeze(/mlp\.up_proj/)).toHaveLength(2);
    lm.freeze((n) => n.startsWith('lm_head'));
    expect(lm.lmHead.weight.requiresGrad).toBe(false);
  });

  it('refuses a name used by another kind of member, and dotted names', () => {
    const m = new nn.Linear(2, 2);
    expect(() => m.registerModule('weight', new nn.Linear(1, 1))).toThrow(/already a parameter/);
    expect(() => m.registerBuffer('a.b', torch.zeros([1]))).toThrow(/not a valid buffer name/);
  });

  it('ModuleList indexes, iterates and names children 0..n-1', () => {
    const l = new nn.ModuleList([new nn.Linear(2, 2), new nn.Linear(2, 3)]);
    expect(l.length).toBe(2);
    expect(l.at(-1).outFeatures).toBe(3);
    expect([...l].length).toBe(2);
    expect(l.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    expect(() => l.at(5)).toThrow(RangeError);
  });

  it('modules survive the tidy() scope they were built in', () => {
    const m = torch.tidy(() => new nn.Linear(3, 3));
    expect(m.weight.isDisposed).toBe(false);
    torch.tidy(() => { expect(m.forward(torch.ones([1, 3])).shape).toEqual([1, 3]); });
  });
});

describe('default initialisation (PyTorch formulas)', () => {
  const stats = (t: Tensor) => {
    const a = Array.from(t.toArray() as Float32Array);
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
    return { min: Math.min(...a.slice(0, 100000)), max: Math.max(...a.slice(0, 100000)), mean, variance, n: a.length };
  };
  it('Linear: weight and bias ~ U(±1/√in)', () => {
    torch.manualSeed(0);
    const l = new nn.Linear(400, 300);
    const b = 1 / Math.sqrt(400);
    const w = stats(l.weight);
    expect(w.min).toBeGreaterThanOrEqual(-b);
    expect(w.max).toBeLessThanOrEqual(b);
    expect(w.max).toBeGreaterThan(0.99 * b);
    expect(Math.abs(w.variance / (b * b / 3) - 1)).toBeLessThan(0.02); // var of U(-b, b) = b²/3
    const bias = stats(l.bias!);
    expect(bias.min).toBeGreaterThanOrEqual(-b);
    expect(bias.max).toBeLessThanOrEqual(b);
  });
  it('Conv2d: U(±1/√(in/groups · kh · kw))', () => {
    const c = new nn.Conv2d(8, 64, 3, { groups: 2 });
    const b = 1 / Math.sqrt(4 * 9);
    const w = stats(c.weight);
    expect(c.weight.shape).toEqual([64, 4, 3, 3]);
    expect(w.min).toBeGreaterThanOrEqual(-b);
    expect(w.max).toBeLessThanOrEqual(b);
    expect(Math.abs(w.variance / (b * b / 3) - 1)).toBeLessThan(0.06);
  });
  it('Embedding ~ N(0, 1) with a zero padding row; norms start at the identity', () => {
    const e = new nn.Embedding(1000, 100, { paddingIdx: 3 });
    const s = stats(e.weight);
    expect(Math.abs(s.mean)).toBeLessThan(0.02);
    expect(Math.abs(s.variance - 1)).toBeLessThan(0.03);
    expect(Array.from(e.weight.select(0, 3).toArray() as Float32Array)).toEqual(new Array(100).fill(0));
    const ln = new nn.LayerNorm(5);
    expect(Array.from(ln.weight!.toArray() as Float32Array)).toEqual([1, 1, 1, 1, 1]);
    expect(Array.from(ln.bias!.toArray() as Float32Array)).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(new nn.RMSNorm(3).weight.toArray() as Float32Array)).toEqual([1, 1, 1]);
  });
});

describe('attention masks', () => {
  it('a fully masked query row stays finite (the mean of the values), never NaN', () => {
    const a = new nn.Attention({ dim: 8, numHeads: 2, causal: true });
    torch.tidy(() => {
      const x = torch.randn([1, 3, 8]);
      const out = a.forward(x, { attentionMask: torch.tensor([[0, 1, 1]]) });
      expect(out.ne(out).any().item()).toBe(false);
      expect(out.abs().max().item()).toBeLessThan(1e6);
    });
  });
  it('padding keys do not influence unpadded queries', () => {
    const a = new nn.Attention({ dim: 8, numHeads: 2, numKvHeads: 1, causal: false });
    torch.tidy(() => {
      const x = torch.randn([1, 4, 8]);
      const x2 = x.clone();
      torch.noGrad(() => { const row = x2.select(1, 3); row.fill_(100); });
      const mask = torch.tensor([[1, 1, 1, 0]]);
      const y1 = a.forward(x, { attentionMask: mask }).narrow(1, 0, 3);
      const y2 = a.forward(x2, { attentionMask: mask }).narrow(1, 0, 3);
      expect(y1.sub(y2).abs().max().item()).toBeLessThan(1e-6);
    });
  });
});
