// Generation targets: depth → [-1, 1] near bright (3 channels), boundary maps from instance ids
// and from overlapping masks, against hand-worked examples and float64 formulas.
import { data } from '../../lib';

const f32 = (shape: number[], values: number[]) => data.ndarray('float32', shape, Float32Array.from(values));

describe('depthTarget', () => {
  test('inverse depth (default): min-max of 1/d to [-1, 1], near = +1, 3 equal channels', () => {
    const d = [1, 2, 4, 8, 3, 5];
    const t = data.depthTarget(f32([2, 3], d));
    expect(t.shape).toEqual([3, 2, 3]);
    const inv = d.map((x) => 1 / x);
    const lo = Math.min(...inv), hi = Math.max(...inv);
    for (let i = 0; i < 6; i++) {
      const want = (2 * (inv[i] - lo)) / (hi - lo) - 1;
      for (let c = 0; c < 3; c++) expect(t.data[c * 6 + i]).toBeCloseTo(want, 6);
    }
    expect(t.data[0]).toBe(1); // nearest
    expect(t.data[3]).toBe(-1); // farthest
  });

  test('linear space and disparity maps', () => {
    const lin = data.depthTarget(f32([1, 3], [2, 4, 6]), { space: 'linear' });
    expect(Array.from(lin.data.subarray(0, 3))).toEqual([1, 0, -1]);
    const disp = data.depthTarget(f32([1, 3], [10, 20, 30]), { kind: 'disparity' });
    expect(Array.from(disp.data.subarray(0, 3))).toEqual([-1, 0, 1]);
    const u8 = data.depthTarget(data.ndarray('uint8', [1, 1, 2], Uint8Array.from([0, 255])), { kind: 'disparity' });
    expect(Array.from(u8.data)).toEqual([-1, 1, -1, 1, -1, 1]);
  });

  test('a constant map gives 0; infinite depth is disparity 0, invalid depths are -1', () => {
    expect(Array.from(data.depthTarget(f32([2, 2], [3, 3, 3, 3])).data)).toEqual(new Array(12).fill(0));
    // 1/d over [1, inf, -, 2] = [1, 0, -, 0.5]: min-max over the valid ones; 0 and NaN give -1
    const t = data.depthTarget(f32([1, 5], [1, Infinity, 0, 2, NaN]));
    expect(Array.from(t.data.subarray(0, 5))).toEqual([1, -1, -1, 0, -1]);
  });

  test('on a scene, the target is +1 exactly where the depth is smallest and -1 where largest', () => {
    const s = data.scenes.scene(11, { size: 64 });
    const t = data.depthTarget(s.depth);
    const d = s.depth.data;
    let iMin = 0, iMax = 0;
    for (let i = 0; i < d.length; i++) { if (d[i] < d[iMin]) iMin = i; if (d[i] > d[iMax]) iMax = i; }
    expect(t.data[iMin]).toBe(1);
    expect(t.data[iMax]).toBe(-1);
    // monotone: nearer never darker
    for (let k = 0; k < 200; k++) {
      const i = (k * 7919) % d.length, j = (k * 104729 + 13) % d.length;
      if (d[i] < d[j]) expect(t.data[i]).toBeGreaterThanOrEqual(t.data[j]);
    }
  });

  test('bad input is refused', () => {
    expect(() => data.depthTarget(f32([2, 2, 2], new Array(8).fill(1)))).toThrow(/\[H, W\]/);
    expect(() => data.depthTarget(f32([1, 1], [1]), { space: 'log' as never })).toThrow(/space/);
  });

  test('targetToImage maps [-1, 1] to 0..255', () => {
    const img = data.targetToImage(f32([1, 1, 4], [-1, 0, 1, 2]));
    expect(Array.from(img.data)).toEqual([0, 128, 255, 255]);
  });
});

describe('boundaries', () => {
  const ids = (rows: number[][]) => data.ndarray('int32', [rows.length, rows[0].length], Int32Array.from(rows.flat()));

  test('inner edges of each instance, 8-neighbourhood, none on the background or the frame', () => {
    const m = ids([
      [0, 0, 0, 0, 0, 0],
      [0, 1, 1, 1, 0, 0],
      [0, 1, 1, 1, 0, 0],
      [0, 1, 1, 1, 2, 2],
      [0, 0, 0, 0, 2, 2],
    ]);
    const b = data.boundaries(m);
    const want = [
      [0, 0, 0, 0, 0, 0],
      [0, 1, 1, 1, 0, 0],
      [0, 1, 0, 1, 0, 0],
      [0, 1, 1, 1, 1, 1],
      [0, 0, 0, 0, 1, 0], // (4,5): all its in-image neighbours are instance 2
    ].flat().map((v) => v * 255);
    expect(Array.from(b.data)).toEqual(want);
    // An instance filling the whole image has no edge: the frame is not an edge.
    expect(Array.from(data.boundaries(ids([[3, 3], [3, 3]])).data)).toEqual([0, 0, 0, 0]);
    // int64 instance maps (as the scenes give) work the same
    const as64 = data.int64FromInt32(m.data as Int32Array, m.shape);
    expect(Array.from(data.boundaries(as64).data)).toEqual(want);
  });

  test('overlapping binary masks: the union of each mask\'s edges', () => {
    const mk = (rows: number[][]) => data.ndarray('uint8', [rows.length, rows[0].length], Uint8Array.from(rows.flat()));
    const a = mk([[1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]]);
    const b = mk([[0, 0, 0, 0], [0, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1]]);
    const u = data.boundariesFromMasks([a, b], 4, 4);
    // a's edges: (0,2) (1,2) (2,0) (2,1) (2,2); b's: (1,1) (1,2) (1,3) (2,1) (3,1) — b's
    // pixels on the right and bottom frame are no edge, (1,1) is one of b's though inside a.
    const want = [
      [0, 0, 1, 0],
      [0, 1, 1, 1],
      [1, 1, 1, 0],
      [0, 1, 0, 0],
    ].flat().map((v) => v * 255);
    expect(Array.from(u.data)).toEqual(want);
    expect(() => data.boundariesFromMasks([a], 5, 4)).toThrow(/expected 5x4/);
  });

  test('non-overlapping masks give the same map as the id map', () => {
    const s = data.scenes.scene(5, { size: 64 });
    const idv = data.int32Of(s.instances);
    const masks = s.objects.map((o) => data.ndarray('uint8', [64, 64], Uint8Array.from(idv, (v) => (v === o.id ? 1 : 0))));
    expect(Array.from(data.boundariesFromMasks(masks, 64, 64).data)).toEqual(Array.from(s.boundaries.data));
  });
});
