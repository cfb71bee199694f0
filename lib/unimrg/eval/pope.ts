// Hallucination on existence questions ("Is there a purple cylinder in the image?"), as POPE
// reports it: "yes" is the positive class. An answer is read as yes / no from its first word
// after normalisation ("Yes, there is." → yes, "No." → no). Anything else ("maybe", "", "cube")
// is unparseable and counts as neither: it is never a true or false positive or negative, yet it
// stays in the denominators of accuracy (a wrong answer), recall (a missed positive) and the
// yes-ratio (not a yes). POPE's own script reads every answer without "no"/"not" as yes; we do
// not, so a model that babbles is not credited with yeses.
import { normalizeAnswer } from './answers';

export type YesNo = 'yes' | 'no';

/** 'yes' / 'no' from the first word of the normalised answer, undefined when it is neither. */
export function parseYesNo(text: string): YesNo | undefined {
  const first = normalizeAnswer(text).split(' ')[0];
  return first === 'yes' || first === 'no' ? first : undefined;
}

export interface PopeMetrics {
  total: number;
  /** Counts with "yes" positive: truth yes / answer yes, truth no / answer yes, ... */
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  /** Answers neither yes nor no. */
  unparseable: number;
  /** (tp + tn) / total. */
  accuracy: number;
  /** tp / (tp + fp); 0 when the model never says yes. */
  precision: number;
  /** tp / (questions whose truth is yes); 0 when there are none. */
  recall: number;
  /** 2PR / (P + R); 0 when P + R = 0. */
  f1: number;
  /** (tp + fp) / total: answers read as yes. 0.5 on balanced questions for an unbiased model. */
  yesRatio: number;
}

/**
 * POPE metrics over yes/no questions (pass the `existence` items; every truth must read as yes
 * or no). Ratios are NaN when there are no items.
 */
export function popeMetrics(items: readonly { answer: string; prediction: string }[]): PopeMetrics {
  let tp = 0, fp = 0, tn = 0, fn = 0, unparseable = 0, positives = 0;
  for (const it of items) {
    const truth = parseYesNo(it.answer);
    if (truth === undefined) throw new RangeError(`popeMetrics: the reference answer '${it.answer}' is not yes or no`);
    if (truth === 'yes') positives++;
    const said = parseYesNo(it.prediction);
    if (said === undefined) unparseable++;
    else if (said === 'yes') truth === 'yes' ? tp++ : fp++;
    else truth === 'no' ? tn++ : fn++;
  }
  const total = items.length;
  const ratio = (a: number, b: number) => (total === 0 ? NaN : b > 0 ? a / b : 0);
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, positives);
  return {
    total, tp, fp, tn, fn, unparseable,
    accuracy: ratio(tp + tn, total),
    precision,
    recall,
    f1: total === 0 ? NaN : precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    yesRatio: ratio(tp + fp, total),
  };
}
