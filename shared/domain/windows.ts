/**
 * Rolling windows ("in the last 7 days" = the last 7 x 24 h at the evaluation instant) read from what a
 * profile keeps: daily buckets, merged into weeks past PROFILE_LIMITS.dailyDays, and the instants of the
 * latest occurrences. Buckets that start after the window's first day are inside it whole; only the
 * bucket holding the window's edge needs instants, and the latest MAX_OCCURRENCES give them. So a window
 * is exact to the second while the occurrences near its edge are among the latest kept, and counts,
 * sums, minima and maxima are not limited to those. Pure.
 */
import type { WindowValues } from './aggregates';
import { DAY_MS } from './time';

const DAY_SECONDS = 86_400;

/** Buckets stay daily this many days before the evaluation (PROFILE_LIMITS.dailyDays, without the import cycle). */
export const DAILY_DAYS = 35;

/** The day of a week bucket an old day was merged into (see `coarsen`). */
export const weekStart = (day: number): number => day - (((day % 7) + 7) % 7);

/** The window (now - seconds, now]: its first instant, in epoch seconds, and the day that holds it. */
export function windowEdge(now: number, seconds: number): { edge: number; edgeDay: number } {
  const edge = now / 1000 - seconds;
  return { edge, edgeDay: Math.floor(edge / DAY_SECONDS) };
}

/**
 * Adds to `into` the latest occurrences inside the window that the buckets starting after `edgeDay`
 * do not hold: those of the edge's bucket. `times` is newest first, `stride` numbers per occurrence
 * (the instant, then its value when 2). `hasBucketOn` tells a daily bucket from a week one where
 * both are possible. Returns the count added.
 */
export function addEdgeOccurrences(
  times: readonly number[],
  stride: 1 | 2,
  now: number,
  seconds: number,
  hasBucketOn: (day: number) => boolean,
  into?: WindowValues,
): number {
  const { edge, edgeDay } = windowEdge(now, seconds);
  const surelyDaily = Math.floor(now / DAY_MS) - DAILY_DAYS;
  let added = 0;
  // Oldest first: the edge's occurrences are the oldest inside the window.
  for (let i = times.length - stride; i >= 0; i -= stride) {
    const t = times[i]!;
    if (t <= edge) continue;
    const day = Math.floor(t / DAY_SECONDS);
    if (day > edgeDay) {
      // Past the edge's bucket, newer ones are all in buckets counted whole.
      if (day >= surelyDaily || day - edgeDay > 6) break;
      if (hasBucketOn(day) || weekStart(day) > edgeDay) continue;
    }
    added++;
    if (into) {
      into.count++;
      if (stride === 2) {
        const value = times[i + 1]!;
        into.sum += value;
        if (value < into.min) into.min = value;
        if (value > into.max) into.max = value;
      }
    }
  }
  return added;
}

/** Whether newest-first buckets (`stride` numbers each, the day first) hold one keyed `day`. */
export function hasBucket(buckets: readonly number[], stride: number, day: number): boolean {
  for (let i = 0; i < buckets.length && buckets[i]! >= day; i += stride) if (buckets[i] === day) return true;
  return false;
}

/**
 * When the window's count can next change with no new event: when its oldest occurrence kept inside
 * it leaves, or when the oldest bucket counted whole that holds occurrences not kept starts to hold
 * the edge (from then on those are not counted). Conservative; Infinity when nothing is inside.
 */
export function rollingExit(
  times: readonly number[],
  stride: 1 | 2,
  buckets: ReadonlyArray<readonly number[]>,
  bucketStride: number,
  now: number,
  seconds: number,
): number {
  const { edge, edgeDay } = windowEdge(now, seconds);
  let exit = Infinity;
  for (let i = times.length - stride; i >= 0; i -= stride) {
    if (times[i]! <= edge) continue;
    exit = (times[i]! + seconds) * 1000;
    break;
  }
  // Counts of the buckets after the edge, by day (over every key), oldest first.
  const counts = new Map<number, number>();
  for (const list of buckets) {
    for (let i = 0; i < list.length && list[i]! > edgeDay; i += bucketStride)
      counts.set(list[i]!, (counts.get(list[i]!) ?? 0) + list[i + 1]!);
  }
  const days = [...counts.keys()].sort((a, b) => a - b);
  for (const [n, day] of days.entries()) {
    const next = days[n + 1] ?? Infinity;
    let kept = 0;
    for (let i = 0; i < times.length; i += stride) {
      const occurrenceDay = Math.floor(times[i]! / DAY_SECONDS);
      if (occurrenceDay >= day && occurrenceDay < next) kept++;
    }
    if (kept < counts.get(day)!) return Math.min(exit, day * DAY_MS + seconds * 1000);
  }
  return exit;
}

/** The oldest bucket day after `edgeDay` in newest-first buckets, or Infinity. */
export function oldestDayAfter(buckets: readonly number[], stride: number, edgeDay: number): number {
  let oldest = Infinity;
  for (let i = 0; i < buckets.length && buckets[i]! > edgeDay; i += stride) oldest = buckets[i]!;
  return oldest;
}
