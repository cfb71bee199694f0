// Every layer against PyTorch: test/fixtures/make_nn_fixtures.py built each layer in PyTorch 1.13
// (float64), with the same parameter names, and saved its parameters, inputs, outputs and the
// gradients of sum(output · r). Here our layer loads those parameters by name (strict), runs
// forward and backward in float64, and must agree to ~1e-10.
import * as path from 'node:path';
import { io, nn, torch, Tensor } from '../../lib';

const DIR = path.join(__dirname, '..', 'fixtures', 'nn');

interface Fixture { params: Record<string, Tensor>; grads: Record<string, Tensor>; inputs: Tensor[]; gradInputs: (Tensor | undefined)[]; t: Record<string, Tensor> }

function load(name: string): Fixture {
  const t = io.loadSafetensors(path.join(DIR, `${name}.safetensors`));
  const pick = (prefix: string) => Object.fromEntries(Object.entries(t).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  const inputs: Tensor[] = [];
  const gradInputs: (Tensor | undefined)[] = [];
  for (let i = 0; `input.${i}` in t; i++) { inputs.push(t[`input.${i}`]); gradInputs.push(t[`grad_input.${i}`]); }
  return { params: pick('param.'), grads: pick('grad.'), inputs, gradInputs, t };
}

function maxDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return torch.tidy(() => (a.numel === 0 ? 0 : (a.to('float64').sub(b.to('float64')).abs().max().item() as number)));
}

/** Loads the fixture into m, runs fwd, checks output and every gradient. */
function check(name: string, m: nn.Module, fwd: (m: nn.Module, xs: Tensor[], f: Fixture) => Tensor, tol = 1e-10): void {
  const f = load(name);
  m.to('float64');
  const res = m.loadStateDict(f.params);
  expect(res.missingKeys).toEqual([]);
  const xs = f.inputs.map((x) => (x.dtype === 'float64' ? x.clone().requiresGrad_(true) : x));
  torch.tidy(() => {
    const out = fwd(m, xs, f);
    expect(maxDiff(out, f.t.output)).toBeLessThan(tol);
    out.mul(f.t.r).sum().backward();
  });
  xs.forEach((x, i) => {
    if (f.gradInputs[i]) expect(maxDiff(x.grad!, f.gradInputs[i]!)).toBeLessThan(tol);
  });
  const named = Object.fromEntries(m.namedParameters());
  expect(Object.keys(named).sort()).toEqual(Object.keys(f.params).sort());
  for (const [n, g] of Object.entries(f.grads)) {
    const ours = named[n].grad;
    expect(ours).not.toBeNull();
    const d = maxDiff(ours!, g);
    if (!(d < tol)) throw new Error(`${name}: gradient of ${n} differs by ${d}`);
  }
}

const one = (m: nn.Module, xs: Tensor[]) => (m as unknown as { forward(x: Tensor): Tensor }).forward(xs[0]);

describe('layers against PyTorch fixtures (float64)', () => {
  it('Linear', () => check('linear', new nn.Linear(5, 3), one));
  it('Linear without bias', () => check('linear_nobias', new nn.Linear(5, 3, { bias: false }), one));
  it('Embedding with padding_idx (no gradient into the padding row)', () => check('embedding', new nn.Embedding(10, 4, { paddingIdx: 1 }), one));
  it('LayerNorm', () => check('layernorm', new nn.LayerNorm(6), one));
  it('GroupNorm', () => check('groupnorm', new nn.GroupNorm(2, 4), one));
  it('Conv2d (stride 2, padding 1)', () => check('conv2d', new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1 }), one));
  it('RMSNorm', () => check('rmsnorm', new nn.RMSNorm(6), one));
  it('SwiGLU', () => check('swiglu', new nn.SwiGLU(8, 12), one));

  const rope = (T: number, hd: number) => {
    const r = new nn.RotaryEmbedding(hd, 10000, { dtype: 'float64' });
    return r.forward(torch.arange(0, T));
  };
  it('grouped-query attention, causal, rotary', () => check('attention_causal', new nn.Attention({ dim: 16, numHeads: 4, numKvHeads: 2 }),
    (m, xs) => (m as nn.Attention).forward(xs[0], { rotary: rope(5, 4) })));
  it('grouped-query attention, causal + right padding', () => check('attention_causal_pad', new nn.Attention({ dim: 16, numHeads: 4, numKvHeads: 2 }),
    (m, xs, f) => (m as nn.Attention).forward(xs[0], { rotary: rope(5, 4), attentionMask: f.t.mask })));
  it('bidirectional attention with left padding', () => check('attention_bidir_pad', new nn.Attention({ dim: 16, numHeads: 4, causal: false }),
    (m, xs, f) => (m as nn.Attention).forward(xs[0], { attentionMask: f.t.mask })));
  it('pre-norm Llama block', () => check('block', new nn.TransformerBlock({ dim: 16, numHeads: 4, numKvHeads: 2, hiddenDim: 24 }),
    (m, xs) => (m as nn.TransformerBlock).forward(xs[0], { rotary: rope(5, 4) })));
  it('ViT encoder with SigLIP names', () => check('vit', new nn.ViTEncoder({ imageSize: 8, patchSize: 4, dim: 16, numHeads: 2, numLayers: 2, hiddenDim: 32 }), one));
  it('decoder LM with Llama names (model.layers.N.self_attn.q_proj.weight, lm_head.weight)', () => {
    const lm = new nn.DecoderLM({ vocabSize: 32, dim: 16, numLayers: 2, numHeads: 4, numKvHeads: 2, hiddenDim: 24, dtype: 'float64' });
    expect(lm.namedParameters().map(([n]) => n)).toContain('model.layers.1.self_attn.q_proj.weight');
    check('decoder_lm', lm, one);
  });
});
