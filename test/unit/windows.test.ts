import { describe, expect, it } from 'vitest';
import { explain } from '#shared/domain/explain';
import { foldEvents } from '#shared/domain/fold';
import { compileRules } from '#shared/domain/memberships';
import { nextChange } from '#shared/domain/next-change';
import { newProfile, type Profile } from '#shared/domain/profile';
import { compile } from '#shared/domain/segment-compiler';
import { type Condition, conditionSchema } from '#shared/domain/segment-definition';
import { anEvent } from '../helpers/events';

const now = Date.parse('2026-03-15T12:00:00.000Z');
const hoursAgo = (h: number) => new Date(now - h * 3_600_000).toISOString();

function fold(condition: Condition, events: Parameters<typeof anEvent>[0][]): Profile {
  const { specs } = compileRules([
    { id: 's', name: 's', condition, revision: 1, languageVersion: 1, status: 'ready', createdAt: '', updatedAt: '' },
  ]);
  return foldEvents(
    newProfile('p1', '2026-01-01T00:00:00.000Z'),
    events.map((e) => anEvent(e)),
    [],
    now,
    specs,
  ).profile;
}

describe('windows in hours and minutes', () => {
  const lastTwoHours: Condition = {
    type: 'event',
    event: 'Product Viewed',
    channel: 'web',
    count: { operator: 'gte', value: 2 },
    within: { hours: 2 },
  };

  it('count exactly, not by day', () => {
    const profile = fold(lastTwoHours, [
      { event: 'Product Viewed', at: hoursAgo(0.5) },
      { event: 'Product Viewed', at: hoursAgo(1.5) },
      { event: 'Product Viewed', at: hoursAgo(3) },
    ]);
    const matches = compile(lastTwoHours);
    expect(matches(profile, now, new Set())).toBe(true);
    // 30 minutes later the 1.5-hour-old view is out.
    expect(matches(profile, now + 31 * 60_000, new Set())).toBe(false);
    // The window is (now - 2 h, now]: the view leaves exactly 2 h after it happened.
    const exit = Date.parse(hoursAgo(1.5)) + 2 * 3_600_000;
    expect(nextChange(lastTwoHours, profile, now)).toBe(exit);
    expect(matches(profile, exit - 1, new Set())).toBe(true);
    expect(matches(profile, exit, new Set())).toBe(false);
    expect(explain(lastTwoHours, profile, now, new Set())).toMatchObject({
      condition: 'Product Viewed on web, count gte 2 in the last 2 hours',
      seen: { count: 2 },
    });
  });

  it('honour the channel and filters of the condition', () => {
    const condition: Condition = {
      type: 'event',
      event: 'Product Viewed',
      channel: 'app',
      where: [{ property: 'sku', operator: 'eq', value: 'A1' }],
      within: { minutes: 30 },
    };
    const profile = fold(condition, [
      { event: 'Product Viewed', channel: 'app', properties: { sku: 'B2' }, at: hoursAgo(0.1) },
      { event: 'Product Viewed', channel: 'web', properties: { sku: 'A1' }, at: hoursAgo(0.1) },
    ]);
    expect(compile(condition)(profile, now, new Set())).toBe(false);
    const viewed = fold(condition, [{ event: 'Product Viewed', channel: 'app', properties: { sku: 'A1' }, at: hoursAgo(0.2) }]);
    expect(compile(condition)(viewed, now, new Set())).toBe(true);
  });

  it('refuse what they cannot answer', () => {
    // Inside a day only the latest 50 occurrences have instants.
    const bad = conditionSchema.safeParse({
      type: 'event',
      event: 'X',
      within: { hours: 2 },
      aggregate: { fn: 'sum', property: 'v', operator: 'gt', value: 1 },
    });
    expect(bad.error!.issues.map((i) => i.path.join('.'))).toContain('aggregate');
    expect(
      conditionSchema.safeParse({ type: 'event', event: 'X', within: { hours: 2 }, count: { operator: 'gte', value: 51 } }).success,
    ).toBe(false);
    expect(conditionSchema.safeParse({ type: 'event', event: 'X', within: { hours: 2, days: 1 } }).success).toBe(false);
    const calendarHours = conditionSchema.safeParse({ type: 'event', event: 'X', within: { hours: 2, calendar: true } });
    expect(calendarHours.error!.issues.map((i) => i.path.join('.'))).toContain('within.calendar');
  });
});

describe('fixed periods', () => {
  it('count the days between two dates, both included', () => {
    const march: Condition = {
      type: 'event',
      event: 'Order Completed',
      between: { from: '2026-03-01T00:00:00Z', to: '2026-03-10T23:59:59Z' },
      count: { operator: 'eq', value: 2 },
    };
    const profile = fold(march, [
      { at: '2026-02-28T23:00:00.000Z' },
      { at: '2026-03-01T08:00:00.000Z' },
      { at: '2026-03-10T20:00:00.000Z' },
      { at: '2026-03-11T01:00:00.000Z' },
    ]);
    expect(compile(march)(profile, now, new Set())).toBe(true);
    expect(nextChange(march, profile, now)).toBe(Infinity);
    expect(conditionSchema.safeParse({ ...march, within: { days: 3 } }).success).toBe(false);
    expect(conditionSchema.safeParse({ ...march, between: { from: '2026-03-10T00:00:00Z', to: '2026-03-01T00:00:00Z' } }).success).toBe(
      false,
    );
  });
});
