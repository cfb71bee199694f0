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

type Elem = number | boolean | bigint; // bigint: int64, printed exactly

interface Formatter { width: number; format(v: Elem): string }

/** Python's '{:.Nf}' / '{:.0f}' / '{:.Ne}' for one float, nan and inf included. */
function pyFloat(v: number, mode: 'fixed' | 'int' | 'sci'): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  const neg = v < 0 || Object.is(v, -0);
  const a = Math.abs(v);
  const body = mode === 'int' ? a.toFixed(0) : mode === 'fixed' ? a.toFixed(PRECISION) : a.toExponential(PRECISION).replace(/e([+-])(\d)$/, 'e$10$2');
  return (neg ? '-' : '') + body;
}

/** The column width and the element format, chosen from the shown values as PyTorch does. */
function makeFormatter(values: Elem[], dtype: DType): Formatter {
  if (dtype === 'bool' || !(dtype.startsWith('float') || dtype === 'bfloat16')) {
    const str = (v: Elem) => (typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v));
    const width = Math.max(1, ...values.map((v) => str(v).length));
    return { width, format: (v) => str(v).padStart(width) };
  }
  const nonzeroFinite = (values as number[]).filter((v) => Number.isFinite(v) && v !== 0);
  let mode: 'fixed' | 'int' | 'sci' = 'int';
  let width = 1;
  if (nonzeroFinite.length > 0) {
    const abs = nonzeroFinite.map(Math.abs);
    const max = Math.max(...abs);
    const min = Math.min(...abs);
    const intMode = nonzeroFinite.every((v) => v === Math.ceil(v));
    if (intMode) mode = max / min > 1000 || max > 1e8 ? 'sci' : 'int';
    else mode = max / min > 1000 || max > 1e8 || min < 1e-4 ? 'sci' : 'fixed';
    // Only nonzero finite values set the width; int mode adds the trailing '.'.
    width = Math.max(1, ...nonzeroFinite.map((v) => pyFloat(v, mode).length + (mode === 'int' ? 1 : 0)));
  }
  return {
    width,
    format: (v) => {
      const x = v as number;
      const s = pyFloat(x, mode) + (mode === 'int' && Number.isFinite(x) ? '.' : '');
      return s.padStart(width);
    },
  };
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
  const formatter = makeFormatter(shown, info.dtype);
  const fmt = formatter.format;

  const render = (d: number, offset: number, indent: number): string => {
    if (d === shape.length) return fmt(values[offset]);
    const idx = keptIndices(shape[d], summarize);
    if (d === shape.length - 1) {
      const items = idx.map((i) => (i === null ? ' ...' : fmt(values[offset + i * strides[d]])));
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (formatter.width + 2)));
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
  if (info.device !== 'cpu') suffix.push(`device='${info.device}'`);
  if (numel === 0 && shape.length !== 1) suffix.push(`size=(${shape.join(', ')})`);
  if (!['float32', 'int64', 'bool'].includes(info.dtype)) suffix.push(`dtype=torch.${info.dtype}`);
  if (info.gradFn) suffix.push(`grad_fn=<${info.gradFn}>`);
  else if (info.requiresGrad && info.isLeaf) suffix.push('requires_grad=True');
  return `${prefix}${body}${suffix.length ? `, ${suffix.join(', ')}` : ''})`;
}
