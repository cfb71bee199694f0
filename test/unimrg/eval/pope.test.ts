// POPE-style metrics on yes/no questions: counts and ratios worked out by hand, unparseable
// answers counted as neither yes nor no.
import { parseYesNo, popeMetrics } from '../../../lib/unimrg/eval';

describe('parseYesNo', () => {
  test.each([
    ['Yes', 'yes'], ['yes, there is.', 'yes'], ['NO.', 'no'], ['no there is not', 'no'],
    ['maybe', undefined], ['', undefined], ['not sure', undefined], ['cube', undefined], ['yesterday', undefined],
  ])('%j → %j', (s, want) => {
    expect(parseYesNo(s)).toBe(want);
  });
});

describe('popeMetrics', () => {
  test('counts and ratios with yes as the positive class', () => {
    // truth: 5 yes, 5 no. predictions on yes: yes yes yes no ??? ; on no: no no no yes ???
    const yes = ['Yes', 'yes.', 'Yes, there is', 'No', 'maybe'];
    const no = ['no', 'No.', 'no', 'yes', 'I cannot tell'];
    const items = [
      ...yes.map((prediction) => ({ answer: 'yes', prediction })),
      ...no.map((prediction) => ({ answer: 'no', prediction })),
    ];
    const m = popeMetrics(items);
    expect([m.tp, m.fn, m.tn, m.fp, m.unparseable, m.total]).toEqual([3, 1, 3, 1, 2, 10]);
    expect(m.accuracy).toBeCloseTo(6 / 10, 12); // unparseable answers are wrong
    expect(m.precision).toBeCloseTo(3 / 4, 12); // tp / (tp + fp)
    expect(m.recall).toBeCloseTo(3 / 5, 12); // tp / all true yes, the unparseable one included
    expect(m.f1).toBeCloseTo((2 * 0.75 * 0.6) / (0.75 + 0.6), 12);
    expect(m.yesRatio).toBeCloseTo(4 / 10, 12);
  });

  test('a model that always says yes: recall 1, precision = share of yes, yes-ratio 1', () => {
    const items = [['yes', 'yes'], ['yes', 'yes'], ['no', 'yes'], ['no', 'yes'], ['no', 'yes'], ['yes', 'yes']].map(([answer, prediction]) => ({ answer, prediction }));
    const m = popeMetrics(items);
    expect([m.tp, m.fp, m.tn, m.fn]).toEqual([3, 3, 0, 0]);
    expect(m.recall).toBe(1);
    expect(m.precision).toBe(0.5);
    expect(m.f1).toBeCloseTo(2 / 3, 12);
    expect(m.yesRatio).toBe(1);
    expect(m.accuracy).toBe(0.5);
  });

  test('never saying yes gives precision, recall and F1 0; empty input NaN; non-yes/no truth refused', () => {
    const m = popeMetrics([{ answer: 'yes', prediction: 'no' }, { answer: 'no', prediction: 'no' }]);
    expect([m.precision, m.recall, m.f1, m.yesRatio, m.accuracy]).toEqual([0, 0, 0, 0, 0.5]);
    const e = popeMetrics([]);
    expect(e.accuracy).toBeNaN();
    expect(e.f1).toBeNaN();
    expect(() => popeMetrics([{ answer: 'cube', prediction: 'yes' }])).toThrow(/'cube' is not yes or no/);
  });
});
