/**
 * Why a profile is (or is not) in a segment: each part of the condition, whether
 * it held, and the value Prisme saw. For people to understand, and contest,
 * their categorisation (GDPR). Pure: no I/O.
 */

import { ANY_EVENT, timesKey } from './aggregates';
import { assertUnreachable } from './assert-unreachable';
import { type DateValue, dateThreshold } from './comparisons';
import type { Channel } from './events';
import type { GroupTraits } from './groups';
import { type IndicatorValues, indicatorKey } from './indicators';
import type { Profile } from './profile';
import { own } from './records';
import { compile } from './segment-compiler';
import type { Condition, EventCondition } from './segment-definition';
import { gapSeconds } from './segment-definition';
import { aggregateValue, bucketOf, eventWindowReader, findSequence, habitCounts, performedAt, sequenceStepSpec } from './segment-events';

export interface Explanation {
  /** The part of the condition, in words. */
  condition: string;
  held: boolean;
  /** What Prisme saw in the profile for this part. */
  seen?: unknown;
  parts?: Explanation[];
}

const onChannels = (channel?: Channel | Channel[]) =>
  channel === undefined ? '' : ` on ${([] as Channel[]).concat(channel).join(' or ')}`;
const dateText = (value: DateValue) => (typeof value === 'string' ? value : `${value.daysAgo} days ago`);
const windowText = ({ within, between }: EventCondition): string => {
  if (between) return ` from ${between.from} to ${between.to}`;
  if (!within) return ' ever';
  if (within.calendar) return ` in the last ${within.days} calendar days (UTC, today included)`;
  const [unit, amount] = (['days', 'hours', 'minutes'] as const).map((u) => [u, within[u]] as const).find(([, v]) => v !== undefined)!;
  return ` in the last ${amount} ${unit}`;
};
const eventText = (event?: string) => (event === undefined || event === ANY_EVENT ? 'any event' : event);
const comparisonText = (operator: string, value: unknown, caseSensitive?: boolean) =>
  `${operator.replaceAll('_', ' ')}${value === undefined ? '' : ` ${JSON.stringify(value)}`}${caseSensitive ? ' (case-sensitive)' : ''}`;

/** A group of the profile as explain shows it: its id and traits. */
export interface ExplainedGroup {
  groupId: string;
  traits: GroupTraits;
}

export function explain(
  condition: Condition,
  profile: Profile,
  now: number,
  memberOf: ReadonlySet<string>,
  indicators?: IndicatorValues,
  groups?: readonly ExplainedGroup[],
): Explanation {
  const held = compile(condition)(
    profile,
    now,
    memberOf,
    indicators,
    groups?.map((g) => g.traits),
  );
  switch (condition.type) {
    case 'and':
    case 'or':
      return {
        condition: condition.type === 'and' ? 'all of' : 'any of',
        held,
        parts: condition.conditions.map((part) => explain(part, profile, now, memberOf, indicators, groups)),
      };
    case 'not':
      return { condition: 'not', held, parts: [explain(condition.condition, profile, now, memberOf, indicators, groups)] };
    case 'trait':
      return {
        condition: `trait ${condition.trait} ${comparisonText(condition.operator, condition.value, condition.caseSensitive)}`,
        held,
        seen: own(profile.traits, condition.trait) ?? null,
      };
    case 'group':
      return {
        condition: `a group's trait ${condition.trait} ${comparisonText(condition.operator, condition.value, condition.caseSensitive)}`,
        held,
        // Each of the profile's groups with its value of the trait.
        seen: { groups: (groups ?? []).map((g) => ({ groupId: g.groupId, value: own(g.traits, condition.trait) ?? null })) },
      };
    case 'event': {
      const values = eventWindowReader(condition)(profile, now);
      const count = condition.count ?? (condition.aggregate ? undefined : { operator: 'gte', value: 1 });
      const { aggregate, where } = condition;
      const text = [
        `${eventText(condition.event)}${onChannels(condition.channel)}`,
        ...(where
          ? [`where ${where.map((f) => `${f.property} ${comparisonText(f.operator, f.value, f.caseSensitive)}`).join(' and ')}`]
          : []),
        ...(count ? [`count ${count.operator} ${count.value}`] : []),
        ...(aggregate ? [`${aggregate.fn} of ${aggregate.property} ${aggregate.operator} ${aggregate.value}`] : []),
      ].join(', ');
      const figure = aggregate ? aggregateValue(aggregate.fn, values) : undefined;
      return {
        condition: `${text}${windowText(condition)}`,
        held,
        seen: aggregate ? { count: values.count, [aggregate.fn]: Number.isNaN(figure) ? null : figure } : { count: values.count },
      };
    }
    case 'performed_date': {
      const at = performedAt(condition)(profile);
      return {
        condition: `${condition.which} ${eventText(condition.event)}${onChannels(condition.channel)} ${condition.operator.replace('date_', '')} ${dateText(condition.value)}`,
        held,
        seen: { [condition.which]: at === undefined ? null : new Date(at).toISOString() },
      };
    }
    case 'sequence': {
      const occurrences = condition.steps.map((step) => profile.aggregates[timesKey(sequenceStepSpec(step))] ?? []);
      const since = condition.since === undefined ? -Infinity : dateThreshold(condition.since)(now) / 1000;
      const run = findSequence(occurrences, gapSeconds(condition.within), since);
      const gap = Object.entries(condition.within)
        .map(([unit, n]) => `${n} ${unit}`)
        .join(' ');
      return {
        condition: `${condition.steps.map((s) => s.event).join(', then ')}, each within ${gap}${condition.since ? ` since ${dateText(condition.since)}` : ''}`,
        held,
        seen: { occurrences: occurrences.map((o) => o.length), run: run ? run.map((t) => new Date(t * 1000).toISOString()) : null },
      };
    }
    case 'stopped':
    case 'restarted': {
      const counts = habitCounts(condition)(profile, now);
      const longer = condition.type === 'stopped' ? `the last ${condition.before!.days} days` : `the ${condition.gap!.days} days before`;
      return {
        condition: `${condition.type} ${eventText(condition.event)}${onChannels(condition.channel)}: last ${condition.recent.days} days vs ${longer}`,
        held,
        seen: counts,
      };
    }
    case 'segment':
      return {
        condition: `${condition.member === false ? 'not in' : 'in'} segment ${condition.segment}`,
        held,
        seen: { member: memberOf.has(condition.segment) },
      };
    case 'bucket':
      return {
        condition: `bucket ${condition.from} to ${condition.to - 1} of 100${condition.salt ? ` (salt ${condition.salt})` : ''}`,
        held,
        seen: { bucket: bucketOf(profile.profileId, condition.salt ?? '') },
      };
    case 'indicator': {
      const key = indicatorKey(condition.indicator, condition.channel);
      return {
        condition: `indicator ${key.replace('|', ' on ')} ${condition.operator.replaceAll('_', ' ')}${condition.value === undefined ? '' : ` ${JSON.stringify(condition.value)}`}`,
        held,
        seen: { [key]: own(indicators, key) ?? null },
      };
    }
    default:
      return assertUnreachable(condition);
  }
}
