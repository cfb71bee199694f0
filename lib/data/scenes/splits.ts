// Train / val / test / compositional splits are ranges of scene seeds: a seed alone says which
// split a scene belongs to, so splits never overlap and need no file.

export type Split = 'train' | 'val' | 'test' | 'compositional';
export const SPLIT_NAMES: readonly Split[] = ['train', 'val', 'test', 'compositional'];

/** [start, end) of each split's seeds. */
export const SPLITS: Readonly<Record<Split, readonly [number, number]>> = {
  train: [0, 1_000_000_000],
  val: [1_000_000_000, 1_001_000_000],
  test: [1_001_000_000, 1_002_000_000],
  compositional: [1_002_000_000, 1_003_000_000],
};

export function splitOf(seed: number): Split {
  if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`scene seed must be a non-negative integer, got ${seed}`);
  for (const s of SPLIT_NAMES) {
    const [a, b] = SPLITS[s];
    if (seed >= a && seed < b) return s;
  }
  throw new RangeError(`scene seed ${seed} lies beyond every split (seeds end at ${SPLITS.compositional[1]})`);
}
