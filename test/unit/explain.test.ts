import { describe, expect, it } from 'vitest';
import { explain } from '#shared/domain/explain';
import { foldEvents } from '#shared/domain/fold';
import { newProfile } from '#shared/domain/profile';
import { bucketOf } from '#shared/domain/segment-events';
import { anEvent } from '../helpers/events';

const now = Date.parse('2026-03-15T12:00:00.000Z');

describe('explain', () => {
  const profile = foldEvents(
    newProfile('p_ada', '2026-01-01T00:00:00.000Z'),
    [
      anEvent({ type: 'identify', event: undefined, traits: { tier: 'VIP' }, at: '2026-01-01T00:00:00.000Z' }),
      anEvent({ channel: 'store', at: '2026-03-10T10:00:00.000Z' }),
      anEvent({ channel: 'web', at: '2026-01-10T10:00:00.000Z' }),
    ],
    [],
    now,
  ).profile;

  it('says which parts held and what was seen', () => {
    const result = explain(
      {
        type: 'or',
        conditions: [
          { type: 'trait', trait: 'tier', operator: 'eq', value: 'gold' },
          { type: 'event', event: 'Order Completed', channel: 'store', count: { operator: 'gte', value: 2 }, within: { days: 30 } },
          { type: 'not', condition: { type: 'bucket', from: 0, to: 100 } },
        ],
      },
      profile,
      now,
      new Set(),
    );
    expect(result).toEqual({
      condition: 'any of',
      held: false,
      parts: [
        { condition: 'trait tier eq "gold"', held: false, seen: 'VIP' },
        { condition: 'Order Completed on store, count gte 2 in the last 30 days', held: false, seen: { count: 1 } },
        {
          condition: 'not',
          held: false,
          parts: [{ condition: 'bucket 0 to 99 of 100', held: true, seen: { bucket: bucketOf('p_ada', '') } }],
        },
      ],
    });
  });

  it('shows the instant an event was first performed, across channels, exact beyond the 35 days buckets stay daily', () => {
    const result = explain(
      { type: 'performed_date', event: 'Order Completed', which: 'first', operator: 'date_after', value: { daysAgo: 30 } },
      profile,
      now,
      new Set(),
    );
    // 2026-01-10 is 64 days back: its bucket is now the week starting 2026-01-08, its instant is kept apart.
    expect(profile.aggregates['Order Completed|web']).toEqual([Date.parse('2026-01-08') / 86_400_000, 1]);
    expect(result).toEqual({
      condition: 'first Order Completed after 30 days ago',
      held: false,
      seen: { first: '2026-01-10T10:00:00.000Z' },
    });
  });
});
