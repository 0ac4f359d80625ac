/**
 * Behaviour on the profile: counts per event and channel in day buckets (weeks beyond 35 days, 400
 * days in all), read over windows and pruned to the profile's limits. Pure: no I/O.
 */

import { eventKey, isTimesKey, keyParts, timesStride, VALUE_STRIDE } from './aggregates';
import type { Channel, EnrichedEvent } from './events';
import { holdsToken, messageToken } from './message-tokens';
import { type Buckets, type LimitReached, PROFILE_LIMITS, type Profile } from './profile';
import { emptyRecord } from './records';
import { dayIndex } from './time';
import { weekStart } from './windows';

/** A backfill runs at most this long: its markers on profiles are dropped after it. */
export const BACKFILL_MAX_DAYS = 30;

/** The name under which an event's occurrences are counted, or undefined for events that are not behaviour. */
export function behaviourName(event: Pick<EnrichedEvent, 'type' | 'event'>): string | undefined {
  switch (event.type) {
    case 'track':
      return event.event;
    case 'page':
      return 'Page Viewed';
    case 'screen':
      return 'Screen Viewed';
    case 'identify':
    case 'group':
    case 'alias':
      return undefined;
  }
}

export const aggregateKey = (event: string, channel: Channel): string => eventKey(event, channel);

export function addToBuckets(buckets: Buckets, day: number, count: number): void {
  let i = 0;
  while (i < buckets.length && buckets[i]! > day) i += 2;
  if (buckets[i] === day) buckets[i + 1]! += count;
  else buckets.splice(i, 0, day, count);
}

/** Sum of the counts on `firstDay` or later. */
export function countSince(buckets: Buckets, firstDay: number): number {
  let total = 0;
  for (let i = 0; i < buckets.length && buckets[i]! >= firstDay; i += 2) total += buckets[i + 1]!;
  return total;
}

export const totalCount = (buckets: Buckets): number => countSince(buckets, -Infinity);

/** Sum of the counts from `firstDay` to `lastDay`, both included. */
export function countBetween(buckets: Buckets, firstDay: number, lastDay: number): number {
  let total = 0;
  for (let i = 0; i < buckets.length && buckets[i]! >= firstDay; i += 2) if (buckets[i]! <= lastDay) total += buckets[i + 1]!;
  return total;
}

export const hasSeen = (profile: Profile, messageId: string): boolean => holdsToken(profile.recent, messageToken(messageId));

export function pruneAggregates(profile: Profile, now: number, limits: LimitReached[]): void {
  if (profile.backfills) {
    for (const [runId, [startDay]] of Object.entries(profile.backfills))
      if (startDay < dayIndex(now) - BACKFILL_MAX_DAYS) delete profile.backfills[runId];
    if (Object.keys(profile.backfills).length === 0) delete profile.backfills;
  }
  const oldest = dayIndex(now) - PROFILE_LIMITS.horizonDays;
  const lastActive = new Map<string, number>();
  for (const [key, buckets] of Object.entries(profile.aggregates)) {
    // Times start with epoch seconds (one or two numbers per entry); buckets start with a day index.
    const [stride, oldestEntry] = isTimesKey(key) ? [timesStride(key), oldest * 86_400] : [isSpecKey(key) ? VALUE_STRIDE : 2, oldest];
    let keep = 0;
    while (keep < buckets.length && buckets[keep]! >= oldestEntry) keep += stride;
    buckets.length = keep;
    if (!isTimesKey(key)) coarsen(buckets, stride, dayIndex(now) - PROFILE_LIMITS.dailyDays);
    if (keep === 0) delete profile.aggregates[key];
    else lastActive.set(key, isTimesKey(key) ? Math.floor(buckets[0]! / 86_400) : buckets[0]!);
  }
  const excess = lastActive.size - PROFILE_LIMITS.aggregateKeys;
  if (excess > 0) {
    const stalest = [...lastActive.entries()].sort((a, b) => a[1] - b[1]).slice(0, excess);
    for (const [key] of stalest) {
      delete profile.aggregates[key];
      limits.push({ limit: 'aggregateKeys', what: key });
    }
  }
  // First and last instants outlive the buckets' horizon, under the same bound on keys.
  const performed = Object.entries(profile.performed ?? {});
  if (performed.length > PROFILE_LIMITS.aggregateKeys) {
    for (const [key] of performed.sort((a, b) => a[1][1] - b[1][1]).slice(0, performed.length - PROFILE_LIMITS.aggregateKeys))
      delete profile.performed![key];
  }
}

/**
 * Merges buckets of days before `cutoff` into week buckets (keyed by the week's first day index),
 * in place. Counts and sums add up, minima and maxima combine. Windows reaching that far back
 * are therefore week-granular: a week counts when it starts inside the window.
 */
export function coarsen(buckets: number[], stride: number, cutoff: number): void {
  let write = 0;
  for (let read = 0; read < buckets.length; read += stride) {
    const day = buckets[read]!;
    const target = day >= cutoff ? day : weekStart(day);
    const previous = write - stride;
    if (previous >= 0 && buckets[previous] === target) {
      buckets[previous + 1]! += buckets[read + 1]!;
      if (stride === VALUE_STRIDE) {
        buckets[previous + 2]! += buckets[read + 2]!;
        buckets[previous + 3] = Math.min(buckets[previous + 3]!, buckets[read + 3]!);
        buckets[previous + 4] = Math.max(buckets[previous + 4]!, buckets[read + 4]!);
      }
      continue;
    }
    for (let k = 0; k < stride; k++) buckets[write + k] = buckets[read + k]!;
    buckets[write] = target;
    write += stride;
  }
  buckets.length = write;
}

/** Keys of filtered and valued aggregates have a third part, the spec id. */
export const isSpecKey = (key: string): boolean => key.split('|').length === 3;

/**
 * The plain counts (not the filtered aggregates kept for segments) by event name, then channel, each
 * channel's buckets read through `read`. Keyed by names a client chose: records without a prototype.
 */
export function perEventAndChannel<T>(
  profile: Pick<Profile, 'aggregates'>,
  read: (buckets: Buckets) => T,
): Record<string, Record<string, T>> {
  const events = emptyRecord<Record<string, T>>();
  for (const [key, buckets] of Object.entries(profile.aggregates)) {
    if (isSpecKey(key)) continue;
    const { event, channel } = keyParts(key);
    (events[event] ??= emptyRecord())[channel] = read(buckets);
  }
  return events;
}
