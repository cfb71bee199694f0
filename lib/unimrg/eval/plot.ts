// Line plots (loss curves per task) and grouped bar charts (accuracy by category for two runs),
// rasterised here into RGB arrays, with axes, tick labels, a title and a legend drawn in the
// raster's bitmap font. Encode with `encodePng` / `writePng` (png.ts).
import type { ImageU8 } from '../../data/ndarray';
import { BLACK, Canvas, fitText, GLYPH_H, type RGB, textWidth, WHITE } from './raster';

/** tab10's first eight colours. */
export const PALETTE: readonly RGB[] = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40],
  [148, 103, 189], [140, 86, 75], [227, 119, 194], [127, 127, 127],
];
const GRID: RGB = [225, 225, 225];
const AXIS: RGB = [90, 90, 90];

/** About `count` round ticks (steps of 1, 2 or 5 × 10^k) spanning [lo, hi], widened to whole steps. */
export function niceTicks(lo: number, hi: number, count = 5): { lo: number; hi: number; step: number; ticks: number[] } {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError(`niceTicks: range must be finite, got [${lo}, ${hi}]`);
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) { const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1; lo -= pad; hi += pad; }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  // A little slack so that float error does not add a whole step.
  const ka = Math.floor(lo / step + 1e-9), kb = Math.ceil(hi / step - 1e-9);
  const at = (k: number) => Number((k * step).toPrecision(12)); // 5.6, not 5.6000000000000005
  const ticks: number[] = [];
  for (let k = ka; k <= kb; k++) ticks.push(at(k));
  return { lo: at(ka), hi: at(kb), step, ticks };
}

/** A tick value with as many decimals as its step needs: 0.25 → "0.25", 2000 → "2000". */
export function formatTick(v: number, step: number): string {
  if (Math.abs(v) < step * 1e-9) v = 0;
  if (step >= 1e5 || step < 1e-4) return v.toExponential(1).replace('e+', 'e');
  return v.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
}

interface Frame {
  canvas: Canvas;
  /** Plot area in pixels. */
  left: number; top: number; right: number; bottom: number;
  yLo: number; yHi: number;
  /** Data y → pixel row. */
  py: (y: number) => number;
}

/** A canvas with a title, a y axis with ticks and grid lines, and room below for x labels. */
function frame(width: number, height: number, title: string | undefined, yLo: number, yHi: number, yLabel?: string): Frame {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 120 || height < 80) {
    throw new RangeError(`plot size must be integers of at least 120x80, got ${width}x${height}`);
  }
  const canvas = new Canvas(width, height, WHITE);
  const t = niceTicks(yLo, yHi, 5);
  const labels = t.ticks.map((v) => formatTick(v, t.step));
  const left = 10 + Math.max(...labels.map((s) => textWidth(s))) + (yLabel ? GLYPH_H + 6 : 0);
  const top = title ? 2 * GLYPH_H + 8 : 10;
  const right = width - 12, bottom = height - (2 * GLYPH_H + 14);
  const py = (y: number) => bottom - ((y - t.lo) / (t.hi - t.lo)) * (bottom - top);
  if (title) canvas.text(Math.floor((width - textWidth(title, 2)) / 2), 4, fitText(title, width - 8, 2), BLACK, 2);
  t.ticks.forEach((v, i) => {
    const y = Math.round(py(v));
    canvas.line(left, y, right, y, GRID);
    canvas.line(left - 3, y, left, y, AXIS);
    canvas.text(left - 5 - textWidth(labels[i]), y - 3, labels[i], BLACK);
  });
  if (yLabel) verticalText(canvas, 3, Math.floor((top + bottom) / 2), yLabel);
  canvas.line(left, top, left, bottom, AXIS);
  canvas.line(left, bottom, right, bottom, AXIS);
  return { canvas, left, top, right, bottom, yLo: t.lo, yHi: t.hi, py };
}

/** Text turned 90° anticlockwise, centred vertically on `cy` (an axis title). */
function verticalText(canvas: Canvas, x: number, cy: number, s: string): void {
  const w = textWidth(s);
  const tmp = new Canvas(w, GLYPH_H, WHITE);
  tmp.text(0, 0, s, BLACK);
  for (let ty = 0; ty < GLYPH_H; ty++) {
    for (let tx = 0; tx < w; tx++) if (tmp.get(tx, ty)[0] === 0) canvas.set(x + ty, cy + Math.floor(w / 2) - tx, BLACK);
  }
}

/** A row of colour swatches and names centred under the x labels (clear of the bars). */
function legendBelow(f: Frame, entries: readonly { name: string; color: RGB }[]): void {
  const widths = entries.map((e) => 14 + textWidth(e.name));
  let x = Math.round((f.left + f.right - (widths.reduce((a, b) => a + b, 0) + 12 * (entries.length - 1))) / 2);
  const y = f.bottom + GLYPH_H + 10;
  entries.forEach((e, i) => {
    f.canvas.fillRect(x, y + 1, 10, GLYPH_H - 2, e.color);
    f.canvas.text(x + 14, y, e.name, BLACK);
    x += widths[i] + 12;
  });
}

/** A legend box in the top-right corner of the plot area: a colour swatch and a name per entry. */
function legend(f: Frame, entries: readonly { name: string; color: RGB }[]): void {
  if (entries.length === 0) return;
  const rowH = GLYPH_H + 5;
  const maxText = Math.floor((f.right - f.left) / 2);
  const names = entries.map((e) => fitText(e.name, maxText));
  const w = 22 + Math.max(...names.map((s) => textWidth(s)));
  const h = 6 + entries.length * rowH;
  const x = f.right - w - 6, y = f.top + 6;
  f.canvas.fillRect(x, y, w, h, WHITE);
  for (const [x0, y0, x1, y1] of [[x, y, x + w, y], [x, y + h, x + w, y + h], [x, y, x, y + h], [x + w, y, x + w, y + h]]) f.canvas.line(x0, y0, x1, y1, AXIS);
  entries.forEach((e, i) => {
    const ry = y + 5 + i * rowH;
    f.canvas.fillRect(x + 5, ry + 1, 10, GLYPH_H - 2, e.color);
    f.canvas.text(x + 19, ry, names[i], BLACK);
  });
}

export interface LineSeries {
  name: string;
  /** y values; NaN / infinite values are skipped (the line breaks there). */
  y: readonly number[];
  /** x values (default 0, 1, 2, ...), same length as y. */
  x?: readonly number[];
  color?: RGB;
}

export interface LinePlotOptions {
  series: readonly LineSeries[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Line thickness in pixels (default 2). */
  thickness?: number;
}

/** Several series as lines over shared axes (ranges widened to round ticks), with a legend. */
export function linePlot(opts: LinePlotOptions): ImageU8 {
  const { series } = opts;
  if (series.length === 0) throw new RangeError('linePlot: no series');
  const pts = series.map((s, i) => {
    const xs = s.x ?? s.y.map((_, k) => k);
    if (xs.length !== s.y.length) throw new RangeError(`linePlot: series '${s.name}' has ${xs.length} x values and ${s.y.length} y values`);
    return { s, color: s.color ?? PALETTE[i % PALETTE.length], xs };
  });
  const finite = (v: number) => Number.isFinite(v);
  const allX = pts.flatMap((p) => p.xs.filter((_, k) => finite(p.s.y[k]) && finite(p.xs[k])));
  const allY = pts.flatMap((p) => p.s.y.filter((v, k) => finite(v) && finite(p.xs[k])));
  if (allY.length === 0) throw new RangeError('linePlot: no finite points to draw');
  const f = frame(opts.width ?? 640, opts.height ?? 360, opts.title, Math.min(...allY), Math.max(...allY), opts.yLabel);
  const xt = niceTicks(Math.min(...allX), Math.max(...allX), 6);
  const px = (x: number) => f.left + ((x - xt.lo) / (xt.hi - xt.lo)) * (f.right - f.left);
  for (const v of xt.ticks) {
    const x = Math.round(px(v)), s = formatTick(v, xt.step);
    f.canvas.line(x, f.bottom, x, f.bottom + 3, AXIS);
    f.canvas.text(x - Math.floor(textWidth(s) / 2), f.bottom + 6, s, BLACK);
  }
  if (opts.xLabel) f.canvas.text(Math.floor((f.left + f.right - textWidth(opts.xLabel)) / 2), f.bottom + GLYPH_H + 10, fitText(opts.xLabel, f.right - f.left), BLACK);
  const thickness = opts.thickness ?? 2;
  for (const p of pts) {
    let prev: [number, number] | undefined;
    p.s.y.forEach((y, k) => {
      const x = p.xs[k];
      if (!finite(y) || !finite(x)) { prev = undefined; return; }
      const cur: [number, number] = [px(x), f.py(y)];
      if (prev) f.canvas.line(prev[0], prev[1], cur[0], cur[1], p.color, thickness);
      else f.canvas.fillRect(cur[0] - 1, cur[1] - 1, thickness, thickness, p.color);
      prev = cur;
    });
  }
  legend(f, pts.map((p) => ({ name: p.s.name, color: p.color })));
  return f.canvas.toImage();
}

export interface BarSeries {
  name: string;
  /** One value per group; NaN leaves that bar out. */
  values: readonly number[];
  color?: RGB;
}

export interface BarChartOptions {
  /** Group labels along the x axis (e.g. question categories). */
  groups: readonly string[];
  /** One bar per series in every group (e.g. two runs). */
  series: readonly BarSeries[];
  title?: string;
  yLabel?: string;
  /** y range; default 0 to the largest value (widened to a round tick). Accuracy: 0 and 1. */
  yMin?: number;
  yMax?: number;
  width?: number;
  height?: number;
  /** Print each value above its bar when it fits (default true); `digits` decimals (default 2). */
  showValues?: boolean;
  digits?: number;
}

/** Grouped bars: for each group, one bar per series side by side, with a legend. */
export function barChart(opts: BarChartOptions): ImageU8 {
  const { groups, series } = opts;
  if (groups.length === 0 || series.length === 0) throw new RangeError('barChart: need at least one group and one series');
  for (const s of series) {
    if (s.values.length !== groups.length) throw new RangeError(`barChart: series '${s.name}' has ${s.values.length} values for ${groups.length} groups`);
  }
  const values = series.flatMap((s) => s.values.filter(Number.isFinite));
  const yMin = opts.yMin ?? Math.min(0, ...values);
  const yMax = opts.yMax ?? Math.max(yMin + 1e-12, ...values);
  const f = frame(opts.width ?? 640, opts.height ?? 360, opts.title, yMin, yMax, opts.yLabel);
  const gw = (f.right - f.left) / groups.length;
  const bw = Math.max(1, Math.floor((0.8 * gw) / series.length));
  const base = f.py(Math.max(f.yLo, Math.min(f.yHi, 0)));
  groups.forEach((g, i) => {
    const label = fitText(g, Math.floor(gw) - 2);
    f.canvas.text(Math.round(f.left + (i + 0.5) * gw - textWidth(label) / 2), f.bottom + 6, label, BLACK);
    const x0 = Math.round(f.left + (i + 0.5) * gw - (bw * series.length) / 2);
    series.forEach((s, j) => {
      const v = s.values[i];
      if (!Number.isFinite(v)) return;
      const color = s.color ?? PALETTE[j % PALETTE.length];
      const top = f.py(Math.max(f.yLo, Math.min(f.yHi, v)));
      const x = x0 + j * bw;
      f.canvas.fillRect(x, Math.min(top, base), bw - 1, Math.abs(base - top), color);
      const text = v.toFixed(opts.digits ?? 2);
      if ((opts.showValues ?? true) && textWidth(text) <= bw) f.canvas.text(x + Math.floor((bw - 1 - textWidth(text)) / 2), Math.min(top, base) - GLYPH_H - 2, text, BLACK);
    });
  });
  legendBelow(f, series.map((s, j) => ({ name: s.name, color: s.color ?? PALETTE[j % PALETTE.length] })));
  return f.canvas.toImage();
}
