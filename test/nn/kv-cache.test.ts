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

  it('left-padded rows of different lengths (mask and per-row positions), then steps, equal each row run alone', () => {
    const m = decoder(2);
    m.eval();
    torch.noGrad(() => torch.tidy(() => {
      const lens = [3, 6];
      const L = 6;
      const seqs = lens.map((n) => torch.randn([1, n + 2, 32], { dtype: 'float64' })); // prompt + 2 steps
      // Prompts left-padded to L columns; padding embeds are noise, masked out.
      const prompt = torch.cat(seqs.map((x, b) => torch.cat([torch.randn([1, L - lens[b], 32], { dtype: 'float64' }), x.narrow(1, 0, lens[b])], 1)), 0);
      let mask = torch.tensor(lens.flatMap((n) => [...Array(L - n).fill(0), ...Array(n).fill(1)]), { shape: [2, L] }).to('bool');
      const positions = torch.tensor(lens.flatMap((n) => Array.from({ length: L }, (_, i) => Math.max(0, i - (L - n)))), { shape: [2, L], dtype: 'int64' });
      const cache = new nn.KVCache(m.layers.length);
      try {
        const lastOf = (h: Tensor) => h.select(1, h.shape[1] - 1);
        const got = [lastOf(m.forwardEmbeds(prompt, { attentionMask: mask, positions, cache }))];
        for (let step = 0; step < 2; step++) {
          mask = torch.cat([mask, torch.ones([2, 1], { dtype: 'bool' })], 1);
          const x = torch.cat(seqs.map((s, b) => s.narrow(1, lens[b] + step, 1)), 0);
          const pos = torch.tensor(lens.map((n) => n + step), { shape: [2, 1], dtype: 'int64' });
          got.push(lastOf(m.forwardEmbeds(x, { attentionMask: mask, positions: pos, cache })));
        }
        for (let step = 0; step < 3; step++) {
          for (let b = 0; b < 2; b++) {
            const alone = lastOf(m.forwardEmbeds(seqs[b].narrow(1, 0, lens[b] + step)));
            expect(maxDiff(got[step].narrow(0, b, 1), alone)).toBeLessThan(1e-12);
          }
        }
      } finally {
        cache.dispose();
      }
    }));
  });

  it('refuses a mask that does not cover the cached keys, or a cache for another depth', () => {
    const m = decoder(4);
    torch.noGrad(() => torch.tidy(() => {
      const x = torch.randn([1, 3, 32], { dtype: 'float64' });
      const cache = new nn.KVCache(m.layers.length);
      try {
        m.forwardEmbeds(x, { cache });
        expect(() => m.forwardEmbeds(x, { cache, attentionMask: torch.ones([1, 3], { dtype: 'bool' }) })).toThrow(/the attention mask covers 3 keys, there are 6 \(3 cached\)/);
        expect(() => m.forwardEmbeds(x, { cache: new nn.KVCache(2) })).toThrow(/the cache has 2 layers, the model 3/);
      } finally {
        cache.dispose();
      }
    }));
  });
});
