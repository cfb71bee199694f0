// Independent checks of scene items, computed from the item's own arrays (image, depth,
// instances) and its object list, never from the generator's internals.
import { data } from '../../lib';

type SceneItem = data.scenes.SceneItem;

export function ids32(item: SceneItem): Int32Array {
  return data.int32Of(item.instances);
}

export interface PixelStats {
  count: number;
  minDepth: number;
  maxDepth: number;
  centroid: [number, number]; // image fractions
  meanRgb: [number, number, number];
}

export function pixelStats(item: SceneItem): Map<number, PixelStats> {
  const [, h, w] = item.image.shape;
  const n = h * w;
  const ids = ids32(item);
  const acc = new Map<number, { c: number; lo: number; hi: number; sx: number; sy: number; r: number; g: number; b: number }>();
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const k = ids[p];
      if (k === 0) continue;
      let a = acc.get(k);
      if (!a) { a = { c: 0, lo: Infinity, hi: -Infinity, sx: 0, sy: 0, r: 0, g: 0, b: 0 }; acc.set(k, a); }
      const d = item.depth.data[p];
      a.c++; a.lo = Math.min(a.lo, d); a.hi = Math.max(a.hi, d);
      a.sx += x + 0.5; a.sy += y + 0.5;
      a.r += item.image.data[p]; a.g += item.image.data[n + p]; a.b += item.image.data[2 * n + p];
    }
  }
  const out = new Map<number, PixelStats>();
  for (const [k, a] of acc) {
    out.set(k, { count: a.c, minDepth: a.lo, maxDepth: a.hi, centroid: [a.sx / a.c / w, a.sy / a.c / h], meanRgb: [a.r / a.c, a.g / a.c, a.b / a.c] });
  }
  return out;
}

/** The palette colour whose direction is closest (cosine) to an RGB mean: shading only scales. */
export function nearestColor(rgb: [number, number, number]): string {
  let best = '';
  let bestCos = -Infinity;
  for (const c of data.scenes.COLORS) {
    const p = data.scenes.RGB[c];
    const cos = (rgb[0] * p[0] + rgb[1] * p[1] + rgb[2] * p[2]) / (Math.hypot(...rgb) * Math.hypot(...p));
    if (cos > bestCos) { bestCos = cos; best = c; }
  }
  return best;
}

/** Naive boundary map: instance pixels with an in-image 8-neighbour of another id. */
export function naiveBoundaries(ids: Int32Array, h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const k = ids[y * w + x];
      if (k === 0) continue;
      const neighbours: number[] = [];
      for (const [dy, dx] of [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1], [1, -1], [1, 0], [1, 1]]) {
        const yy = y + dy, xx = x + dx;
        if (yy >= 0 && yy < h && xx >= 0 && xx < w) neighbours.push(ids[yy * w + xx]);
      }
      if (neighbours.some((q) => q !== k)) out[y * w + x] = 255;
    }
  }
  return out;
}

/** Is object k bordered (4-neighbours) by a pixel of another object that is nearer the camera? */
export function borderedByNearer(item: SceneItem, k: number): boolean {
  const [, h, w] = item.image.shape;
  const ids = ids32(item);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      if (ids[p] !== k) continue;
      for (const [dy, dx] of [[-1, 0], [1, 0], [0, -1], [0, 1]]) {
        const yy = y + dy, xx = x + dx;
        if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
        const q = yy * w + xx;
        if (ids[q] !== 0 && ids[q] !== k && item.depth.data[q] < item.depth.data[p]) return true;
      }
    }
  }
  return false;
}

/** The object named "<color> <shape>" in the item. */
export function objectNamed(item: SceneItem, name: string): data.scenes.SceneObjectInfo | undefined {
  return item.objects.find((o) => `${o.color} ${o.shape}` === name);
}

const NAME = `(${data.scenes.COLORS.join('|')}) (${data.scenes.SHAPES.join('|')})`;
export const NAME_RE = new RegExp(NAME, 'g');

/** The "<color> <shape>" names a question mentions, in order. */
export function namesIn(question: string): string[] {
  return [...question.matchAll(NAME_RE)].map((m) => m[0]);
}
