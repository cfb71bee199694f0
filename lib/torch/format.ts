// Prints tensors the way PyTorch does (torch/_tensor_str.py's rules, re-derived): fixed or
// scientific notation chosen from the value range, aligned columns, "..." beyond 1000 elements.
import type { DType } from './dtype';

export interface FormatInfo {
  dtype: DType;
  device: string;
  requiresGrad: boolean;
  isLeaf: boolean;
  gradFn: string | null;
}

const THRESHOLD = 1000;
const EDGE_ITEMS = 3;
const LINE_WIDTH = 80;
const PRECISION = 4;

type Elem = number | boolean;

function makeFormatter(values: Elem[], dtype: DType): (v: Elem) => string {
  if (dtype === 'bool') return (v) => (v ? 'True' : 'False');
  const floating = dtype.startsWith('float') || dtype === 'bfloat16';
  const nums = values as number[];
  if (!floating) {
    const width = Math.max(1, ...nums.map((v) => String(v).length));
    return (v) => String(v).padStart(width);
  }
  const finite = nums.filter((v) => Number.isFinite(v));
  const nonzero = finite.map(Math.abs).filter((v) => v !== 0);
  const intMode = finite.every((v) => v === Math.ceil(v));
  let fmt: (v: number) => string;
  if (nonzero.length === 0) {
    fmt = (v) => (Number.isFinite(v) ? (intMode ? `${v.toFixed(0)}.` : v.toFixed(PRECISION)) : String(v));
  } else {
    const max = Math.max(...nonzero);
    const min = Math.min(...nonzero);
    if (intMode) {
      fmt = max > 1e8 ? (v) => v.toExponential(PRECISION) : (v) => `${v.toFixed(0)}.`;
    } else if (max / min > 1000 || max > 1e8 || min < 1e-4) {
      fmt = (v) => v.toExponential(PRECISION);
    } else {
      fmt = (v) => v.toFixed(PRECISION);
    }
  }
  const show = (v: number) => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : pyExp(fmt(v)));
  const width = Math.max(...nums.map((v) => show(v).length));
  return (v) => show(v as number).padStart(width);
}

/** JS writes 1.0000e+0; Python writes 1.0000e+00. */
function pyExp(s: string): string {
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Indices kept when summarising: the first and last EDGE_ITEMS of each dimension. */
function keptIndices(n: number, summarize: boolean): (number | null)[] {
  if (!summarize || n <= 2 * EDGE_ITEMS) return Array.from({ length: n }, (_, i) => i);
  return [...Array.from({ length: EDGE_ITEMS }, (_, i) => i), null, ...Array.from({ length: EDGE_ITEMS }, (_, i) => n - EDGE_ITEMS + i)];
}

export function formatTensor(shape: number[], values: Elem[], info: FormatInfo): string {
  const prefix = 'tensor(';
  const numel = values.length;
  const summarize = numel > THRESHOLD;
  const strides: number[] = [];
  for (let d = shape.length - 1, s = 1; d >= 0; d--) { strides[d] = s; s *= shape[d]; }
  // Only the printed elements decide the format, as in PyTorch.
  const shown: Elem[] = [];
  const gather = (d: number, offset: number) => {
    if (d === shape.length) { shown.push(values[offset]); return; }
    for (const i of keptIndices(shape[d], summarize)) if (i !== null) gather(d + 1, offset + i * strides[d]);
  };
  if (numel > 0) gather(0, 0);
  const fmt = makeFormatter(shown, info.dtype);

  const render = (d: number, offset: number, indent: number): string => {
    if (d === shape.length) return fmt(values[offset]);
    const idx = keptIndices(shape[d], summarize);
    if (d === shape.length - 1) {
      const items = idx.map((i) => (i === null ? '...' : fmt(values[offset + i * strides[d]])));
      const itemWidth = Math.max(1, ...items.map((s) => s.length)) + 2;
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / itemWidth));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
      return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
    }
    const sep = `,${'\n'.repeat(shape.length - d - 1)}${' '.repeat(indent + 1)}`;
    const parts = idx.map((i) => (i === null ? '...' : render(d + 1, offset + i * strides[d], indent + 1)));
    return `[${parts.join(sep)}]`;
  };

  let body: string;
  if (shape.length === 0) body = fmt(values[0]).trim();
  else if (numel === 0) body = '[]';
  else body = render(0, 0, prefix.length);

  const suffix: string[] = [];
  if (numel === 0 && shape.length > 1) suffix.push(`size=(${shape.join(', ')})`);
  if (info.device !== 'cpu') suffix.push(`device='${info.device}'`);
  if (!['float32', 'int64', 'bool'].includes(info.dtype)) suffix.push(`dtype=torch.${info.dtype}`);
  if (info.gradFn) suffix.push(`grad_fn=<${info.gradFn}>`);
  else if (info.requiresGrad && info.isLeaf) suffix.push('requires_grad=True');
  return `${prefix}${body}${suffix.length ? `, ${suffix.join(', ')}` : ''})`;
}
