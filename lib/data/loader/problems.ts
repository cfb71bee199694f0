// Problems with records (missing or corrupt files, malformed entries, too-long conversations)
// reach the user: a skipped record must never pass in silence. Each problem is taken once (every
// worker has its own dataset, so two workers can meet the same bad record), handed to the
// caller's onProblem, or by default written to stderr: the first `limit` one line each, then a
// count each time the total doubles, and a summary when the loader closes.
import { PROBLEM_KINDS, type Problem, type ProblemKind } from '../llava';

/** What happens to a record with each kind of problem. */
const CONSEQUENCE: Record<ProblemKind, string> = {
  'bad-entry': 'entry left out',
  'no-image': 'entry left out',
  'missing-image': 'record skipped',
  'corrupt-image': 'record skipped',
  'missing-depth': 'record kept without a depth target',
  'corrupt-depth': 'record kept without a depth target',
  'missing-mask': 'record kept without a segmentation target',
  'corrupt-mask': 'record kept without a segmentation target',
  'too-long': 'record skipped for that task',
};

/** One line naming the entry, the file (unless the message already does) and the reason. */
export function formatProblem(p: Problem): string {
  const file = p.path !== undefined && !p.message.includes(p.path) ? ` ${p.path}` : '';
  return `unimrg data: entry ${p.entry} (id ${p.id}) ${p.kind}${file}: ${p.message} (${CONSEQUENCE[p.kind] ?? 'record skipped'})`;
}

export interface ProblemLogOptions {
  /** Called once per problem; when given, nothing is written to stderr. */
  onProblem?: (p: Problem) => void;
  /** Problems printed one by one before only counts are (default 20). */
  limit?: number;
  /** Where the default report goes (default process.stderr). */
  write?: (line: string) => void;
}

export class ProblemLog {
  readonly problems: Problem[] = [];
  private readonly seen = new Set<string>();
  private readonly counts = new Map<ProblemKind, number>();
  private readonly limit: number;
  private readonly write: ((line: string) => void) | undefined;
  private nextCount: number;

  constructor(private readonly o: ProblemLogOptions = {}) {
    this.limit = o.limit ?? 20;
    if (!Number.isInteger(this.limit) || this.limit < 0) throw new RangeError(`the problem print limit must be a non-negative integer, got ${o.limit}`);
    this.write = o.onProblem !== undefined ? undefined : (o.write ?? ((line) => { process.stderr.write(`${line}\n`); }));
    this.nextCount = Math.max(1, 2 * this.limit);
  }

  /** Takes a problem; false when it was taken before. */
  add(p: Problem): boolean {
    const key = `${p.entry}/${p.kind}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    this.problems.push(p);
    this.counts.set(p.kind, (this.counts.get(p.kind) ?? 0) + 1);
    if (this.o.onProblem !== undefined) {
      this.o.onProblem(p);
      return true;
    }
    const n = this.problems.length;
    if (n <= this.limit) this.write!(formatProblem(p));
    if (n === this.limit) this.write!(`unimrg data: ${n} problems so far; further ones are counted, not printed`);
    if (n === this.nextCount) {
      this.write!(`${this.summary()} so far`);
      this.nextCount *= 2;
    }
    return true;
  }

  /** "unimrg data: 57 problems (17 corrupt-image, 40 missing-image)", or undefined when none. */
  summary(): string | undefined {
    const n = this.problems.length;
    if (n === 0) return undefined;
    const parts = PROBLEM_KINDS.filter((k) => this.counts.has(k)).map((k) => `${this.counts.get(k)} ${k}`).join(', ');
    return `unimrg data: ${n} problem${n === 1 ? '' : 's'} (${parts})`;
  }

  /** Writes the summary to the default report (nothing when the caller has onProblem). */
  close(): void {
    const s = this.summary();
    if (s !== undefined && this.write !== undefined) this.write(`${s} in all`);
  }
}
