// Inference prompts of different lengths as one padded batch. Right padding keeps every row's
// start at column 0 (one pass, as in training); left padding makes every row end at the last
// column, so that incremental decoding appends one column for all rows at once.
import * as creation from '../../torch/creation';
import type { Device } from '../../torch/dtype';
import { tidy } from '../../torch/scope';
import type { Tensor } from '../../torch/tensor';

export interface PromptRow {
  ids: number[];
  /** 1 at condition-image placeholder positions. */
  conditionMask: ArrayLike<number>;
  /** 1 at generated-image placeholder positions (none when absent). */
  generationMask?: ArrayLike<number>;
}

export interface PaddedRows {
  /** int64 [B, L], padId at padding. */
  ids: Tensor;
  /** bool [B, L], false at padding. */
  attentionMask: Tensor;
  conditionMask: Tensor;
  generationMask: Tensor;
  /** int64 [B, L]: each row's own positions 0, 1, … (0 at padding). */
  positions: Tensor;
}

export function padRows(rows: PromptRow[], padId: number, device: Device, side: 'left' | 'right'): PaddedRows {
  const B = rows.length;
  const L = Math.max(...rows.map((r) => r.ids.length));
  const ids = new BigInt64Array(B * L).fill(BigInt(padId));
  const pos = new BigInt64Array(B * L);
  const att = new Uint8Array(B * L), cond = new Uint8Array(B * L), gen = new Uint8Array(B * L);
  rows.forEach((r, b) => {
    const off = side === 'left' ? L - r.ids.length : 0;
    r.ids.forEach((id, i) => {
      const at = b * L + off + i;
      ids[at] = BigInt(id);
      pos[at] = BigInt(i);
      att[at] = 1;
      cond[at] = r.conditionMask[i] ?? 0;
      gen[at] = r.generationMask?.[i] ?? 0;
    });
  });
  const d = { shape: [B, L], device };
  return tidy(() => ({
    ids: creation.tensor(ids, d),
    attentionMask: creation.tensor(att, d).to('bool'),
    conditionMask: creation.tensor(cond, d).to('bool'),
    generationMask: creation.tensor(gen, d).to('bool'),
    positions: creation.tensor(pos, d),
  }));
}
