// PNG outputs of an evaluation: the sample grid (per sample, one row: input | true depth |
// generated depth | true boundaries | generated boundaries | reconstruction) and the PNG
// encoder shared with the plots (sharp, through the data layer's image-io).
import { encodeImage, writeImage } from '../../data/image-io';
import type { ImageU8 } from '../../data/ndarray';
import { resize } from '../../data/resize';
import { asRgb, targetToImage } from '../../data/targets';
import type { EvalImage } from './image-metrics';
import { BLACK, Canvas, fitText, GLYPH_H, type RGB, textWidth, WHITE } from './raster';

/** The columns of a sample grid, in order, and their titles in the header. */
export const GRID_COLUMNS = ['input', 'trueDepth', 'generatedDepth', 'trueBoundaries', 'generatedBoundaries', 'reconstruction'] as const;
export const GRID_TITLES = ['input', 'true depth', 'gen depth', 'true edges', 'gen edges', 'recon'] as const;
const BLANK: RGB = [235, 235, 235];

/**
 * One sample. Each image is uint8 (0..255) or float32 in [-1, 1] (the model's scale; clamped),
 * [3, H, W], [1, H, W] or [H, W] (grey is repeated to RGB). A missing or null image leaves its
 * cell blank (e.g. the generated maps of an understanding-only run).
 */
export type SampleRow = { [K in (typeof GRID_COLUMNS)[number]]?: EvalImage | null };

export interface SampleGridOptions {
  /** Side of every (square) cell in pixels; default the largest side among the images. */
  cellSize?: number;
  /** Pixels between cells and around the grid (default 4). */
  gap?: number;
  background?: RGB;
  /** Fill of a blank cell (a missing image), default light grey. */
  blank?: RGB;
  /** Draw the column titles above the first row (default true). */
  header?: boolean;
}

/** An image as uint8 RGB [3, H, W]. */
export function toRgbU8(img: EvalImage): ImageU8 {
  const shaped = img.shape.length === 2 ? { ...img, shape: [1, ...img.shape] } as EvalImage : img;
  if (shaped.shape.length !== 3) throw new RangeError(`expected an [H, W] or [C, H, W] image, got shape [${img.shape}]`);
  if (shaped.dtype === 'float32') return asRgb(targetToImage(shaped));
  if (shaped.dtype === 'uint8') return asRgb(shaped);
  throw new TypeError(`expected uint8 or float32 in [-1, 1], got ${(img as { dtype: string }).dtype}`);
}

/** Composes the rows into one RGB image (see SampleRow); cells are stretched to squares. */
export function sampleGrid(rows: readonly SampleRow[], opts: SampleGridOptions = {}): ImageU8 {
  if (rows.length === 0) throw new RangeError('sampleGrid: no rows');
  const gap = opts.gap ?? 4;
  const background = opts.background ?? WHITE;
  const images = rows.map((r) => GRID_COLUMNS.map((k) => (r[k] == null ? null : toRgbU8(r[k]!))));
  const largest = Math.max(1, ...images.flat().map((im) => (im === null ? 0 : Math.max(im.shape[1], im.shape[2]))));
  const cell = opts.cellSize ?? largest;
  if (!Number.isInteger(cell) || cell < 1) throw new RangeError(`sampleGrid: cellSize must be a positive integer, got ${cell}`);
  if (!Number.isInteger(gap) || gap < 0) throw new RangeError(`sampleGrid: gap must be an integer >= 0, got ${gap}`);
  const header = (opts.header ?? true) ? GLYPH_H + gap : 0;
  const cols = GRID_COLUMNS.length;
  const canvas = new Canvas(gap + cols * (cell + gap), gap + header + rows.length * (cell + gap), background);
  if (header > 0) {
    GRID_TITLES.forEach((t, j) => {
      const s = fitText(t, cell);
      canvas.text(gap + j * (cell + gap) + Math.floor((cell - textWidth(s)) / 2), gap, s, BLACK);
    });
  }
  images.forEach((row, i) => row.forEach((im, j) => {
    const x = gap + j * (cell + gap), y = gap + header + i * (cell + gap);
    if (im === null) { canvas.fillRect(x, y, cell, cell, opts.blank ?? BLANK); return; }
    const [, h, w] = im.shape;
    const up = h <= cell && w <= cell;
    const f = h === cell && w === cell ? im : resize(im, cell, cell, { filter: up ? 'nearest' : 'bilinear' });
    const u8 = f.dtype === 'uint8' ? (f as ImageU8) : { dtype: 'uint8' as const, shape: f.shape, data: Uint8Array.from(f.data, (v) => Math.round(v)) };
    canvas.blit(u8, x, y);
  }));
  return canvas.toImage();
}

/** PNG bytes of a planar uint8 image [C, H, W] (C = 1 or 3). */
export function encodePng(img: ImageU8): Promise<Buffer> {
  return encodeImage(img, 'png');
}

/** Writes a PNG file (folders are created). */
export async function writePng(file: string, img: ImageU8): Promise<void> {
  if (!file.toLowerCase().endsWith('.png')) throw new RangeError(`writePng: '${file}' does not end in .png`);
  await writeImage(file, img);
}

/** `sampleGrid` written to a PNG file. */
export function writeSampleGrid(file: string, rows: readonly SampleRow[], opts: SampleGridOptions = {}): Promise<void> {
  return writePng(file, sampleGrid(rows, opts));
}
