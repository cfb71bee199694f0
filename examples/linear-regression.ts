import { torch } from '../lib'; // in your project: import { torch } from 'unimrg'

torch.manualSeed(0);
const x = torch.randn([256, 3]);
const y = torch.tidy(() => x.matmul(torch.tensor([[2], [-1], [0.5]])).add(0.3));
const w = torch.zeros([3, 1], { requiresGrad: true });
const b = torch.zeros([1], { requiresGrad: true });
for (let step = 0; step < 200; step++) {
  torch.tidy(() => {
    const loss = x.matmul(w).add(b).sub(y).square().mean();
    loss.backward();
    torch.noGrad(() => { for (const p of [w, b]) { p.sub_(p.grad!.mul(0.1)); p.grad = null; } });
    if (step % 50 === 0) console.log(`step ${step} loss ${(loss.item() as number).toFixed(5)}`);
  });
}
console.log(`w = ${w}\nb = ${b}`);
