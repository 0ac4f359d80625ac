/**
 * When can a profile's memberships next change with no new event? Rolling
 * windows drop their oldest bucket, "more than 30 days ago" becomes true. The
 * answer is stored on the profile so a sweep re-evaluates exactly the
 * profiles that are due, and memberships end on time. Conservative: an
 * instant may come with no actual change, never the reverse. Pure.
 */
import { timesKey, timesStride } from './aggregates';
import { assertUnreachable } from './assert-unreachable';
import { type DateValue, timeOf } from './comparisons';
import type { CompiledRules } from './memberships';
import type { Profile } from './profile';
import { own } from './records';
import type { Condition, EventCondition } from './segment-definition';
import { eventSourcesOf, performedAt, rollingSeconds, sequenceStepSpec } from './segment-events';
import { DAY_MS, dayIndex } from './time';
import { oldestDayAfter, rollingExit } from './windows';

const relativeDays = (value: unknown): number | undefined =>
  typeof value === 'object' && value !== null && 'daysAgo' in value ? (value as { daysAgo: number }).daysAgo : undefined;

type WindowCondition = Pick<EventCondition, 'event' | 'channel' | 'where' | 'aggregate' | 'within'>;

/** The next instant an occurrence, or a bucket, leaves the condition's window (Infinity: none inside). */
function windowExit(condition: WindowCondition, profile: Profile, now: number): number {
  const { bucketKeys, stride, edgeKey } = eventSourcesOf(condition);
  const seconds = rollingSeconds(condition.within);
  if (seconds !== undefined) {
    const buckets = bucketKeys(profile).map((key) => profile.aggregates[key] ?? []);
    return rollingExit((edgeKey && profile.aggregates[edgeKey]) || [], edgeKey ? timesStride(edgeKey) : 1, buckets, stride, now, seconds);
  }
  // Calendar days: the oldest bucket inside leaves when its day is `days` days old.
  const days = condition.within!.days!;
  const oldest = Math.min(...bucketKeys(profile).map((key) => oldestDayAfter(profile.aggregates[key] ?? [], stride, dayIndex(now) - days)));
  return oldest === Infinity ? Infinity : (oldest + days) * DAY_MS;
}

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
    case 'event':
      return condition.within ? future(windowExit(condition, profile, now)) : Infinity;
    case 'performed_date': {
      const at = performedAt(condition)(profile);
      const daysAgo = relativeDays(condition.value);
      // "After n days ago" (at > now - n days) turns false once the instant is n days old; "before"
      // (at < now - n days) turns true a millisecond later.
      if (at === undefined || daysAgo === undefined) return Infinity;
      return future(at + daysAgo * DAY_MS + (condition.operator === 'date_before' ? 1 : 0));
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
      const window = (days: number) => windowExit({ ...condition, within: { days } }, profile, now);
      return future(Math.min(window(condition.recent.days), window(longer)));
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
export function nextCheckAt(rules: CompiledRules, profile: Profile, now: number): number {
  let earliest = Infinity;
  for (const segment of rules.segments)
    if (segment.dependsOn.time) earliest = Math.min(earliest, nextChange(segment.condition, profile, now));
  return earliest;
}
