// Understanding accuracy: exact match after normalisation, per question category and overall.
// The scenes' answers are one lower-case word or a number in digits ("2"), so a generated answer
// is normalised the same way before comparing: lower case, punctuation and the articles
// a / an / the dropped, number words zero..twenty written as digits, spaces collapsed.
import { QA_CATEGORIES } from '../../data/scenes/qa';
import { MAX_COUNT_WORD } from '../../data/tokenizer/scene-vocabulary';

const NUMBER_WORDS = [
  'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten',
  'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen', 'twenty',
];
if (NUMBER_WORDS.length !== MAX_COUNT_WORD + 1) throw new Error('answers: number words must cover 0..MAX_COUNT_WORD');
const DIGITS_OF = new Map(NUMBER_WORDS.map((w, i) => [w, String(i)]));
const ARTICLES = new Set(['a', 'an', 'the']);

/**
 * "The Red cube." → "red cube"; "Two" → "2"; " yes! " → "yes". Punctuation becomes a space,
 * except a decimal point between digits ("2.5" stays).
 */
export function normalizeAnswer(text: string): string {
  const words = text
    .toLowerCase()
    .replace(/(\d)\.(?=\d)/g, '$1\u0000') // protect decimal points
    .replace(/[^\p{L}\p{N}\s\u0000]/gu, ' ')
    .replace(/\u0000/g, '.')
    .split(/\s+/)
    .filter((w) => w !== '' && !ARTICLES.has(w))
    .map((w) => DIGITS_OF.get(w) ?? w);
  return words.join(' ');
}

/** Whether a generated answer equals the reference after both are normalised. */
export function exactMatch(prediction: string, answer: string): boolean {
  return normalizeAnswer(prediction) === normalizeAnswer(answer);
}

/** A scene question (lib/data/scenes/qa.ts) with the model's answer. */
export interface AnsweredItem {
  answer: string;
  category: string;
  prediction: string;
}

export interface Accuracy {
  correct: number;
  total: number;
  /** correct / total; NaN when total is 0. */
  accuracy: number;
}

export interface AnswerScores {
  /** Over all items (micro average). */
  overall: Accuracy;
  /** Unweighted mean of the per-category accuracies (categories with items only). */
  macro: number;
  /** Per category: the scene categories first in their usual order, then any others by name. */
  byCategory: Record<string, Accuracy>;
  /** Per item, in input order. */
  correct: boolean[];
}

const acc = (correct: number, total: number): Accuracy => ({ correct, total, accuracy: total > 0 ? correct / total : NaN });

export function scoreAnswers(items: readonly AnsweredItem[]): AnswerScores {
  const counts = new Map<string, [number, number]>();
  const correct = items.map((it) => {
    if (typeof it.prediction !== 'string' || typeof it.answer !== 'string') {
      throw new TypeError(`scoreAnswers: every item needs string 'answer' and 'prediction', got ${JSON.stringify(it)}`);
    }
    const ok = exactMatch(it.prediction, it.answer);
    const c = counts.get(it.category) ?? [0, 0];
    c[0] += ok ? 1 : 0;
    c[1] += 1;
    counts.set(it.category, c);
    return ok;
  });
  const known = QA_CATEGORIES.filter((c) => counts.has(c));
  const others = [...counts.keys()].filter((c) => !(QA_CATEGORIES as readonly string[]).includes(c)).sort();
  const byCategory: Record<string, Accuracy> = {};
  for (const c of [...known, ...others]) byCategory[c] = acc(...counts.get(c)!);
  const cats = Object.values(byCategory);
  const nCorrect = correct.filter(Boolean).length;
  return {
    overall: acc(nCorrect, items.length),
    macro: cats.length > 0 ? cats.reduce((s, a) => s + a.accuracy, 0) / cats.length : NaN,
    byCategory,
    correct,
  };
}
