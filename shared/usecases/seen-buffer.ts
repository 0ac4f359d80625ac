/**
 * What the processor saw, added up in memory and written to the catalog only when something new shows
 * (a name or property key this instance has not written yet, so it is in autocomplete at once) or every
 * few minutes: one write per name per invocation would have cost almost as much as the events
 * themselves. Counts are approximate: an instance that stops loses what it had not written.
 */
import type { EnrichedEvent } from '../domain/events';
import { mergeTallies, type SeenTally, tallyMarks, tallySeen } from '../domain/seen-catalog';
import type { SeenStore } from '../ports/seen';

export const SEEN_FLUSH_MS = 5 * 60_000;

export class SeenBuffer {
  private pending = new Map<string, SeenTally>();
  private readonly written = new Set<string>();
  private lastWrite = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: Pick<SeenStore, 'record'>,
    private readonly now: () => number,
    private readonly everyMs = SEEN_FLUSH_MS,
  ) {}

  add(events: Iterable<EnrichedEvent>): void {
    tallySeen(events, this.pending);
  }

  /** Writes if something is new or it is time; a write that fails keeps its tallies for the next. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const tallies = [...this.pending.values()];
    const news = tallies.some((tally) => tallyMarks(tally).some((mark) => !this.written.has(mark)));
    if (!news && this.now() - this.lastWrite < this.everyMs) return;
    this.pending = new Map();
    try {
      await this.store.record(tallies);
    } catch (error) {
      mergeTallies(this.pending, tallies);
      throw error;
    }
    this.lastWrite = this.now();
    // Bounded like the tallies: past the limit, new names are simply written again next time.
    if (this.written.size < 100_000) for (const tally of tallies) for (const mark of tallyMarks(tally)) this.written.add(mark);
  }
}
