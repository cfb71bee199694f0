// Task samples and batching: prompts, the schedule in both modes, batch layout (shapes, task ids
// per token, -100 on every prompt token), targets, tensors, and bad input.
import { data, torch } from '../../lib';

const tok = data.sceneTokenizer();
const source = data.sceneSource({ split: 'train', count: 24, size: 64 });
const COND = 4, GEN = 3;
const opts = { batchSize: 8, conditionSize: 32, generationSize: 48, conditionTokens: COND, generationTokens: GEN, seed: 3 };

describe('prompts', () => {
  test('5 depth prompts, at least 10 segmentation prompts, the published ones first', () => {
    expect(data.PROMPTS.depth).toHaveLength(5);
    expect(data.PROMPTS.segmentation.length).toBeGreaterThanOrEqual(10);
    expect(data.PROMPTS.depth[0]).toBe('Generate the depth map of this image.');
    expect(data.PROMPTS.segmentation[0]).toBe('Generate the segmentation mask of this image.');
    for (const list of Object.values(data.PROMPTS)) expect(new Set(list).size).toBe(list.length);
  });

  test('the reconstruction prompt becomes "Generate an image." 10% of the time; other tasks never', () => {
    const N = 4000;
    let generic = 0;
    for (let i = 0; i < N; i++) if (data.generationPrompt('reconstruction', new data.Rng(1, i)) === data.GENERIC_PROMPT) generic++;
    // binomial(4000, 0.1): sd 19; ±5 sd
    expect(Math.abs(generic - 400)).toBeLessThan(95);
    for (let i = 0; i < 300; i++) expect(data.generationPrompt('depth', new data.Rng(2, i))).not.toBe(data.GENERIC_PROMPT);
    const used = new Set(Array.from({ length: 300 }, (_, i) => data.generationPrompt('segmentation', new data.Rng(3, i))));
    expect(used.size).toBe(data.PROMPTS.segmentation.length);
  });
});

describe('schedule', () => {
  test('interleave: one task per batch, counts follow the ratios exactly over a period', () => {
    const s = new data.Schedule({ understanding: 2, reconstruction: 1, depth: 1 }, 'interleave', 4);
    const count = [0, 0, 0, 0];
    for (let b = 0; b < 400; b++) {
      const p = s.plan(b);
      expect(new Set(p.tasks).size).toBe(1);
      count[data.TASK_ID[p.tasks[0]]]++;
    }
    expect(count).toEqual([200, 100, 100, 0]);
  });

  test('mixed: every batch holds the tasks by ratio, rows grouped by task id', () => {
    const s = new data.Schedule(undefined, 'mixed', 8);
    for (let b = 0; b < 10; b++) {
      const p = s.plan(b);
      expect(p.tasks.map((t) => data.TASK_ID[t])).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    }
  });

  test('each task\'s stream positions are used once, in order; plans are reproducible in any order', () => {
    const s = new data.Schedule({ understanding: 3, depth: 1, segmentation: 2 }, 'mixed', 5);
    const seen: Record<string, number[]> = {};
    const plans = Array.from({ length: 700 }, (_, b) => s.plan(b));
    for (const p of plans) p.tasks.forEach((t, j) => (seen[t] ??= []).push(p.positions[j]));
    for (const v of Object.values(seen)) expect(v).toEqual(v.map((_, i) => i));
    const fresh = new data.Schedule({ understanding: 3, depth: 1, segmentation: 2 }, 'mixed', 5);
    for (const b of [650, 3, 299, 0, 512]) expect(fresh.plan(b)).toEqual(plans[b]);
  });

  test('per-task: micro-batches cycle through the trained tasks, each a full batch of one task', () => {
    const s = new data.Schedule({ understanding: 1, depth: 1, segmentation: 1 }, 'per-task', 4);
    expect(s.cycle).toBe(3);
    const plans = Array.from({ length: 9 }, (_, b) => s.plan(b));
    expect(plans.map((p) => p.tasks[0])).toEqual(['understanding', 'depth', 'segmentation', 'understanding', 'depth', 'segmentation', 'understanding', 'depth', 'segmentation']);
    for (const p of plans) { expect(p.tasks).toHaveLength(4); expect(new Set(p.tasks).size).toBe(1); }
    expect(plans[3].positions).toEqual([4, 5, 6, 7]); // understanding's second micro-batch
  });

  test('per-task: the understanding stream is the same whatever else is trained (paired arms)', () => {
    const understanding = (ratios: data.Ratios) => {
      const s = new data.Schedule(ratios, 'per-task', 8);
      return Array.from({ length: 20 * s.cycle }, (_, b) => s.plan(b)).filter((p) => p.tasks[0] === 'understanding').map((p) => p.positions);
    };
    const alone = understanding({ understanding: 1 });
    expect(alone).toHaveLength(20);
    expect(understanding({ understanding: 1, reconstruction: 1, depth: 1, segmentation: 1 })).toEqual(alone);
    expect(understanding({ understanding: 1, depth: 1 })).toEqual(alone);
  });

  test('per-task: the batcher gives each arm the same understanding samples, in the same order', async () => {
    const rows = async (ratios: data.Ratios) => {
      const b = new data.TaskBatcher(source, tok, { ...opts, mode: 'per-task', ratios });
      const out: number[][] = [];
      for (let i = 0; i < 3 * b.schedule.cycle; i++) {
        const h = await b.hostBatch(i);
        if (h.task === 'understanding') out.push(Array.from(data.int32Of(h.inputIds)));
        else expect(h.targetImages!.shape[0]).toBe(8); // a full batch of the generation task
      }
      return out;
    };
    const alone = await rows({ understanding: 1 });
    expect(alone).toHaveLength(3);
    expect(await rows({ understanding: 1, reconstruction: 1, depth: 1, segmentation: 1 })).toEqual(alone);
  });

  test('bad ratios and modes', () => {
    expect(() => new data.Schedule({ understanding: 2, depth: 1 }, 'per-task', 4)).toThrow(/per-task batching .* ratios must be 0 \(left out\) or 1/);
    expect(() => new data.Schedule({ understanding: 0 }, 'mixed', 4)).toThrow(/at least one task ratio/);
    expect(() => new data.Schedule({ vqa: 1 } as never, 'mixed', 4)).toThrow(/unknown task 'vqa'/);
    expect(() => new data.Schedule({ depth: -1 }, 'mixed', 4)).toThrow(/>= 0/);
    expect(() => new data.Schedule(undefined, 'packed' as never, 4)).toThrow(/mode must be 'per-task', 'interleave', 'mixed', got 'packed'/);
    expect(() => new data.Schedule(undefined, 'mixed', 0)).toThrow(/batchSize/);
  });
});

/** Checks the layout of a host batch row by row against its own samples. */
function checkLayout(h: data.HostBatch): void {
  const [B, L] = h.inputIds.shape;
  expect(h.labels.shape).toEqual([B, L]);
  expect(h.taskIds.shape).toEqual([B, L]);
  const ids = data.int32Of(h.inputIds), labels = data.int32Of(h.labels), tids = data.int32Of(h.taskIds), rows = data.int32Of(h.rowTasks);
  const imEnd = tok.tokenToId('<|im_end|>')!, assistant = tok.tokenToId('assistant')!;
  let g = 0;
  for (let b = 0; b < B; b++) {
    const row = (a: ArrayLike<number>) => Array.from(a).slice(b * L, (b + 1) * L);
    const rid = row(ids), rl = row(labels), rt = row(tids), att = row(h.attentionMask.data);
    const cond = row(h.conditionMask.data), gen = row(h.generationMask.data);
    expect(new Set(rt)).toEqual(new Set([rows[b]])); // task id per token = the row's task
    const n = att.reduce((a, c) => a + c, 0);
    expect(att).toEqual([...new Array(n).fill(1), ...new Array(L - n).fill(0)]);
    for (let i = n; i < L; i++) { expect(rid[i]).toBe(tok.padId); expect(rl[i]).toBe(-100); }
    expect(cond.reduce((a, c) => a + c, 0)).toBe(COND);
    const generation = rows[b] !== 0;
    expect(gen.reduce((a, c) => a + c, 0)).toBe(generation ? GEN : 0);
    if (generation) {
      expect(rl.every((l) => l === -100)).toBe(true);
      expect(data.int32Of(h.targetRows)[g++]).toBe(b);
    } else {
      // labelled = exactly the tokens after each "assistant\n" up to and including <|im_end|>
      const want = new Array(L).fill(-100);
      for (let i = 0; i < n; i++) {
        if (rid[i] === assistant && tok.idToToken(rid[i + 1]) === '\n') {
          for (let j = i + 2; j < n; j++) { want[j] = rid[j]; if (rid[j] === imEnd) break; }
        }
      }
      expect(rl).toEqual(want);
      expect(rl.some((l) => l !== -100)).toBe(true);
    }
  }
  expect(g).toBe(h.targetImages === null ? 0 : h.targetImages.shape[0]);
}

describe('batches', () => {
  test('interleave: one task per batch, layout and shapes', async () => {
    const b = new data.TaskBatcher(source, tok, { ...opts, mode: 'interleave' });
    const tasks: string[] = [];
    for (let i = 0; i < 8; i++) {
      const h = await b.hostBatch(i);
      tasks.push(h.task);
      expect(h.inputIds.shape[0]).toBe(8);
      expect(h.conditionImages.shape).toEqual([8, 3, 32, 32]);
      if (h.task === 'understanding') expect(h.targetImages).toBeNull();
      else expect(h.targetImages!.shape).toEqual([8, 3, 48, 48]);
      checkLayout(h);
    }
    expect(tasks).toEqual(['understanding', 'reconstruction', 'depth', 'segmentation', 'understanding', 'reconstruction', 'depth', 'segmentation']);
  });

  test('mixed: all tasks in one batch, task ids per token in row order, targets for generation rows', async () => {
    const b = new data.TaskBatcher(source, tok, { ...opts, mode: 'mixed', padMultiple: 16 });
    for (let i = 0; i < 3; i++) {
      const h = await b.hostBatch(i);
      expect(h.task).toBe('mixed');
      expect(Array.from(data.int32Of(h.rowTasks))).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
      expect(h.inputIds.shape[1] % 16).toBe(0);
      expect(h.targetImages!.shape).toEqual([6, 3, 48, 48]);
      expect(Array.from(data.int32Of(h.targetRows))).toEqual([2, 3, 4, 5, 6, 7]);
      checkLayout(h);
    }
  });

  test('targets are the record\'s image, depth target and boundary map, stretched and in [-1, 1]', async () => {
    const b = new data.TaskBatcher(source, tok, { ...opts, mode: 'mixed' });
    const h = await b.hostBatch(0);
    const T = 3 * 48 * 48;
    const rows = data.int32Of(h.rowTasks);
    const plan = b.schedule.plan(0);
    for (let g = 0; g < 6; g++) {
      const row = data.int32Of(h.targetRows)[g];
      const task = data.TASKS[rows[row]];
      const rec = source.get(b.recordIndex(task, plan.positions[row])) as data.DataRecord;
      expect(h.ids[row]).toBe(rec.id);
      const src = task === 'reconstruction' ? rec.image : task === 'depth' ? rec.depth! : rec.segmentation!;
      const want = data.generationImage(src, { size: 48 });
      const got = h.targetImages!.data.subarray(g * T, (g + 1) * T);
      expect(Array.from(got)).toEqual(Array.from(want.data));
      expect(got.every((v) => v >= -1 && v <= 1)).toBe(true);
      // thin white edges on black: black stays -1, edges stay bright after the (antialiased) shrink
      if (task === 'segmentation') expect(got.some((v) => v > 0) && got.some((v) => v === -1)).toBe(true);
    }
    // condition images: understanding rows padded (square already: equal to a plain resize here),
    // normalised to [-1, 1] (siglip default)
    expect(h.conditionImages.data.every((v) => v >= -1 - 1e-6 && v <= 1 + 1e-6)).toBe(true);
  });

  test('deterministic by seed; another seed reorders records', async () => {
    const a = await new data.TaskBatcher(source, tok, { ...opts, mode: 'mixed' }).hostBatch(2);
    const b = await new data.TaskBatcher(source, tok, { ...opts, mode: 'mixed' }).hostBatch(2);
    expect(a).toEqual(b);
    const c = await new data.TaskBatcher(source, tok, { ...opts, mode: 'mixed', seed: 4 }).hostBatch(2);
    expect(c.ids).not.toEqual(a.ids);
    const inOrder = new data.TaskBatcher(source, tok, { ...opts, mode: 'interleave', shuffle: false });
    expect((await inOrder.hostBatch(0)).ids).toEqual(Array.from({ length: 8 }, (_, i) => `scenes/train/${i}`));
  });

  test('records without a target are passed over; a task no record serves is a clear error', async () => {
    const recs: data.DataRecord[] = Array.from({ length: 6 }, (_, i) => {
      const r = source.get(i) as data.DataRecord;
      return i % 2 === 0 ? { ...r, depth: undefined } : r;
    });
    const partial: data.RecordSource = { length: 6, get: (i) => (i === 5 ? null : recs[i]) };
    const b = new data.TaskBatcher(partial, tok, { ...opts, batchSize: 4, mode: 'interleave', ratios: { depth: 1 } });
    const h = await b.hostBatch(0);
    expect(h.ids.every((id) => id === recs[1].id || id === recs[3].id)).toBe(true);
    expect(b.skipped.depth).toBeGreaterThan(0);
    const none: data.RecordSource = { length: 3, get: (i) => ({ ...recs[i], segmentation: undefined }) };
    await expect(new data.TaskBatcher(none, tok, { ...opts, ratios: { segmentation: 1 } }).hostBatch(0)).rejects.toThrow(/none has a segmentation target; set its ratio to 0/);
  });

  test('maxLength truncates understanding rows; a limit that cuts an image is an error', async () => {
    const b = new data.TaskBatcher(source, tok, { ...opts, mode: 'interleave', maxLength: 40 });
    const h = await b.hostBatch(0);
    expect(h.inputIds.shape[1]).toBe(40);
    const tight = new data.TaskBatcher(source, tok, { ...opts, mode: 'interleave', maxLength: 3 });
    await expect(tight.hostBatch(0)).rejects.toThrow(/maxLength is 3/);
  });

  test('maxTurns keeps a seeded subset of turns, image tag first', async () => {
    const b = new data.TaskBatcher(source, tok, { ...opts, mode: 'interleave', ratios: { understanding: 1 }, maxTurns: 2 });
    const h = await b.hostBatch(0);
    const L = h.inputIds.shape[1];
    const first = tok.decode(Array.from(data.int32Of(h.inputIds)).slice(0, L), { skipSpecial: false });
    expect(first.startsWith('<|im_start|>user\n<image><image><image><image>\n')).toBe(true);
    expect(first.split('<|im_start|>assistant').length - 1).toBe(2);
  });
});

describe('tensors', () => {
  test('toTensors keeps values, shapes and dtypes; disposeBatch frees them', async () => {
    const h = await new data.TaskBatcher(source, tok, { ...opts, mode: 'mixed' }).hostBatch(0);
    const before = torch.memory().tensors;
    const t = data.toTensors(h);
    expect(t.inputIds.dtype).toBe('int64');
    expect(t.labels.dtype).toBe('int64');
    expect(t.taskIds.dtype).toBe('int64');
    expect(t.attentionMask.dtype).toBe('bool');
    expect(t.conditionImages.dtype).toBe('float32');
    expect(t.inputIds.shape).toEqual(h.inputIds.shape);
    expect(t.targetImages!.shape).toEqual(h.targetImages!.shape);
    expect(Array.from(t.labels.toArray() as BigInt64Array)).toEqual(Array.from(h.labels.data));
    expect(Array.from(t.taskIds.toArray() as BigInt64Array)).toEqual(Array.from(h.taskIds.data));
    expect(torch.tidy(() => t.generationMask.sum().item())).toBe(6 * GEN);
    data.disposeBatch(t);
    expect(torch.memory().tensors).toBe(before);
  });

  test('the task-id layout feeds the fused multitask loss: its per-task token counts match the labels', async () => {
    const { losses } = await import('../../lib');
    const h = await new data.TaskBatcher(source, tok, { ...opts, mode: 'mixed' }).hostBatch(1);
    const t = data.toTensors(h);
    const [B, L] = h.inputIds.shape;
    const logits = torch.randn([B, L, tok.vocabSize]);
    const out = losses.multitaskCrossEntropy(logits, t.labels, t.taskIds, { numTasks: 4 });
    const counts = [0, 0, 0, 0];
    const labels = data.int32Of(h.labels), tids = data.int32Of(h.taskIds);
    labels.forEach((l, i) => { if (l !== -100) counts[tids[i]]++; });
    expect(Array.from(out.taskTokens.toArray() as BigInt64Array, Number)).toEqual(counts);
    expect(counts[0]).toBeGreaterThan(0);
    torch.dispose([t, logits, out]);
  });
});
