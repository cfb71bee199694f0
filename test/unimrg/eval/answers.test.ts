// Answer normalisation and exact-match accuracy per category, against hand-worked cases and the
// scenes' own answers.
import * as data from '../../../lib/data';
import { exactMatch, normalizeAnswer, scoreAnswers } from '../../../lib/unimrg/eval';

describe('normalizeAnswer', () => {
  test.each([
    ['Yes', 'yes'],
    ['  yes!  ', 'yes'],
    ['No.', 'no'],
    ['The cube.', 'cube'],
    ['a red sphere', 'red sphere'],
    ['An  apple', 'apple'],
    ['Two', '2'],
    ['twenty', '20'],
    ['zero', '0'],
    ['3', '3'],
    ['2.5', '2.5'],
    ['end.', 'end'],
    ['there are three cubes', 'there are 3 cubes'],
    ['"cyan"', 'cyan'],
    ['theatre', 'theatre'], // an article only as a whole word
    ['', ''],
  ])('%j → %j', (input, want) => {
    expect(normalizeAnswer(input)).toBe(want);
  });

  test('every scene answer is already normal (number words are digits there)', () => {
    let n = 0;
    for (const item of data.scenes.generate({ split: 'val', seed: 0, count: 12, size: 64 })) {
      for (const q of item.qa) { expect(normalizeAnswer(q.answer)).toBe(q.answer); n++; }
    }
    expect(n).toBeGreaterThan(50);
  });

  test('exactMatch compares normalised forms', () => {
    expect(exactMatch('Three.', '3')).toBe(true);
    expect(exactMatch('The Cube', 'cube')).toBe(true);
    expect(exactMatch('cubes', 'cube')).toBe(false);
    expect(exactMatch('yes no', 'yes')).toBe(false);
    expect(exactMatch('4', '3')).toBe(false);
  });
});

describe('scoreAnswers', () => {
  test('accuracy per category, overall (micro) and macro, in the scenes’ category order', () => {
    const items = [
      { category: 'count', answer: '2', prediction: 'two' }, // right
      { category: 'count', answer: '3', prediction: '4' }, // wrong
      { category: 'depth', answer: 'cube', prediction: 'The cube.' }, // right
      { category: 'existence', answer: 'no', prediction: 'yes' }, // wrong
      { category: 'existence', answer: 'yes', prediction: 'Yes' }, // right
      { category: 'existence', answer: 'no', prediction: 'no' }, // right
      { category: 'zzz-custom', answer: 'x', prediction: 'y' }, // wrong
    ];
    const s = scoreAnswers(items);
    expect(s.correct).toEqual([true, false, true, false, true, true, false]);
    expect(s.overall).toEqual({ correct: 4, total: 7, accuracy: 4 / 7 });
    expect(Object.keys(s.byCategory)).toEqual(['depth', 'count', 'existence', 'zzz-custom']);
    expect(s.byCategory.count).toEqual({ correct: 1, total: 2, accuracy: 0.5 });
    expect(s.byCategory.depth.accuracy).toBe(1);
    expect(s.byCategory.existence.accuracy).toBeCloseTo(2 / 3, 12);
    expect(s.byCategory['zzz-custom'].accuracy).toBe(0);
    expect(s.macro).toBeCloseTo((1 + 0.5 + 2 / 3 + 0) / 4, 12);
  });

  test('empty input gives NaN accuracies; bad items are refused', () => {
    const s = scoreAnswers([]);
    expect(s.overall.total).toBe(0);
    expect(s.overall.accuracy).toBeNaN();
    expect(s.macro).toBeNaN();
    expect(() => scoreAnswers([{ category: 'count', answer: '2', prediction: undefined as unknown as string }])).toThrow(/string 'answer' and 'prediction'/);
  });
});
