// Decoding speed of the adapters: greedy answers (16 questions, 8 new tokens) in every family and
// AR-VQ's image generation (2 depth maps, with and without guidance), median ms of several runs
// after a warm-up, on untrained models seeded alike. No baseline in the run: the key/value cache
// has no off switch, so its gain is measured by running this file on the commit before it.
//   npx tsx bench/decode.ts [--rounds 3] [--presets tiny,small]  -> bench/results/decode.json
import { adapters, torch } from '../lib';
import { median, printTable, writeResult } from './lib/report';

const argv = process.argv.slice(2);
const arg = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const rounds = Number(arg('--rounds') ?? 3);
const presets = (arg('--presets') ?? 'tiny,small').split(',');
const QUESTIONS = Array.from({ length: 16 }, (_, i) => ['How many red objects are there?', 'Is there a cube left of the sphere?', `What color is object ${i}?`, 'Which is closer?'][i % 4]);

function timeMs(fn: () => void): number {
  fn(); // warm-up
  const ts: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    fn();
    ts.push(performance.now() - t);
  }
  return median(ts);
}

(async () => {
  const rows: Record<string, unknown>[] = [];
  for (const family of adapters.FAMILIES) {
    for (const preset of presets) {
      torch.manualSeed(11);
      const a = await adapters.create(family, preset);
      const f = a.batchFormat;
      const images = torch.rand([16, 3, f.conditionSize, f.conditionSize]).mul(2).sub(1);
      rows.push({ family, preset, case: 'answer 16 x 8 tokens', ms: timeMs(() => { a.answer(images, QUESTIONS, { maxNewTokens: 8 }); }) });
      if (family === 'autoregressive-vq') {
        const two = images.narrow(0, 0, 2);
        for (const cfg of [1, 3]) {
          rows.push({ family, preset, case: `generate 2 depth maps, cfg ${cfg}`, ms: timeMs(() => a.generate(two, 'depth', { seed: 5, cfg }).dispose()) });
        }
        two.dispose();
      }
      images.dispose();
    }
  }
  printTable(rows.map((r) => ({ ...r, ms: (r.ms as number).toFixed(0) })));
  writeResult('decode', { command: `npx tsx bench/decode.ts --rounds ${rounds} --presets ${presets.join(',')}`, rounds, rows });
})();
