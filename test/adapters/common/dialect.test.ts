// One dialect for the three families: the same exports, the same config rules and errors, a
// description that matches the built model, and the shared batch checks and prompt padding.
import * as adapters from '../../../lib/adapters';
import { checkBatch } from '../../../lib/adapters/common/checks';
import { padRows } from '../../../lib/adapters/common/collate';
import { FAMILIES, type Family, type FamilyDefinition, type ModelDescription } from '../../../lib/adapters/types';
import { sceneSource, sceneTokenizer, TaskBatcher, toTensors, type TaskBatch } from '../../../lib/data';
import { torch, Tensor } from '../../../lib/torch';

torch.setNumThreads(1);

interface FamilyModule {
  PRESETS: Record<string, object>;
  resolveConfig(preset: string, overrides?: object): object;
  configProblems(c: object): string[];
  codecConfig(c: object): unknown;
  batchFormatOf(c: object): unknown;
  describe(c: object): ModelDescription;
  definition: FamilyDefinition;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = (f: Family) => require(`../../../lib/adapters/${f}`) as FamilyModule;

async function mixedBatch(a: adapters.Adapter): Promise<TaskBatch> {
  const b = new TaskBatcher(sceneSource({ split: 'train', count: 8, size: 64 }), sceneTokenizer(), { batchSize: 8, mode: 'mixed', shuffle: false, ...a.batchFormat });
  return toTensors(await b.hostBatch(0));
}

describe.each(FAMILIES)('%s', (family) => {
  const m = load(family);

  test('exports the same parts as every family', () => {
    for (const k of ['resolveConfig', 'configProblems', 'codecConfig', 'batchFormatOf', 'describe'] as const) expect(typeof m[k]).toBe('function');
    expect(m.definition.presets).toBe(m.PRESETS);
    expect(m.definition.family).toBe(family);
    expect(Object.keys(m.PRESETS).slice(0, 3)).toEqual(['tiny', 'mini', 'small']);
  });

  test('every preset is valid, and frozen all the way down', () => {
    for (const [name, c] of Object.entries(m.PRESETS)) {
      expect([name, m.configProblems(c)]).toEqual([name, []]);
      expect(Object.isFrozen(c)).toBe(true);
      for (const v of Object.values(c)) if (v !== null && typeof v === 'object') expect(Object.isFrozen(v)).toBe(true);
    }
    const c = m.resolveConfig('tiny') as Record<string, unknown>;
    expect(Object.isFrozen(c)).toBe(false); // a resolved config is the caller's copy
  });

  test('bad presets, fields and hand-built configs are RangeErrors in one shape', () => {
    expect(() => m.resolveConfig('huge')).toThrow(new RegExp(`^unknown ${family} preset 'huge' \\(expected tiny, mini, small, `));
    expect(() => m.resolveConfig('tiny', { zzz: 1 })).toThrow(new RegExp(`^invalid ${family} config \\(preset 'tiny'\\): unknown field 'zzz'`));
    expect(() => m.resolveConfig('tiny', 3 as never)).toThrow(new RegExp(`^${family} overrides must be an object`));
    const broken = { ...m.PRESETS.tiny, template: 'chatml' };
    expect(m.configProblems(broken).join(' ')).toMatch(/template/);
    expect(() => m.definition.create(broken)).toThrow(new RegExp(`^invalid ${family} config: .*template`));
    expect(() => m.definition.create(m.resolveConfig('tiny'), { seed: 0.5 })).toThrow(new RegExp(`^${family}: seed must be an integer`));
  });

  test('describe() matches the built model: total, trainable, batch format', async () => {
    const c = m.resolveConfig('tiny');
    const a = m.definition.create(c, { seed: 0 });
    const batch = await mixedBatch(a);
    try {
      const d = m.describe(c);
      expect(d.total).toBe(a.model.numParameters());
      expect(d.trainable).toBe(a.trainableParameters().reduce((s, [, p]) => s + p.numel, 0));
      expect(d.batchFormat).toEqual(a.batchFormat);
      expect(m.batchFormatOf(c)).toEqual(a.batchFormat);
      expect(Object.values(d.parameters).reduce((s, n) => s + n, 0)).toBe(d.total);

      // The shared batch checks: a valid batch passes; a broken one names the family and the part.
      const rows = checkBatch(family, batch, a.batchFormat);
      expect(rows.generationRows).toEqual(Array.from(batch.targetRows.toArray() as BigInt64Array, Number));
      const swapped = torch.tidy(() => batch.targetRows.flip([0]));
      expect(() => a.forward({ ...batch, targetRows: swapped })).toThrow(new RegExp(`^${family}: targetRows \\[.*\\] do not match the rows with generated-image positions`));
      const small = torch.zeros([8, 3, 32, 32]);
      expect(() => a.forward({ ...batch, conditionImages: small })).toThrow(new RegExp(`^${family}: conditionImages must be \\[8, 3, 64, 64\\], got \\[8, 3, 32, 32\\] \\(build the batcher with conditionSize: 64\\)`));
      expect(() => a.trainableParameters('some' as never)).toThrow(new RegExp(`^${family}: unknown trainable policy 'some'`));
      torch.dispose([swapped, small]);
    } finally {
      torch.dispose(Object.values(batch).filter((v): v is Tensor => v instanceof Tensor));
      a.dispose();
    }
  });
});

test('prompt rows pad on either side: ids, masks and each row\'s own positions', () => {
  const rows = [{ ids: [5, 6, 7], conditionMask: [1, 0, 0], generationMask: [0, 0, 1] }, { ids: [8], conditionMask: [1] }];
  const read = (t: Tensor) => Array.from(t.toArray() as ArrayLike<number | bigint>, Number);
  torch.tidy(() => {
    const right = padRows(rows, 0, 'cpu', 'right');
    expect(read(right.ids)).toEqual([5, 6, 7, 8, 0, 0]);
    expect(read(right.attentionMask)).toEqual([1, 1, 1, 1, 0, 0]);
    expect(read(right.conditionMask)).toEqual([1, 0, 0, 1, 0, 0]);
    expect(read(right.generationMask)).toEqual([0, 0, 1, 0, 0, 0]);
    expect(read(right.positions)).toEqual([0, 1, 2, 0, 0, 0]);
    const left = padRows(rows, 0, 'cpu', 'left');
    expect(read(left.ids)).toEqual([5, 6, 7, 0, 0, 8]);
    expect(read(left.attentionMask)).toEqual([1, 1, 1, 0, 0, 1]);
    expect(read(left.conditionMask)).toEqual([1, 0, 0, 0, 0, 1]);
    expect(read(left.positions)).toEqual([0, 1, 2, 0, 0, 0]);
  });
});
