// A tiny RGB raster for plots and sample grids: rectangles, lines, images and text in a built-in
// 5x7 bitmap font (upper-case letters, digits and common punctuation; lower case is drawn upper
// case, anything else as '?'). Pixels are planar [3, H, W] uint8, as the data layer's images.
import { ndarray, type ImageU8 } from '../../data/ndarray';

export type RGB = readonly [number, number, number];

export const WHITE: RGB = [255, 255, 255];
export const BLACK: RGB = [0, 0, 0];

/** Each glyph: 7 rows of 5 columns, '#' = ink. */
const GLYPHS: Record<string, string> = {
  '0': '.###.|#...#|#..##|#.#.#|##..#|#...#|.###.',
  '1': '..#..|.##..|..#..|..#..|..#..|..#..|.###.',
  '2': '.###.|#...#|....#|...#.|..#..|.#...|#####',
  '3': '#####|...#.|..#..|...#.|....#|#...#|.###.',
  '4': '...#.|..##.|.#.#.|#..#.|#####|...#.|...#.',
  '5': '#####|#....|####.|....#|....#|#...#|.###.',
  '6': '..##.|.#...|#....|####.|#...#|#...#|.###.',
  '7': '#####|....#|...#.|..#..|.#...|.#...|.#...',
  '8': '.###.|#...#|#...#|.###.|#...#|#...#|.###.',
  '9': '.###.|#...#|#...#|.####|....#|...#.|.##..',
  A: '.###.|#...#|#...#|#####|#...#|#...#|#...#',
  B: '####.|#...#|#...#|####.|#...#|#...#|####.',
  C: '.###.|#...#|#....|#....|#....|#...#|.###.',
  D: '###..|#..#.|#...#|#...#|#...#|#..#.|###..',
  E: '#####|#....|#....|####.|#....|#....|#####',
  F: '#####|#....|#....|####.|#....|#....|#....',
  G: '.###.|#...#|#....|#.###|#...#|#...#|.####',
  H: '#...#|#...#|#...#|#####|#...#|#...#|#...#',
  I: '.###.|..#..|..#..|..#..|..#..|..#..|.###.',
  J: '..###|...#.|...#.|...#.|...#.|#..#.|.##..',
  K: '#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#',
  L: '#....|#....|#....|#....|#....|#....|#####',
  M: '#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#',
  N: '#...#|#...#|##..#|#.#.#|#..##|#...#|#...#',
  O: '.###.|#...#|#...#|#...#|#...#|#...#|.###.',
  P: '####.|#...#|#...#|####.|#....|#....|#....',
  Q: '.###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#',
  R: '####.|#...#|#...#|####.|#.#..|#..#.|#...#',
  S: '.####|#....|#....|.###.|....#|....#|####.',
  T: '#####|..#..|..#..|..#..|..#..|..#..|..#..',
  U: '#...#|#...#|#...#|#...#|#...#|#...#|.###.',
  V: '#...#|#...#|#...#|#...#|#...#|.#.#.|..#..',
  W: '#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#.',
  X: '#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#',
  Y: '#...#|#...#|.#.#.|..#..|..#..|..#..|..#..',
  Z: '#####|....#|...#.|..#..|.#...|#....|#####',
  ' ': '.....|.....|.....|.....|.....|.....|.....',
  '.': '.....|.....|.....|.....|.....|.##..|.##..',
  ',': '.....|.....|.....|.....|.##..|..#..|.#...',
  '-': '.....|.....|.....|#####|.....|.....|.....',
  '+': '.....|..#..|..#..|#####|..#..|..#..|.....',
  '_': '.....|.....|.....|.....|.....|.....|#####',
  '/': '....#|....#|...#.|..#..|.#...|#....|#....',
  ':': '.....|.##..|.##..|.....|.##..|.##..|.....',
  '(': '...#.|..#..|.#...|.#...|.#...|..#..|...#.',
  ')': '.#...|..#..|...#.|...#.|...#.|..#..|.#...',
  '[': '.###.|.#...|.#...|.#...|.#...|.#...|.###.',
  ']': '.###.|...#.|...#.|...#.|...#.|...#.|.###.',
  '%': '##...|##..#|...#.|..#..|.#...|#..##|...##',
  '=': '.....|.....|#####|.....|#####|.....|.....',
  '<': '...#.|..#..|.#...|#....|.#...|..#..|...#.',
  '>': '.#...|..#..|...#.|....#|...#.|..#..|.#...',
  '|': '..#..|..#..|..#..|..#..|..#..|..#..|..#..',
  '#': '.#.#.|.#.#.|#####|.#.#.|#####|.#.#.|.#.#.',
  '*': '.....|..#..|#.#.#|.###.|#.#.#|..#..|.....',
  "'": '..#..|..#..|.#...|.....|.....|.....|.....',
  '±': '..#..|..#..|#####|..#..|..#..|.....|#####',
  '?': '.###.|#...#|....#|...#.|..#..|.....|..#..',
};
export const GLYPH_W = 5;
export const GLYPH_H = 7;
/** Horizontal advance per character (glyph plus one column of space), at scale 1. */
export const ADVANCE = GLYPH_W + 1;

/** The glyph of a character as 7 rows of 5 booleans (lower case drawn as upper case). */
export function glyph(ch: string): boolean[][] {
  const g = GLYPHS[ch] ?? GLYPHS[ch.toUpperCase()] ?? GLYPHS['?'];
  return g.split('|').map((row) => [...row].map((c) => c === '#'));
}

export class Canvas {
  readonly data: Uint8Array;

  constructor(readonly width: number, readonly height: number, background: RGB = WHITE) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`Canvas: size must be positive integers, got ${width}x${height}`);
    }
    this.data = new Uint8Array(3 * width * height);
    this.fillRect(0, 0, width, height, background);
  }

  set(x: number, y: number, c: RGB): void {
    x = Math.round(x); y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const n = this.width * this.height, p = y * this.width + x;
    this.data[p] = c[0]; this.data[n + p] = c[1]; this.data[2 * n + p] = c[2];
  }

  get(x: number, y: number): [number, number, number] {
    const n = this.width * this.height, p = y * this.width + x;
    return [this.data[p], this.data[n + p], this.data[2 * n + p]];
  }

  /** Fills [x, x + w) × [y, y + h), clipped to the canvas. */
  fillRect(x: number, y: number, w: number, h: number, c: RGB): void {
    const x0 = Math.max(0, Math.round(x)), y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w)), y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) this.set(xx, yy, c);
  }

  /** A line between pixel centres (Bresenham), `thickness` pixels wide (a square pen). */
  line(x0: number, y0: number, x1: number, y1: number, c: RGB, thickness = 1): void {
    x0 = Math.round(x0); y0 = Math.round(y0); x1 = Math.round(x1); y1 = Math.round(y1);
    const dx = Math.abs(x1 - x0), dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    const lo = -Math.floor((thickness - 1) / 2);
    let err = dx + dy;
    for (;;) {
      this.fillRect(x0 + lo, y0 + lo, thickness, thickness, c);
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) { err += dy; x0 += sx; }
      if (e2 <= dx) { err += dx; y0 += sy; }
    }
  }

  /** Text with its top-left corner at (x, y); each font pixel is `scale` × `scale`. */
  text(x: number, y: number, s: string, c: RGB, scale = 1): void {
    let cx = Math.round(x);
    for (const ch of s) {
      glyph(ch).forEach((row, gy) => row.forEach((ink, gx) => {
        if (ink) this.fillRect(cx + gx * scale, Math.round(y) + gy * scale, scale, scale, c);
      }));
      cx += ADVANCE * scale;
    }
  }

  /** Copies a planar uint8 RGB image [3, h, w] with its top-left corner at (x, y), clipped. */
  blit(img: ImageU8, x: number, y: number): void {
    const [c, h, w] = img.shape;
    if (img.shape.length !== 3 || c !== 3) throw new RangeError(`Canvas.blit: expected an RGB image [3, H, W], got [${img.shape}]`);
    const n = h * w;
    for (let yy = 0; yy < h; yy++) {
      for (let xx = 0; xx < w; xx++) {
        const p = yy * w + xx;
        this.set(x + xx, y + yy, [img.data[p], img.data[n + p], img.data[2 * n + p]]);
      }
    }
  }

  toImage(): ImageU8 {
    return ndarray('uint8', [3, this.height, this.width], this.data);
  }
}

/** Width in pixels of `s` drawn at `scale` (no trailing space column). */
export const textWidth = (s: string, scale = 1): number => ([...s].length * ADVANCE - 1) * scale;

/** The longest prefix of `s` (with '..' when cut) that fits in `width` pixels. */
export function fitText(s: string, width: number, scale = 1): string {
  if (textWidth(s, scale) <= width) return s;
  let t = [...s];
  while (t.length > 0 && textWidth(t.join('') + '..', scale) > width) t = t.slice(0, -1);
  return t.length > 0 ? t.join('') + '..' : '';
}
