/** A segment's size day by day, walked back from today's size and the daily entries and exits. Pure: no I/O. */
import { DAY_MS } from './time';

export interface HistoryDay {
  day: string;
  entered: number;
  exited: number;
  /** Members at the end of the day. */
  size: number;
}

/**
 * Size over time from today's size and the daily entries and exits, walking
 * back: yesterday's size is today's minus today's entries plus today's exits.
 */
export function segmentHistory(
  currentSize: number,
  changes: ReadonlyArray<{ day: string; entered: number; exited: number }>,
  days: number,
  now: number,
): HistoryDay[] {
  const byDay = new Map(changes.map((c) => [c.day, c]));
  const history: HistoryDay[] = [];
  let size = currentSize;
  for (let i = 0; i < days; i++) {
    const day = new Date(now - i * DAY_MS).toISOString().slice(0, 10);
    const { entered = 0, exited = 0 } = byDay.get(day) ?? {};
    history.push({ day, entered, exited, size });
    size = size - entered + exited;
  }
  return history.reverse();
}
