// Run by test/torch/gc.test.ts in a plain Node process with --expose-gc (jest's vm contexts
// make finalization timing unreliable): tensors that escape every scope and are dropped must be
// freed by the FinalizationRegistry; referenced ones must stay; dispose() must win.
import { torch } from '../../lib';

const gc = (globalThis as unknown as { gc: () => void }).gc;

async function collectUntil(done: () => boolean, rounds = 200): Promise<boolean> {
  for (let i = 0; i < rounds; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
    if (done()) return true;
  }
  return false;
}

async function main(): Promise<void> {
  const before = torch.memory().tensors;
  (() => {
    for (let i = 0; i < 100; i++) torch.ones([64]); // never disposed, never in a scope
  })();
  const afterCreate = torch.memory().tensors;
  const freed = await collectUntil(() => torch.memory().tensors === before);
  const kept = torch.ones([4]);
  const gone = torch.ones([4]);
  gone.dispose();
  await collectUntil(() => false, 20); // give the registry every chance to free `kept` wrongly
  const afterKeep = torch.memory().tensors;
  const keptSum = kept.sum().item();
  console.log(JSON.stringify({ before, afterCreate, freed, afterKeep, keptSum }));
}

main().catch((e) => { console.error(e); process.exit(1); });
