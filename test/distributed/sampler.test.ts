import { distributed } from '../../lib';

describe('DistributedSampler', () => {
  it('splits one permutation between ranks, padded by wrapping, reshuffled per epoch', () => {
    const make = (rank: number, o = {}) => new distributed.DistributedSampler(10, { rank, worldSize: 3, seed: 4, ...o });
    const parts = [0, 1, 2].map((r) => make(r).indices());
    expect(parts.map((p) => p.length)).toEqual([4, 4, 4]);
    const all = parts.flat();
    expect(new Set(all).size).toBe(10);                         // every index, 2 repeated for padding
    expect([...all].sort((a, b) => a - b).filter((v, i, s) => s.indexOf(v) !== i).length).toBe(2);
    const s = make(0);
    const e0 = s.indices();
    s.setEpoch(1);
    expect(s.indices()).not.toEqual(e0);
    expect(make(1, { shuffle: false }).indices()).toEqual([1, 4, 7, 0]);
    expect(make(1, { shuffle: false, dropLast: true }).indices()).toEqual([1, 4, 7]);
  });
});
