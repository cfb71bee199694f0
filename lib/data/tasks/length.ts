// The longest sequence a batch may hold. One 20,000-word conversation would otherwise set the
// padded length L of its whole batch, and attention is O(L²): the run dies on a huge allocation
// that names neither the record nor its length. A sample over the cap is refused, never cut:
// a sample source that reports problems (LLaVA folders) gets it as a 'too-long' problem and the
// record is passed over for that task; any other source makes the batch fail with the record's
// index, id and length. (Truncation stays opt-in: `maxLength` cuts understanding rows.)

/** The cap's floor (tokens): room for a long multi-turn LLaVA conversation. */
export const DEFAULT_MAX_SEQUENCE_LENGTH = 4096;

export interface LengthOptions {
  /** Longest sample in tokens, after `maxLength` truncation. Default: see maxSequenceLength(). */
  maxSequenceLength?: number;
  /** Truncation length of collate (understanding rows are cut to it). */
  maxLength?: number;
  conditionTokens?: number;
  generationTokens?: number;
}

/**
 * The cap in effect: the option, else the largest of 4096, the adapter's image positions plus
 * 1024 text tokens (image positions can never be cut), and `maxLength` (asking to truncate at
 * a length allows that length).
 */
export function maxSequenceLength(o: LengthOptions): number {
  if (o.maxSequenceLength !== undefined) {
    if (!Number.isSafeInteger(o.maxSequenceLength) || o.maxSequenceLength < 1) {
      throw new RangeError(`maxSequenceLength must be a positive integer, got ${o.maxSequenceLength}`);
    }
    return o.maxSequenceLength;
  }
  const images = (o.conditionTokens ?? 1) + (o.generationTokens ?? 1);
  const truncation = Number.isFinite(o.maxLength) ? o.maxLength! : 0;
  return Math.max(DEFAULT_MAX_SEQUENCE_LENGTH, images + 1024, truncation);
}

/** The length a sample of n tokens takes in its batch (collate truncates to maxLength). */
export const batchLength = (n: number, maxLength: number | undefined): number => (maxLength !== undefined && n > maxLength ? maxLength : n);
