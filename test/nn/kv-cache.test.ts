// Incremental decoding with a key/value cache gives the hidden states of the full sequence:
// a prompt, then one position at a time, then two at once (the end-aligned causal bias), in
// float64 so that any difference beyond rounding shows. Grouped-query heads, memory, misuse.
import { nn, torch, type Tensor } from '../../lib';

function decoder(numKvHeads: number): InstanceType<typeof nn.DecoderModel> {
  torch.manualSeed(7);
  return new nn.DecoderModel({ vocabSize: 40, dim: 32, numHeads: 4, numKvHeads, hiddenDim: 48, numLayers: 3, dtype: 'float64' });
}

const maxDiff = (a: Tensor, b: Tensor) => Number(a.sub(b).abs().max().item());

describe('KVCache with DecoderModel.forwardEmbeds', () => {
  for (const kv of [4, 2]) {
    it(`prompt, then 1, 1 and 2 positions at a time, equal the full sequence (${kv} key/value heads)`, () => {
      const m = decoder(kv);
      m.eval();
      const before = torch.memory().tensors;
      torch.noGrad(() => torch.tidy(() => {
        const x = torch.randn([2, 9, 32], { dtype: 'float64' });
        const full = m.forwardEmbeds(x);
        const cache = new nn.KVCache(m.layers.length);
        try {
          const parts: Tensor[] = [];
          for (const [start, len] of [[0, 5], [5, 1], [6, 1], [7, 2]]) {
            expect(cache.length).toBe(start);
            parts.push(m.forwardEmbeds(x.narrow(1, start, len), { cache }));
          }
          expect(cache.length).toBe(9);
          expect(cache.layers[0].k!.shape).toEqual([2, kv, 9, 8]); // cached before the heads are repeated
          expect(maxDiff(torch.cat(parts, 1), full)).toBeLessThan(1e-12);
        } finally {
          cache.dispose();
        }
      }));
      expect(torch.memory().tensors).toBe(before);
    });
  }

  it('refuses an attention mask, context, or a cache for another depth', () => {
    const m = decoder(4);
    torch.noGrad(() => torch.tidy(() => {
      const x = torch.randn([1, 3, 32], { dtype: 'float64' });
      const cache = new nn.KVCache(m.layers.length);
      try {
        expect(() => m.forwardEmbeds(x, { cache, attentionMask: torch.ones([1, 3], { dtype: 'bool' }) })).toThrow(/neither context nor an attention mask/);
        expect(() => m.forwardEmbeds(x, { cache: new nn.KVCache(2) })).toThrow(/the cache has 2 layers, the model 3/);
      } finally {
        cache.dispose();
      }
    }));
  });
});
