// Does a model look at the image, and does it answer a question asked alone as well as one asked
// inside the conversation it was trained on? The two diagnostics of docs/results/learning-curve.md:
//   npx tsx docs/results/scripts/diagnose.ts <run directory or bases/<family>> [scenes=40]
// 1. Exact-match accuracy on test scenes with the right image, a blank image, and another scene's.
// 2. First-answer-token accuracy of each test question asked alone, and asked after the scene's
//    earlier questions with their true answers (autoregressive-vq's layout; other families: part 1).
import { placeAt } from '../../../lib/adapters/common/sequence';
import { adapterFromRun } from '../../../lib/cli/evaluate';
import { understandingImage } from '../../../lib/data/preprocess';
import { scene } from '../../../lib/data/scenes/generate';
import { SPLITS } from '../../../lib/data/scenes/splits';
import { encodeChat, IMAGE_TAG } from '../../../lib/data/tokenizer/chat';
import { torch, type Tensor } from '../../../lib/torch';
import { noGrad } from '../../../lib/torch/autograd';

const run = process.argv[2];
if (run === undefined) throw new Error('usage: diagnose.ts <run directory or bases/<family>> [scenes]');
const scenes = Number(process.argv[3] ?? 40);
const a = adapterFromRun(run);
a.eval();
const f = a.batchFormat;
const imageOf = (seed: number) => understandingImage(scene(seed, { size: Math.max(64, f.conditionSize) }).image, { size: f.conditionSize, normalization: f.normalization, square: 'pad' });

// 1. the image ablation
for (const mode of ['right image', 'blank image', "another scene's image"] as const) {
  let ok = 0;
  let n = 0;
  for (let i = 0; i < scenes; i++) {
    const s = scene(SPLITS.test[0] + i, { size: Math.max(64, f.conditionSize) });
    const im = imageOf(SPLITS.test[0] + i + (mode === "another scene's image" ? 500 : 0));
    const data = mode === 'blank image' ? new Float32Array(im.data.length) : im.data;
    const images = torch.tensor(new Float32Array(s.qa.flatMap(() => Array.from(data))), { shape: [s.qa.length, ...im.shape] });
    const answers = noGrad(() => a.answer(images, s.qa.map((q) => q.question)));
    images.dispose();
    s.qa.forEach((q, j) => { n++; if (answers[j] === q.answer) ok++; });
  }
  console.log(`${mode}: accuracy ${(ok / n).toFixed(3)} (${n} questions)`);
}

// 2. alone against in context (autoregressive-vq: its language model reads the features directly)
if (a.family === 'autoregressive-vq') {
  const m = (a as unknown as { model: { languageModel: any; conditionFeatures(x: Tensor): Tensor } }).model; // eslint-disable-line @typescript-eslint/no-explicit-any
  const tok = (a as unknown as { tokenizer: Parameters<typeof encodeChat>[0] }).tokenizer;
  const firstToken = (turns: { user: string; assistant: string }[], feats: Tensor) => {
    const enc = encodeChat(tok, turns, { template: f.template, conditionTokens: f.conditionTokens, generationTokens: f.generationTokens });
    let start = -1; // the last turn's first answer token
    for (let i = enc.labels.length - 1; i >= 0; i--) if (enc.labels[i] !== -100 && (i === 0 || enc.labels[i - 1] === -100)) { start = i; break; }
    return torch.tidy(() => {
      const ids = torch.tensor(BigInt64Array.from(enc.ids.slice(0, start), BigInt), { shape: [1, start] });
      const cond = torch.tensor(Uint8Array.from(enc.conditionMask.slice(0, start)), { shape: [1, start] }).to('bool');
      const h = m.languageModel.model.forwardEmbeds(placeAt(m.languageModel.model.embedTokens.forward(ids), cond, feats));
      return Number(m.languageModel.lmHead.forward(h.select(1, start - 1)).argmax(-1).item()) === enc.labels[start];
    });
  };
  let alone = 0;
  let inContext = 0;
  let n = 0;
  noGrad(() => {
    for (let i = 0; i < scenes; i++) {
      const s = scene(SPLITS.test[0] + i, { size: Math.max(64, f.conditionSize) });
      const im = imageOf(SPLITS.test[0] + i);
      const feats = torch.keep(m.conditionFeatures(torch.tensor(new Float32Array(im.data), { shape: [1, ...im.shape] })));
      s.qa.forEach((q, j) => {
        n++;
        if (firstToken([{ user: `${IMAGE_TAG}\n${q.question}`, assistant: q.answer }], feats)) alone++;
        if (firstToken(s.qa.slice(0, j + 1).map((x, k) => ({ user: k === 0 ? `${IMAGE_TAG}\n${x.question}` : x.question, assistant: x.answer })), feats)) inContext++;
      });
      feats.dispose();
    }
  });
  console.log(`first answer token, asked alone: ${(alone / n).toFixed(3)}; after the scene's earlier questions: ${(inContext / n).toFixed(3)} (${n} questions)`);
}
a.dispose();
