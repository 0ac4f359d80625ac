/**
 * Compiles a condition tree once into plain closures, so evaluating a profile never walks the JSON.
 * Pure: no I/O.
 */

import { ANY_EVENT, timesKey } from './aggregates';
import { assertUnreachable } from './assert-unreachable';
import { aggregateKey, countSince } from './buckets';
import { type CountOperator, compileComparison, dateThreshold } from './comparisons';
import type { GroupTraits } from './groups';
import { type IndicatorValues, indicatorKey } from './indicators';
import type { Profile } from './profile';
import { own } from './records';
import {
  type Condition,
  type EventCondition,
  type GroupTraitCondition,
  gapSeconds,
  type PerformedDateCondition,
  type SequenceCondition,
  type TraitCondition,
} from './segment-definition';
import {
  aggregateValue,
  bucketOf,
  channelList,
  edgeSpecOf,
  eventWindowReader,
  findSequence,
  habitCounts,
  performedAt,
  rollingSeconds,
  sequenceStepSpec,
} from './segment-events';
import { dayIndex } from './time';
import { addEdgeOccurrences, hasBucket, windowEdge } from './windows';

/**
 * A compiled condition. `memberOf` holds the segments the profile is in as evaluated so far
 * in this pass (segments are evaluated in dependency order), for `segment` conditions;
 * `indicators` the profile's indicator values at `now`, for `indicator` conditions; `groups` the
 * traits of the profile's groups, for `group` conditions.
 */
export type Evaluator = (
  profile: Profile,
  now: number,
  memberOf: ReadonlySet<string>,
  indicators?: IndicatorValues,
  groups?: readonly GroupTraits[],
) => boolean;

/** Compiles a condition tree once into closures, so evaluation never walks the JSON. */
export function compile(condition: Condition): Evaluator {
  switch (condition.type) {
    // Plain loops: no closure allocated per evaluation on the hot path.
    case 'and': {
      const parts = condition.conditions.map(compile);
      return (profile, now, memberOf, indicators, groups) => {
        for (const part of parts) if (!part(profile, now, memberOf, indicators, groups)) return false;
        return true;
      };
    }
    case 'or': {
      const parts = condition.conditions.map(compile);
      return (profile, now, memberOf, indicators, groups) => {
        for (const part of parts) if (part(profile, now, memberOf, indicators, groups)) return true;
        return false;
      };
    }
    case 'not': {
      const inner = compile(condition.condition);
      return (profile, now, memberOf, indicators, groups) => !inner(profile, now, memberOf, indicators, groups);
    }
    case 'trait':
      return compileTrait(condition);
    case 'group':
      return compileGroupTrait(condition);
    case 'event':
      return compileEvent(condition);
    case 'performed_date':
      return compilePerformedDate(condition);
    case 'sequence':
      return compileSequence(condition);
    case 'stopped':
    case 'restarted': {
      const counts = habitCounts(condition);
      return (profile, now) => {
        const c = counts(profile, now);
        return condition.type === 'stopped' ? c.longer > 0 && c.recent === 0 : c.recent > 0 && c.longer === c.recent && c.ever > c.longer;
      };
    }
    case 'segment': {
      const { segment, member = true } = condition;
      return (_profile, _now, memberOf) => memberOf.has(segment) === member;
    }
    case 'bucket': {
      const { from, to, salt = '' } = condition;
      return (profile) => {
        const bucket = bucketOf(profile.profileId, salt);
        return bucket >= from && bucket < to;
      };
    }
    case 'indicator': {
      const key = indicatorKey(condition.indicator, condition.channel);
      const test = compileComparison(condition.operator, condition.value);
      // Without values (a caller that does not compute indicators) nothing holds, not even not_exists.
      return (_profile, now, _memberOf, indicators) => indicators !== undefined && test(own(indicators, key), now);
    }
    default:
      return assertUnreachable(condition);
  }
}

function compileTrait({ trait, operator, value, caseSensitive }: TraitCondition): Evaluator {
  const comparison = compileComparison(operator, value, caseSensitive);
  return (profile, now) => comparison(own(profile.traits, trait), now);
}

/**
 * "Their company has more than 50 employees": at least one of the profile's groups has the trait
 * matching. Without the groups' traits (a caller that does not read them), or with no group, nothing holds.
 */
function compileGroupTrait({ trait, operator, value, caseSensitive }: GroupTraitCondition): Evaluator {
  const comparison = compileComparison(operator, value, caseSensitive);
  return (_profile, now, _memberOf, _indicators, groups) => {
    if (groups === undefined) return false;
    for (const traits of groups) if (comparison(own(traits, trait), now)) return true;
    return false;
  };
}

/** "Last purchase more than 90 days ago": compares the exact first or last instant the event was performed. */
function compilePerformedDate(condition: PerformedDateCondition): Evaluator {
  const read = performedAt(condition);
  const threshold = dateThreshold(condition.value);
  return (profile, now) => {
    const at = read(profile);
    if (at === undefined) return false;
    return condition.operator === 'date_before' ? at < threshold(now) : at > threshold(now);
  };
}

function compileSequence(condition: SequenceCondition): Evaluator {
  const keys = condition.steps.map((step) => timesKey(sequenceStepSpec(step)));
  const gap = gapSeconds(condition.within);
  const since = condition.since === undefined ? () => -Infinity : dateThreshold(condition.since);
  return (profile, now) => {
    const occurrences: number[][] = [];
    for (const key of keys) {
      const times = profile.aggregates[key];
      if (!times || times.length === 0) return false;
      occurrences.push(times);
    }
    return findSequence(occurrences, gap, since(now) / 1000) !== undefined;
  };
}

function compileEvent(condition: EventCondition): Evaluator {
  const read = eventWindowReader(condition);
  // Without an aggregate, "performed" means at least once; with one, the count is checked only if asked.
  const count = condition.count ?? (condition.aggregate ? undefined : { operator: 'gte' as const, value: 1 });
  const countHolds = count ? countTest(count.operator, count.value) : () => true;
  const { aggregate } = condition;
  const aggregateHolds = aggregate ? countTest(aggregate.operator, aggregate.value) : undefined;

  const seconds = rollingSeconds(condition.within);
  if (!aggregate && !condition.where && !condition.between && condition.event !== undefined && condition.event !== ANY_EVENT) {
    // The hot path: plain counts of a named event, no allocation.
    const keys = channelList(condition.channel).map((channel) => aggregateKey(condition.event!, channel));
    const edge = edgeSpecOf(condition);
    const edgeKey = edge && timesKey(edge);
    const days = condition.within?.days;
    return (profile, now) => {
      const firstDay =
        seconds !== undefined ? windowEdge(now, seconds).edgeDay + 1 : days === undefined ? -Infinity : dayIndex(now) - days + 1;
      let total = 0;
      for (const key of keys) {
        const buckets = profile.aggregates[key];
        if (buckets !== undefined) total += countSince(buckets, firstDay);
      }
      if (edgeKey !== undefined) {
        const times = profile.aggregates[edgeKey];
        if (times)
          total += addEdgeOccurrences(times, 1, now, seconds!, (day) =>
            keys.some((key) => hasBucket(profile.aggregates[key] ?? [], 2, day)),
          );
      }
      return countHolds(total);
    };
  }
  return (profile, now) => {
    const values = read(profile, now);
    if (!countHolds(values.count)) return false;
    return !aggregate || aggregateHolds!(aggregateValue(aggregate.fn, values));
  };
}

function countTest(operator: CountOperator, value: number): (count: number) => boolean {
  switch (operator) {
    case 'gte':
      return (n) => n >= value;
    case 'gt':
      return (n) => n > value;
    case 'eq':
      return (n) => n === value;
    case 'lte':
      return (n) => n <= value;
    case 'lt':
      return (n) => n < value;
    default:
      return assertUnreachable(operator);
  }
}
