import { describe, expect, it } from 'vitest';
import { nextChange, nextCheckAt } from '../../shared/domain/next-change';
import { foldEvents, newProfile, type Profile } from '../../shared/domain/profile';
import { compileCatalog, compile, type Condition, type Segment } from '../../shared/domain/segments';
import { anEvent } from '../helpers/events';

const now = Date.parse('2026-03-15T12:00:00.000Z');
const day = (iso: string) => Date.parse(`${iso}T00:00:00.000Z`);

function profileWith(traits: Record<string, unknown>, events: Parameters<typeof anEvent>[0][]): Profile {
  return foldEvents(newProfile('p1', '2026-01-01T00:00:00.000Z'), [anEvent({ type: 'identify', event: undefined, traits, at: '2026-01-01T00:00:00.000Z' }), ...events.map((e) => anEvent(e))], [], now).profile;
}

describe('nextChange', () => {
  const profile = profileWith({ signedUpAt: '2026-03-01T08:00:00.000Z', tier: 'vip' }, [
    { at: '2026-03-10T10:00:00.000Z' },
    { at: '2026-03-14T10:00:00.000Z' },
  ]);

  it.each<[string, Condition, number]>([
    ['a 7-day window: when its oldest counted day leaves', { type: 'event', event: 'Order Completed', within: { days: 7 } }, day('2026-03-17')],
    ['"signed up more than 30 days ago": when 30 days have passed', { type: 'trait', trait: 'signedUpAt', operator: 'date_before', value: { daysAgo: 30 } }, Date.parse('2026-03-31T08:00:00.001Z')],
    ['"last order more than 14 days ago": the day after 14 days', { type: 'performed_date', event: 'Order Completed', which: 'last', operator: 'date_before', value: { daysAgo: 14 } }, day('2026-03-29')],
    ['an and: the earliest of its parts', { type: 'and', conditions: [{ type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' }, { type: 'event', event: 'Order Completed', within: { days: 30 } }] }, day('2026-04-09')],
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
    const seg = (id: string, condition: Condition): Segment => ({ id, name: id, condition, revision: 1, languageVersion: 1, status: 'ready', createdAt: '', updatedAt: '' });
    const catalog = compileCatalog([
      seg('vip', { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' }),
      seg('month', { type: 'event', event: 'Order Completed', within: { days: 30 } }),
      seg('week', { type: 'event', event: 'Order Completed', within: { days: 7 } }),
    ]);
    expect(nextCheckAt(catalog, profile, now)).toBe(day('2026-03-17'));
    expect(nextCheckAt(compileCatalog([seg('vip', { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' })]), profile, now)).toBe(Infinity);
  });
});
