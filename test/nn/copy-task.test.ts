// End to end: a tiny Llama-style decoder, AdamW with warm-up + cosine and clipping, learns to
// copy a random sequence after a separator token (chance: 1/10 per token).
import { nn, optim, torch, Tensor } from '../../lib';
import { prng } from '../helpers/gradcheck';

const V = 12, SEP = 10, N = 6, B = 32;

function batch(r: () => number): { ids: Tensor; targets: Tensor } {
  const ids: bigint[] = [], tg: bigint[] = [];
  for (let b = 0; b < B; b++) {
    const s = Array.from({ length: N }, () => Math.floor(r() * 10));
    const seq = [...s, SEP, ...s];
    ids.push(...seq.slice(0, -1).map(BigInt));
    // Predict only the copied half: positions N.. predict s[0..]; the rest is ignored (-100).
    tg.push(...seq.slice(1).map((t, i) => BigInt(i >= N ? t : -100)));
  }
  return { ids: torch.tensor(BigInt64Array.from(ids), { shape: [B, 2 * N] }), targets: torch.tensor(BigInt64Array.from(tg), { shape: [B * 2 * N] }) };
}

it('a tiny transformer learns a synthetic copy task', () => {
  torch.manualSeed(0);
  const r = prng(42);
  const lm = new nn.DecoderLM({ vocabSize: V, dim: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, hiddenDim: 64 });
  const opt = new optim.AdamW(optim.weightDecayGroups(lm.namedParameters(), 0.01), { lr: 3e-3, betas: [0.9, 0.98] });
  const steps = 250;
  const sched = new optim.WarmupCosine(opt, { warmupSteps: 20, totalSteps: steps, minLrRatio: 0.1 });
  const ce = (logits: Tensor, targets: Tensor) => torch.ops.aten.cross_entropy_loss(logits.reshape(-1, V), targets) as Tensor;
  let first = 0, last = 0;
  for (let s = 0; s < steps; s++) {
    torch.tidy(() => {
      const { ids, targets } = batch(r);
      const loss = ce(lm.forward(ids), targets);
      loss.backward();
      optim.clipGradNorm(lm.parameters(), 1.0);
      opt.step();
      opt.zeroGrad();
      sched.step();
      if (s === 0) first = loss.item() as number;
      last = loss.item() as number;
    });
  }
  expect(first).toBeGreaterThan(2); // ≈ ln 12 at the start
  lm.eval();
  const acc = torch.tidy(() => {
    const { ids, targets } = batch(prng(7));
    const pred = lm.forward(ids).argmax(-1).reshape(-1);
    const mask = targets.ne(-100);
    return (pred.eq(targets).logicalAnd(mask).sum().item() as number) / (mask.sum().item() as number);
  });
  expect(last).toBeLessThan(0.3);
  expect(acc).toBeGreaterThan(0.95);
});
