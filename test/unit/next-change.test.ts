import { describe, expect, it } from 'vitest';
import { foldEvents } from '#shared/domain/fold';
import { compileRules } from '#shared/domain/memberships';
import { nextChange, nextCheckAt } from '#shared/domain/next-change';
import { newProfile, type Profile } from '#shared/domain/profile';
import { compile } from '#shared/domain/segment-compiler';
import type { Condition, Segment } from '#shared/domain/segment-definition';
import { anEvent } from '../helpers/events';

const now = Date.parse('2026-03-15T12:00:00.000Z');
const day = (iso: string) => Date.parse(`${iso}T00:00:00.000Z`);

const seg = (id: string, condition: Condition): Segment => ({
  id,
  name: id,
  condition,
  revision: 1,
  languageVersion: 1,
  status: 'ready',
  createdAt: '',
  updatedAt: '',
});
const windows: Condition[] = [
  { type: 'event', event: 'Order Completed', within: { days: 7 } },
  { type: 'event', event: 'Order Completed', within: { days: 30 } },
];

/** A profile folded with the aggregates the rolling windows above keep, as a processor with those segments folds it. */
function profileWith(traits: Record<string, unknown>, events: Parameters<typeof anEvent>[0][]): Profile {
  const { specs } = compileRules(windows.map((c, i) => seg(`w${i}`, c)));
  return foldEvents(
    newProfile('p1', '2026-01-01T00:00:00.000Z'),
    [anEvent({ type: 'identify', event: undefined, traits, at: '2026-01-01T00:00:00.000Z' }), ...events.map((e) => anEvent(e))],
    [],
    now,
    specs,
  ).profile;
}

describe('nextChange', () => {
  const profile = profileWith({ signedUpAt: '2026-03-01T08:00:00.000Z', tier: 'vip' }, [
    { at: '2026-03-10T10:00:00.000Z' },
    { at: '2026-03-14T10:00:00.000Z' },
  ]);

  it.each<[string, Condition, number]>([
    ['a 7-day window: 7 x 24 h after its oldest occurrence', windows[0]!, Date.parse('2026-03-17T10:00:00.000Z')],
    [
      'a 7-calendar-day window: when its oldest counted day leaves',
      { type: 'event', event: 'Order Completed', within: { days: 7, calendar: true } },
      day('2026-03-17'),
    ],
    [
      '"signed up more than 30 days ago": when 30 days have passed',
      { type: 'trait', trait: 'signedUpAt', operator: 'date_before', value: { daysAgo: 30 } },
      Date.parse('2026-03-31T08:00:00.001Z'),
    ],
    [
      '"last order more than 14 days ago": 14 x 24 h after it',
      { type: 'performed_date', event: 'Order Completed', which: 'last', operator: 'date_before', value: { daysAgo: 14 } },
      Date.parse('2026-03-28T10:00:00.001Z'),
    ],
    [
      'an and: the earliest of its parts',
      { type: 'and', conditions: [{ type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' }, windows[1]!] },
      Date.parse('2026-04-09T10:00:00.000Z'),
    ],
    ['a plain trait: never', { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' }, Infinity],
    ['an all-time count: never', { type: 'event', event: 'Order Completed', count: { operator: 'gte', value: 2 } }, Infinity],
  ])('%s', (_name, condition, expected) => {
    expect(nextChange(condition, profile, now)).toBe(expected);
  });

  it('is right: just before the instant the result is the same as now, at it the result may differ', () => {
    const condition: Condition = { type: 'event', event: 'Order Completed', count: { operator: 'gte', value: 2 }, within: { days: 7 } };
    const at = nextChange(condition, profile, now);
    const matches = compile(condition);
    expect(matches(profile, now, new Set())).toBe(true);
    expect(matches(profile, at - 1, new Set())).toBe(true);
    expect(matches(profile, at, new Set())).toBe(false);
  });

  it('takes the earliest over the time-dependent segments of a catalog', () => {
    const catalog = compileRules([
      seg('vip', { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' }),
      seg('month', windows[1]!),
      seg('week', windows[0]!),
    ]);
    expect(nextCheckAt(catalog, profile, now)).toBe(Date.parse('2026-03-17T10:00:00.000Z'));
    expect(nextCheckAt(compileRules([seg('vip', { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' })]), profile, now)).toBe(
      Infinity,
    );
  });
});
