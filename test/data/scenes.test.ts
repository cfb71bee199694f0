// The embedded scenes: determinism, the contract of an item, and every answer checked against
// the item's own depth map, instance masks and pixels (independent recomputation).
import { data } from '../../lib';
import { borderedByNearer, ids32, naiveBoundaries, namesIn, nearestColor, objectNamed, pixelStats } from './scene-checks';

const { scenes } = data;
const SIZES = [64, 96, 128, 200, 256];
const train = Array.from({ length: 60 }, (_, i) => scenes.scene(i, { size: SIZES[i % SIZES.length] }));
const comp = [...scenes.generate({ split: 'compositional', count: 20, size: 128 })];
const all = [...train, ...comp];

describe('determinism and contract', () => {
  test('the same seed gives the same scene, byte for byte', () => {
    for (const seed of [0, 7, 123456]) {
      const a = scenes.scene(seed, { size: 96 });
      const b = scenes.scene(seed, { size: 96 });
      expect(Buffer.from(a.image.data).equals(Buffer.from(b.image.data))).toBe(true);
      expect(Buffer.from(a.depth.data.buffer).equals(Buffer.from(b.depth.data.buffer))).toBe(true);
      expect(Buffer.from(a.instances.data.buffer).equals(Buffer.from(b.instances.data.buffer))).toBe(true);
      expect(a.qa).toEqual(b.qa);
      expect(a.objects).toEqual(b.objects);
    }
  });

  test('different seeds give different scenes', () => {
    const imgs = train.slice(0, 10).filter((s) => s.image.shape[1] === 64).map((s) => Buffer.from(s.image.data).toString('base64'));
    expect(new Set(imgs).size).toBe(imgs.length);
    const a = scenes.scene(1, { size: 64 }), b = scenes.scene(2, { size: 64 });
    expect(Buffer.from(a.image.data).equals(Buffer.from(b.image.data))).toBe(false);
  });

  test('generate() yields scene(seed + i); the scene and its questions do not depend on the size', () => {
    const got = [...scenes.generate({ seed: 40, count: 3, size: 64 })];
    expect(got.map((s) => s.seed)).toEqual([40, 41, 42]);
    expect(got[1].image.data).toEqual(scenes.scene(41, { size: 64 }).image.data);
    const big = scenes.scene(41, { size: 256 });
    expect(big.qa).toEqual(got[1].qa);
    expect(big.objects).toEqual(got[1].objects);
  });

  test('item arrays have the contract dtypes and shapes', () => {
    for (const s of [train[0], train[3], comp[0]]) {
      const S = s.image.shape[1];
      expect(s.image).toMatchObject({ dtype: 'uint8', shape: [3, S, S] });
      expect(s.image.data).toBeInstanceOf(Uint8Array);
      expect(s.depth).toMatchObject({ dtype: 'float32', shape: [S, S] });
      expect(s.depth.data).toBeInstanceOf(Float32Array);
      expect(s.instances).toMatchObject({ dtype: 'int64', shape: [S, S] });
      expect(s.instances.data).toBeInstanceOf(BigInt64Array);
      expect(s.boundaries).toMatchObject({ dtype: 'uint8', shape: [S, S] });
      expect(s.depth.data.every((d) => Number.isFinite(d) && d > 0)).toBe(true);
    }
  });

  test('2 to 8 objects, each visible in the masks, with ids 1..n', () => {
    const counts = new Set<number>();
    for (const s of all) {
      const n = s.objects.length;
      counts.add(n);
      expect(n).toBeGreaterThanOrEqual(2);
      expect(n).toBeLessThanOrEqual(8);
      expect(s.objects.map((o) => o.id)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      const stats = pixelStats(s);
      expect([...stats.keys()].sort((a, b) => a - b)).toEqual(s.objects.map((o) => o.id));
      // colour–shape pairs are unique, so every description names one object
      expect(new Set(s.objects.map((o) => `${o.color} ${o.shape}`)).size).toBe(n);
    }
    expect(Math.min(...counts)).toBeLessThanOrEqual(3);
    expect(Math.max(...counts)).toBeGreaterThanOrEqual(6);
  });

  test('object pixels are shaded versions of the object colour; the renderer shows every shape and colour', () => {
    const shapes = new Set<string>(), colors = new Set<string>();
    for (const s of all) {
      const [, h, w] = s.image.shape;
      const n = h * w;
      const ids = ids32(s);
      for (const o of s.objects) {
        shapes.add(o.shape); colors.add(o.color);
        const rgb = data.scenes.RGB[o.color];
        const ref = rgb.indexOf(Math.max(...rgb));
        let kMin = Infinity, kMax = -Infinity, worst = 0;
        for (let p = 0; p < n; p++) {
          if (ids[p] !== o.id) continue;
          const k = s.image.data[ref * n + p] / rgb[ref]; // the shading factor
          kMin = Math.min(kMin, k); kMax = Math.max(kMax, k);
          for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(s.image.data[c * n + p] - rgb[c] * k));
        }
        expect(kMin).toBeGreaterThan(0.3);
        expect(kMax).toBeLessThanOrEqual(1);
        expect(worst).toBeLessThanOrEqual(1.01);
      }
    }
    expect(shapes.size).toBe(4);
    expect(colors.size).toBe(8);
  });

  test('the boundary map equals the mask edges, recomputed naively', () => {
    for (const s of all) {
      const [, h, w] = s.image.shape;
      const want = naiveBoundaries(ids32(s), h, w);
      expect(Buffer.from(s.boundaries.data).equals(Buffer.from(want))).toBe(true);
      expect(s.boundaries.data.some((v) => v === 255)).toBe(true);
    }
  });

  test('bad sizes, seeds and splits are refused with a clear message', () => {
    expect(() => scenes.scene(0, { size: 32 })).toThrow(/64 to 512/);
    expect(() => scenes.scene(0, { size: 100.5 })).toThrow(/integer/);
    expect(() => scenes.scene(-1)).toThrow(/non-negative/);
    expect(() => scenes.scene(2_000_000_000)).toThrow(/beyond every split/);
    expect(() => [...scenes.generate({ split: 'val', seed: 999_999, count: 5 })]).toThrow(/past the end of the val split/);
    expect(() => [...scenes.generate({ split: 'nope' as never, count: 1 })]).toThrow(/unknown split/);
  });
});

describe('answers agree with the rendered scene', () => {
  const byCategory = (c: string) => all.flatMap((s) => s.qa.filter((q) => q.category === c).map((q) => ({ s, q })));

  test('every category is asked, answers are one word or a number', () => {
    for (const c of scenes.QA_CATEGORIES) expect(byCategory(c).length).toBeGreaterThan(10);
    for (const s of all) for (const q of s.qa) expect(q.answer).toMatch(/^[a-z]+$|^\d+$/);
  });

  test('depth order: the nearer object is nearer at every visible pixel', () => {
    let checked = 0;
    for (const { s, q } of byCategory('depth')) {
      const [x, y] = namesIn(q.question).map((nm) => objectNamed(s, nm)!);
      const st = pixelStats(s);
      const dx = st.get(x.id)!, dy = st.get(y.id)!;
      const xNear = dx.maxDepth < dy.minDepth;
      const yNear = dy.maxDepth < dx.minDepth;
      expect(xNear || yNear).toBe(true); // only unambiguous pairs are asked
      const near = xNear ? x : y, far = xNear ? y : x;
      const word = (a: typeof x, b: typeof x) => (a.shape !== b.shape ? a.shape : a.color);
      if (q.question.startsWith('Which is closer')) expect(q.answer).toBe(word(near, far));
      else if (q.question.startsWith('Which is farther')) expect(q.answer).toBe(word(far, near));
      else expect(q.answer).toBe(xNear ? 'yes' : 'no');
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
  });

  test('depth is the Euclidean distance to the camera: ground pixels match the ray–plane formula', () => {
    for (const s of all.slice(0, 20)) {
      const S = s.image.shape[1];
      const { height, pitch, fov } = s.camera;
      const tan = Math.tan(fov / 2);
      const ids = ids32(s);
      let worst = 0;
      for (let row = 0; row < S; row++) {
        for (let col = 0; col < S; col++) {
          if (ids[row * S + col] !== 0) continue;
          // camera-frame ray (xs, ys, 1); its world y component, and the distance to y = 0
          const xs = (((col + 0.5) / S) * 2 - 1) * tan, ys = (1 - ((row + 0.5) / S) * 2) * tan;
          const dy = -Math.sin(pitch) + ys * Math.cos(pitch);
          const want = (height * Math.hypot(xs, ys, 1)) / -dy;
          worst = Math.max(worst, Math.abs(s.depth.data[row * S + col] - want) / want);
        }
      }
      expect(worst).toBeLessThan(1e-6);
    }
  });

  test('object pixels lie within the object\'s bounding sphere around its centre distance', () => {
    for (const s of all) {
      const st = pixelStats(s);
      for (const o of s.objects) {
        const r = data.scenes.RADIUS[o.size] * (o.shape === 'cube' ? Math.sqrt(3) : o.shape === 'sphere' ? 1 : Math.SQRT2);
        expect(st.get(o.id)!.minDepth).toBeGreaterThanOrEqual(o.distance - r - 1e-4);
        expect(st.get(o.id)!.maxDepth).toBeLessThanOrEqual(o.distance + r + 1e-4);
        // the centre distance itself follows from the position: centre height r_size
        const cy = data.scenes.RADIUS[o.size];
        expect(o.distance).toBeCloseTo(Math.hypot(o.position[0], cy - s.camera.height, o.position[2]), 9);
      }
    }
  });

  test('counts equal the instance masks', () => {
    for (const { s, q } of byCategory('count')) {
      const present = [...pixelStats(s).keys()].map((id) => s.objects.find((o) => o.id === id)!);
      let want: number;
      const m = /How many (\w+)( objects)? are there\?/.exec(q.question)!;
      if (q.question === 'How many objects are there?') want = present.length;
      else if (m[2]) want = present.filter((o) => o.color === m[1]).length;
      else want = present.filter((o) => `${o.shape}s` === m[1]).length;
      expect(q.answer).toBe(String(want));
    }
  });

  test('left / right / above / below agree with the mask centroids', () => {
    for (const { s, q } of byCategory('relation')) {
      const [a, b] = namesIn(q.question).map((nm) => objectNamed(s, nm)!);
      const st = pixelStats(s);
      const ca = st.get(a.id)!.centroid, cb = st.get(b.id)!.centroid;
      let truth: boolean;
      if (q.question.includes('to the left of')) truth = ca[0] < cb[0];
      else if (q.question.includes('to the right of')) truth = ca[0] > cb[0];
      else if (q.question.includes(' above ')) truth = ca[1] < cb[1];
      else truth = ca[1] > cb[1];
      expect(q.answer).toBe(truth ? 'yes' : 'no');
    }
    const answers = byCategory('relation').map(({ q }) => q.answer);
    expect(Math.abs(answers.filter((a) => a === 'yes').length - answers.length / 2)).toBeLessThanOrEqual(answers.length * 0.15);
  });

  test('attributes: the named colour is what the pixels show', () => {
    for (const { s, q } of byCategory('attribute')) {
      const st = pixelStats(s);
      let m = /What color is the (\w+)\?/.exec(q.question);
      if (m) {
        const o = s.objects.filter((x) => x.shape === m![1]);
        expect(o).toHaveLength(1);
        expect(nearestColor(st.get(o[0].id)!.meanRgb)).toBe(q.answer);
        continue;
      }
      m = /What shape is the (\w+) object\?/.exec(q.question)!;
      const o = s.objects.filter((x) => x.color === m![1]);
      expect(o).toHaveLength(1);
      expect(nearestColor(st.get(o[0].id)!.meanRgb)).toBe(m[1]);
      expect(q.answer).toBe(o[0].shape);
    }
  });

  test('existence: yes exactly when such an object is in the masks; yes and no balanced per scene', () => {
    for (const s of all) {
      const qs = s.qa.filter((q) => q.category === 'existence');
      expect(qs.filter((q) => q.answer === 'yes').length).toBe(qs.filter((q) => q.answer === 'no').length);
      expect(qs.length).toBeGreaterThan(0);
      const present = new Set([...pixelStats(s).keys()].map((id) => s.objects.find((o) => o.id === id)!).map((o) => `${o.color} ${o.shape}`));
      for (const q of qs) {
        const [name] = namesIn(q.question);
        expect(q.answer).toBe(present.has(name) ? 'yes' : 'no');
      }
    }
  });

  test('occlusion: "yes" objects border a nearer object in the masks, "no" objects border none', () => {
    const qs = byCategory('occlusion');
    expect(qs.filter(({ q }) => q.answer === 'yes').length).toBe(qs.filter(({ q }) => q.answer === 'no').length);
    for (const { s, q } of qs) {
      const o = objectNamed(s, namesIn(q.question)[0])!;
      expect(borderedByNearer(s, o.id)).toBe(q.answer === 'yes');
    }
  });
});

describe('splits', () => {
  test('seed ranges are disjoint and name their split', () => {
    const r = scenes.SPLITS;
    const names = scenes.SPLIT_NAMES;
    for (let i = 0; i + 1 < names.length; i++) expect(r[names[i]][1]).toBe(r[names[i + 1]][0]);
    expect(scenes.splitOf(5)).toBe('train');
    expect(scenes.splitOf(r.val[0])).toBe('val');
    expect(scenes.splitOf(r.test[0] + 3)).toBe('test');
    expect(scenes.splitOf(r.compositional[1] - 1)).toBe('compositional');
    const v = [...scenes.generate({ split: 'val', seed: 2, count: 2, size: 64 })];
    expect(v.map((s) => [s.split, s.seed, s.id])).toEqual([['val', r.val[0] + 2, 'scenes/val/2'], ['val', r.val[0] + 3, 'scenes/val/3']]);
  });

  test('held-out colour–shape pairs never appear in training scenes, images or questions', () => {
    const held = new Set(scenes.HELD_OUT_PAIRS.map(([c, s]) => `${c} ${s}`));
    const testSplit = [...scenes.generate({ split: 'test', count: 10, size: 64 })];
    for (const s of [...train, ...testSplit]) {
      for (const o of s.objects) expect(held.has(`${o.color} ${o.shape}`)).toBe(false);
      for (const q of s.qa) {
        for (const nm of namesIn(q.question)) expect(held.has(nm)).toBe(false);
        expect(q.heldOut).toBe(false);
      }
    }
    // while each colour and each shape still appears in training
    const seen = train.flatMap((s) => s.objects);
    for (const c of scenes.COLORS) expect(seen.some((o) => o.color === c)).toBe(true);
    for (const sh of scenes.SHAPES) expect(seen.some((o) => o.shape === sh)).toBe(true);
  });

  test('every compositional scene holds a held-out pair, and questions name them', () => {
    let named = 0;
    for (const s of comp) {
      expect(s.split).toBe('compositional');
      expect(s.objects.some((o) => scenes.isHeldOut(o.color, o.shape))).toBe(true);
      named += s.qa.filter((q) => q.heldOut).length;
    }
    expect(named).toBeGreaterThan(comp.length * 3);
  });
});

describe('scene tokenizer', () => {
  test('every question, answer and prompt encodes without <unk>', () => {
    const tok = data.sceneTokenizer();
    const unk = tok.tokenToId('<unk>');
    const texts = [...all.flatMap((s) => s.qa.flatMap((q) => [q.question, q.answer])), ...Object.values(data.PROMPTS).flat(), data.GENERIC_PROMPT];
    for (const t of texts) expect(tok.encode(t)).not.toContain(unk);
  });
});
