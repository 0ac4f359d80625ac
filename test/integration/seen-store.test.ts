/**
 * The seen catalog on DynamoDB (dynalite): counts from several processor instances add up exactly,
 * samples merge by key, a name's keys stop at their limit while its count goes on, hostile names are
 * names, and the list comes most seen first.
 */
import { describe, expect, it } from 'vitest';
import { SEEN_LIMITS, type SeenTally, tallySeen } from '#shared/domain/seen-catalog';
import { emulatedStores } from '../helpers/aws';
import { anEvent } from '../helpers/events';

const tally = (name: string, count: number, keys: Record<string, string[]> = {}, at = '2026-12-01T10:00:00.000Z'): SeenTally => ({
  kind: 'events',
  name,
  count,
  firstSeen: Date.parse(at),
  lastSeen: Date.parse(at),
  samples: [],
  keys: new Map(Object.entries(keys)),
});

describe('DynamoSeenStore', () => {
  it('adds counts from instances writing at once, merges samples by key, and lists the most seen first', async () => {
    const { seenStore: seen } = await emulatedStores();
    // Ten instances, each its tally of the same names, all at once.
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        seen.record([
          tally('Order Completed', 3, i === 0 ? { revenue: ['120'] } : { [`k${i}`]: [String(i)] }, `2026-12-0${(i % 9) + 1}T10:00:00.000Z`),
          tally('__proto__', 1, { constructor: ['x'] }),
        ]),
      ),
    );
    await seen.record([tally('Page Viewed', 100)]);
    const events = await seen.list('events', 10);
    expect(events.map((e) => [e.name, e.count])).toEqual([
      ['Page Viewed', 100],
      ['Order Completed', 30],
      ['__proto__', 10],
    ]);
    const order = events[1]!;
    expect(order.properties).toHaveLength(10);
    expect(order.properties).toContainEqual({ key: 'revenue', samples: ['120'] });
    expect(order.properties).toContainEqual({ key: 'k9', samples: ['9'] });
    expect(events[2]!.properties).toEqual([{ key: 'constructor', samples: ['x'] }]);
    expect(await seen.list('events', 1)).toHaveLength(1);
    expect(await seen.list('traits', 10)).toEqual([]);
  });

  it("stops a name's keys at their limit and goes on counting it", async () => {
    const { seenStore: seen } = await emulatedStores();
    const keys = (from: number) => Object.fromEntries(Array.from({ length: SEEN_LIMITS.keysPerName }, (_, i) => [`k${from + i}`, []]));
    await seen.record([tally('Wide', 1, keys(0))]);
    await seen.record([tally('Wide', 1, keys(1000))]);
    const [wide] = await seen.list('events', 10);
    expect(wide).toMatchObject({ name: 'Wide', count: 2 });
    expect(wide!.properties).toHaveLength(SEEN_LIMITS.keysPerName);
  });

  it('stores what tallySeen makes of real events, traits with their values', async () => {
    const { seenStore: seen } = await emulatedStores();
    await seen.record([
      ...tallySeen([
        anEvent({ type: 'identify', traits: { tier: 'VIP', plan: 'gold', firstName: 'Ada' }, at: '2026-12-02T10:00:00.000Z' }),
        anEvent({ type: 'identify', traits: { tier: 'Gold' }, at: '2026-12-03T10:00:00.000Z' }),
      ]).values(),
    ]);
    expect(await seen.list('traits', 10)).toEqual([
      { name: 'tier', count: 2, firstSeen: '2026-12-02T10:00:00.000Z', lastSeen: '2026-12-03T10:00:00.000Z', samples: ['VIP', 'Gold'] },
      { name: 'firstName', count: 1, firstSeen: '2026-12-02T10:00:00.000Z', lastSeen: '2026-12-02T10:00:00.000Z', samples: [] },
      { name: 'plan', count: 1, firstSeen: '2026-12-02T10:00:00.000Z', lastSeen: '2026-12-02T10:00:00.000Z', samples: ['gold'] },
    ]);
  });
});
