/**
 * When can a profile's memberships next change with no new event? Rolling
 * windows drop their oldest bucket, "more than 30 days ago" becomes true. The
 * answer is stored on the profile so a sweep re-evaluates exactly the
 * profiles that are due, and memberships end on time. Conservative: an
 * instant may come with no actual change, never the reverse. Pure.
 */
import { VALUE_STRIDE, isTimesKey, specKey, timesKey } from './aggregates';
import { timeOf } from './comparisons';
import { CHANNELS, type Channel } from './events';
import { aggregateKey, isSpecKey, type Profile } from './profile';
import { own } from './records';
import {
  assertUnreachable,
  sequenceStepSpec,
  specOfCondition,
  subDaySeconds,
  type CompiledCatalog,
  type Condition,
  type DateValue,
  type EventCondition,
} from './segments';
import { DAY_MS, dayIndex } from './time';

const relativeDays = (value: unknown): number | undefined =>
  typeof value === 'object' && value !== null && 'daysAgo' in value ? (value as { daysAgo: number }).daysAgo : undefined;

/** The instant the oldest bucket inside a `days` window leaves it, over the condition's keys. */
function windowExit(condition: Pick<EventCondition, 'event' | 'channel' | 'where' | 'aggregate'>, days: number, profile: Profile, now: number): number {
  const channels = condition.channel === undefined ? CHANNELS : ([] as Channel[]).concat(condition.channel);
  const spec = specOfCondition({ type: 'event', ...condition });
  const firstDay = dayIndex(now) - days + 1;
  let oldest = Infinity;
  for (const channel of channels) {
    const key = spec ? specKey(spec, channel) : aggregateKey(condition.event, channel);
    const buckets = profile.aggregates[key];
    if (!buckets) continue;
    const stride = isTimesKey(key) ? 1 : isSpecKey(key) ? VALUE_STRIDE : 2;
    for (let i = 0; i < buckets.length && buckets[i]! >= firstDay; i += stride) oldest = Math.min(oldest, buckets[i]!);
  }
  return oldest === Infinity ? Infinity : (oldest + days) * DAY_MS;
}

/** A day-granular relative comparison flips when `day + daysAgo` days have passed. */
const dayFlip = (day: number | undefined, daysAgo: number | undefined): number =>
  day === undefined || daysAgo === undefined ? Infinity : (day + 1 + daysAgo) * DAY_MS;

export function nextChange(condition: Condition, profile: Profile, now: number): number {
  const future = (at: number) => (at > now ? at : Infinity);
  switch (condition.type) {
    case 'and':
    case 'or':
      return Math.min(...condition.conditions.map((c) => nextChange(c, profile, now)));
    case 'not':
      return nextChange(condition.condition, profile, now);
    case 'trait': {
      const daysAgo = relativeDays(condition.value);
      const at = timeOf(own(profile.traits, condition.trait));
      if (daysAgo === undefined || at === undefined) return Infinity;
      return future(at + daysAgo * DAY_MS + 1);
    }
    case 'event': {
      if (!condition.within) return Infinity;
      const seconds = subDaySeconds(condition.within);
      if (seconds === undefined) return future(windowExit(condition, condition.within.days!, profile, now));
      // The oldest occurrence still inside an hours or minutes window leaves it `seconds` after it happened.
      const times = profile.aggregates[timesKey(specOfCondition(condition)!)] ?? [];
      const inside = times.filter((t) => t >= now / 1000 - seconds);
      return inside.length === 0 ? Infinity : future((Math.min(...inside) + seconds) * 1000 + 1);
    }
    case 'performed_date': {
      const channels = condition.channel === undefined ? CHANNELS : ([] as Channel[]).concat(condition.channel);
      const days = channels
        .map((channel) => profile.aggregates[aggregateKey(condition.event, channel)])
        .filter((b): b is number[] => b !== undefined && b.length > 0)
        .map((b) => (condition.which === 'last' ? b[0]! : b[b.length - 2]!));
      if (days.length === 0) return Infinity;
      const day = condition.which === 'last' ? Math.max(...days) : Math.min(...days);
      return future(dayFlip(day, relativeDays(condition.value)));
    }
    case 'sequence': {
      const daysAgo = relativeDays(condition.since as DateValue | undefined);
      const first = profile.aggregates[timesKey(sequenceStepSpec(condition.steps[0]!))];
      if (daysAgo === undefined || !first) return Infinity;
      const since = (now - daysAgo * DAY_MS) / 1000;
      const candidates = first.filter((t) => t >= since);
      return candidates.length === 0 ? Infinity : future(Math.min(...candidates) * 1000 + daysAgo * DAY_MS + 1);
    }
    case 'stopped':
    case 'restarted': {
      const longer = condition.type === 'stopped' ? condition.before!.days : condition.recent.days + condition.gap!.days;
      return future(Math.min(windowExit(condition, condition.recent.days, profile, now), windowExit(condition, longer, profile, now)));
    }
    case 'segment':
    case 'bucket':
    // Group traits live apart from the profile: a relative date on one is re-checked on each event and by the daily freeze.
    case 'group':
    // Indicators fade continuously; the daily freeze re-evaluates every profile, which bounds the delay.
    case 'indicator':
      return Infinity;
    default:
      return assertUnreachable(condition);
  }
}

/** The earliest instant any time-dependent segment of the catalog can change for this profile. */
export function nextCheckAt(catalog: CompiledCatalog, profile: Profile, now: number): number {
  let earliest = Infinity;
  for (const segment of catalog.segments) if (segment.dependsOn.time) earliest = Math.min(earliest, nextChange(segment.condition, profile, now));
  return earliest;
}

/** Shards of the due index: spreads the profiles due in one hour over several partitions. */
export const DUE_SHARDS = 8;

/** The due-index key of an instant: its hour and a shard from the profile id, `2026-03-15T14#3`. */
export function dueKey(at: number, profileId: string): string {
  const hour = new Date(Math.ceil(at / 3_600_000) * 3_600_000).toISOString().slice(0, 13);
  let hash = 0;
  for (let i = 0; i < profileId.length; i++) hash = (hash * 31 + profileId.charCodeAt(i)) | 0;
  return `${hour}#${Math.abs(hash) % DUE_SHARDS}`;
}
