/**
 * How event conditions read a profile: which aggregate keys and specs hold an event on its channels,
 * the counts and values inside a window, first and last instants, habits, sequences and buckets.
 * Shared by the compiler and by explanations, so both read a profile the same way. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import {
  type AggregateSpec,
  ANY_EVENT,
  aggregateSpec,
  emptyWindow,
  isTimesKey,
  keyParts,
  occurrenceSpec,
  readValues,
  specKey,
  timesKey,
  timesStride,
  VALUE_STRIDE,
  type WindowValues,
} from './aggregates';
import { assertUnreachable } from './assert-unreachable';
import { aggregateKey, countBetween, isSpecKey } from './buckets';
import { CHANNELS, type Channel } from './events';
import type { Profile } from './profile';
import { own } from './records';
import type { AggregateFunction, EventCondition, HabitCondition, PerformedDateCondition, SequenceStep } from './segment-definition';
import { DAY_MS, dayIndex } from './time';
import { addEdgeOccurrences, hasBucket, windowEdge } from './windows';

/** The event a condition names, ANY_EVENT when it names none. */
export const eventOf = (condition: { event?: string }): string => condition.event ?? ANY_EVENT;

const isAnyEvent = (event: string): boolean => event === ANY_EVENT;

export const channelList = (channel?: Channel | Channel[]): readonly Channel[] =>
  channel === undefined ? CHANNELS : ([] as Channel[]).concat(channel);

/**
 * The plain `event|channel` keys of the profile a condition reads: fixed for a named event, every
 * behaviour's on those channels for any event.
 */
export function plainKeysOf(
  event: string,
  channel?: Channel | Channel[],
): (profile: Pick<Profile, 'aggregates' | 'performed'>, from?: 'aggregates' | 'performed') => readonly string[] {
  const channels = channelList(channel);
  if (!isAnyEvent(event)) {
    const keys = channels.map((c) => aggregateKey(event, c));
    return () => keys;
  }
  const wanted = new Set<string>(channels);
  return (profile, from = 'aggregates') =>
    Object.keys((from === 'aggregates' ? profile.aggregates : profile.performed) ?? {}).filter(
      (key) => !isSpecKey(key) && !isTimesKey(key) && wanted.has(keyParts(key).channel),
    );
}

/**
 * The first or last instant (epoch ms) an event was performed on the condition's channels, exact from
 * the profile's `performed` record; from the buckets' days for profiles folded before it existed.
 */
export function performedAt(
  condition: Pick<PerformedDateCondition, 'event' | 'channel' | 'which'>,
): (profile: Profile) => number | undefined {
  const keysOf = plainKeysOf(eventOf(condition), condition.channel);
  const last = condition.which === 'last';
  return (profile) => {
    let at: number | undefined;
    const consider = (ms: number) => {
      if (at === undefined || (last ? ms > at : ms < at)) at = ms;
    };
    for (const key of new Set([...keysOf(profile), ...keysOf(profile, 'performed')])) {
      const exact = own(profile.performed, key);
      if (exact) {
        consider((last ? exact[1] : exact[0]) * 1000);
        continue;
      }
      const buckets = profile.aggregates[key];
      if (!buckets || buckets.length === 0) continue;
      consider(last ? (buckets[0]! + 1) * DAY_MS - 1 : buckets[buckets.length - 2]! * DAY_MS);
    }
    return at;
  };
}

/**
 * Counts of a habit's event in the recent window, in the longer window (`before`, or `recent + gap`),
 * and over all retained history.
 */
export function habitCounts(
  condition: HabitCondition,
): (profile: Profile, now: number) => { recent: number; longer: number; ever: number } {
  const base = { type: 'event' as const, event: condition.event, channel: condition.channel, where: condition.where };
  // Rolling windows, like event conditions': "not in the last 30 days" is the last 30 x 24 h.
  const longerDays = condition.type === 'stopped' ? condition.before!.days : condition.recent.days + condition.gap!.days;
  const recent = eventWindowReader({ ...base, within: condition.recent });
  const longer = eventWindowReader({ ...base, within: { days: longerDays } });
  const ever = eventWindowReader(base);
  return (profile, now) => ({ recent: recent(profile, now).count, longer: longer(profile, now).count, ever: ever(profile, now).count });
}

export const sequenceStepSpec = (step: SequenceStep): AggregateSpec =>
  occurrenceSpec(step.event, step.where, step.channel === undefined ? undefined : ([] as Channel[]).concat(step.channel));

/**
 * Finds the instants of a run of the steps, each within the gap of the previous, the first on or
 * after `since`; undefined when there is none. Each step's occurrences are newest first.
 */
export function findSequence(occurrences: ReadonlyArray<readonly number[]>, gap: number, since: number): number[] | undefined {
  const [first, ...rest] = occurrences;
  if (!first) return undefined;
  // Earliest first steps first; for each, the earliest possible next steps (greedy is exact here).
  for (let i = first.length - 1; i >= 0; i--) {
    const start = first[i]!;
    if (start < since) continue;
    const run = [start];
    for (const step of rest) {
      const previous = run[run.length - 1]!;
      let next: number | undefined;
      for (let j = step.length - 1; j >= 0; j--) {
        if (step[j]! >= previous) {
          next = step[j];
          break;
        }
      }
      if (next === undefined || next > previous + gap) break;
      run.push(next);
    }
    if (run.length === occurrences.length) return run;
  }
  return undefined;
}

/** 0-99, stable for a profile and salt. */
export function bucketOf(profileId: string, salt: string): number {
  return createHash('sha256').update(`${salt}\u0000${profileId}`).digest().readUInt32BE(0) % 100;
}

/** Seconds of a rolling window (every `within` but calendar days); undefined for calendar days and none. */
export const rollingSeconds = (within: EventCondition['within']): number | undefined =>
  within && !within.calendar ? (within.days ?? 0) * 86_400 + (within.hours ?? 0) * 3_600 + (within.minutes ?? 0) * 60 : undefined;

/**
 * The daily buckets an event condition reads: its own filtered or valued spec when it filters or
 * aggregates, otherwise the plain counts (undefined).
 */
export function bucketSpecOf(condition: Pick<EventCondition, 'event' | 'where' | 'aggregate'>): AggregateSpec | undefined {
  if (!condition.where && !condition.aggregate) return undefined;
  return aggregateSpec(eventOf(condition), condition.where, condition.aggregate?.property);
}

/** The latest occurrences a rolling window reads at its edge (with the aggregated property's value), or undefined. */
export function edgeSpecOf(
  condition: Pick<EventCondition, 'event' | 'channel' | 'where' | 'aggregate' | 'within'>,
): AggregateSpec | undefined {
  if (rollingSeconds(condition.within) === undefined) return undefined;
  return occurrenceSpec(
    eventOf(condition),
    condition.where,
    condition.channel === undefined ? undefined : channelList(condition.channel),
    condition.aggregate?.property,
  );
}

/** Where an event condition's occurrences are kept on a profile: the bucket keys (and their stride) and the edge's list. */
export interface EventSources {
  bucketKeys: (profile: Profile) => readonly string[];
  stride: number;
  edgeKey?: string;
}

export function eventSourcesOf(condition: Pick<EventCondition, 'event' | 'channel' | 'where' | 'aggregate' | 'within'>): EventSources {
  const spec = bucketSpecOf(condition);
  const edge = edgeSpecOf(condition);
  const edgeKey = edge && timesKey(edge);
  if (!spec) return { bucketKeys: plainKeysOf(eventOf(condition), condition.channel), stride: 2, ...(edgeKey && { edgeKey }) };
  const keys = channelList(condition.channel).map((channel) => specKey(spec, channel));
  return { bucketKeys: () => keys, stride: VALUE_STRIDE, ...(edgeKey && { edgeKey }) };
}

/** Count, sum, min and max of an event condition's occurrences in its window, over its channels. */
export function eventWindowReader(condition: EventCondition): (profile: Profile, now: number) => WindowValues {
  const { bucketKeys, stride, edgeKey } = eventSourcesOf(condition);
  const seconds = rollingSeconds(condition.within);
  const days = condition.within?.days;
  const fixed = condition.between && {
    first: dayIndex(Date.parse(condition.between.from)),
    last: dayIndex(Date.parse(condition.between.to)),
  };
  return (profile, now) => {
    // Rolling: every bucket after the edge's day whole, then the edge's own occurrences.
    const edgeDay = seconds === undefined ? undefined : windowEdge(now, seconds).edgeDay;
    const firstDay = fixed ? fixed.first : edgeDay !== undefined ? edgeDay + 1 : days === undefined ? -Infinity : dayIndex(now) - days + 1;
    const lastDay = fixed ? fixed.last : Infinity;
    const values = emptyWindow();
    const keys = bucketKeys(profile);
    for (const key of keys) {
      const buckets = profile.aggregates[key];
      if (buckets === undefined) continue;
      if (stride === VALUE_STRIDE) readValues(buckets, firstDay, values, lastDay);
      else values.count += countBetween(buckets, firstDay, lastDay);
    }
    if (seconds !== undefined && edgeKey !== undefined) {
      const times = profile.aggregates[edgeKey];
      if (times)
        addEdgeOccurrences(
          times,
          timesStride(edgeKey),
          now,
          seconds,
          (day) => keys.some((key) => hasBucket(profile.aggregates[key] ?? [], stride, day)),
          values,
        );
    }
    return values;
  };
}

/** The figure an aggregate asks for; NaN (never passing a test) for avg, min, max of no occurrence. */
export function aggregateValue(fn: AggregateFunction, values: WindowValues): number {
  switch (fn) {
    case 'sum':
      return values.sum;
    case 'avg':
      return values.count === 0 ? NaN : values.sum / values.count;
    case 'min':
      return values.count === 0 ? NaN : values.min;
    case 'max':
      return values.count === 0 ? NaN : values.max;
    default:
      return assertUnreachable(fn);
  }
}
