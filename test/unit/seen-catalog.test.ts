/**
 * What Prisme has seen, tallied per invocation: names as segments count them, property keys with a few
 * values that never name a person, hostile names kept as data, bounded; the buffer writes what is new
 * at once and the rest every few minutes, and keeps what a failed write held.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SEEN_LIMITS, type SeenTally, sampleOf, tallySeen } from '#shared/domain/seen-catalog';
import { SeenBuffer } from '#shared/usecases/seen-buffer';
import { anEvent } from '../helpers/events';

const tallies = (...events: Parameters<typeof anEvent>[0][]) => [...tallySeen(events.map((e) => anEvent(e))).values()];

describe('tallySeen', () => {
  it('counts behaviours as segments name them, with property keys and a few of their values', () => {
    const seen = tallies(
      { type: 'track', event: 'Order Completed', properties: { revenue: 120, category: 'shoes' }, at: '2026-12-01T10:00:00Z' },
      { type: 'track', event: 'Order Completed', properties: { revenue: 80, coupon: true }, at: '2026-12-03T10:00:00Z' },
      { type: 'page', properties: { path: '/shoes' }, at: '2026-12-02T10:00:00Z' },
      { type: 'identify', traits: { tier: 'VIP', email: 'ada@example.com', firstName: 'Ada' }, at: '2026-12-02T10:00:00Z' },
      { type: 'group', groupId: 'acme', traits: { plan: 'enterprise' } },
    );
    const order = seen.find((t) => t.name === 'Order Completed')!;
    expect(order).toMatchObject({
      kind: 'events',
      count: 2,
      firstSeen: Date.parse('2026-12-01T10:00:00Z'),
      lastSeen: Date.parse('2026-12-03T10:00:00Z'),
    });
    expect(Object.fromEntries(order.keys)).toEqual({ revenue: ['120', '80'], category: ['shoes'], coupon: ['true'] });
    expect(seen.find((t) => t.name === 'Page Viewed')).toMatchObject({ kind: 'events', count: 1 });
    // Email is an identifier, a group's traits are the account's: neither is a person's trait.
    expect(seen.filter((t) => t.kind === 'traits').map((t) => [t.name, t.samples])).toEqual([
      ['tier', ['VIP']],
      ['firstName', []],
    ]);
  });

  it('keeps no value that could name a person', () => {
    for (const [key, value] of [
      ['email', 'x'],
      ['userEmail', 'x'],
      ['phone_number', 'x'],
      ['lastName', 'Lovelace'],
      ['shipping_address', 'x'],
      ['note', 'write to ada@example.com'],
      ['note', '+33 6 12 34 56 78'],
      ['note', '06.12.34.56.78'],
      ['note', 'x'.repeat(SEEN_LIMITS.sampleChars + 1)],
      ['note', { nested: true }],
      ['note', '\uD800'],
      ['note', Number.NaN],
    ] as const)
      expect(sampleOf(key, value), `${key}: ${String(value)}`).toBeUndefined();
    expect(sampleOf('size', 42)).toBe('42');
    expect(sampleOf('sku', 'SKU-123')).toBe('SKU-123');
  });

  it('takes any name as data, bounded, and skips what is not an event', () => {
    const seen = tallySeen([
      anEvent({ type: 'track', event: '__proto__', properties: { constructor: 'x', ['__proto__']: 1 } }),
      anEvent({ type: 'track', event: 'e'.repeat(SEEN_LIMITS.nameChars + 1) }),
      anEvent({ type: 'track', event: 'lone \uDC00' }),
      anEvent({ type: 'track', event: 'Wide', properties: Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`k${i}`, i])) }),
      { ...anEvent({ type: 'track', event: 'Broken' }), properties: 'not an object' } as never,
      { ...anEvent({ type: 'track', event: 'Late' }), timestamp: 'never' },
      anEvent({ type: 'track', event: 'Replayed', replayed: true }),
    ]);
    const names = [...seen.values()].map((t) => t.name);
    expect(names).toEqual(['__proto__', 'Wide']);
    expect([...seen.values()][0]!.keys).toEqual(
      new Map([
        ['constructor', ['x']],
        ['__proto__', ['1']],
      ]),
    );
    expect([...seen.values()][1]!.keys.size).toBe(SEEN_LIMITS.keysPerName);
  });

  it('never throws, whatever the names and values', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ event: fc.string({ unit: 'binary' }), properties: fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue()) }),
          {
            maxLength: 20,
          },
        ),
        (events) => {
          const seen = tallySeen(events.map((e) => anEvent({ type: 'track', ...e })));
          for (const tally of seen.values()) {
            expect(tally.count).toBeGreaterThan(0);
            for (const samples of tally.keys.values()) expect(samples.length).toBeLessThanOrEqual(SEEN_LIMITS.samplesPerKey);
          }
        },
      ),
    );
  });
});

describe('SeenBuffer', () => {
  const clock = { now: 0 };
  const recorder = () => {
    const writes: SeenTally[][] = [];
    return {
      writes,
      failNext: false,
      async record(t: readonly SeenTally[]) {
        if (this.failNext) {
          this.failNext = false;
          throw new Error('down');
        }
        writes.push([...t]);
      },
    };
  };

  it('writes what is new at once, and known names only every few minutes, with their counts added up', async () => {
    const store = recorder();
    const buffer = new SeenBuffer(store, () => clock.now, 60_000);
    const order = (properties = {}) => anEvent({ type: 'track', event: 'Order Completed', properties });
    buffer.add([order({ revenue: 1 })]);
    await buffer.flush();
    expect(store.writes).toHaveLength(1);
    buffer.add([order({ revenue: 2 }), order({ revenue: 3 })]);
    clock.now += 30_000;
    await buffer.flush();
    expect(store.writes).toHaveLength(1); // nothing new, and not yet time
    buffer.add([order({ coupon: 'X' })]);
    await buffer.flush(); // a new key: at once
    expect(store.writes).toHaveLength(2);
    expect(store.writes[1]![0]).toMatchObject({ count: 3 });
    buffer.add([order({ revenue: 4 })]);
    clock.now += 60_000;
    await buffer.flush();
    expect(store.writes.map((w) => w[0]!.count)).toEqual([1, 3, 1]);
  });

  it('keeps what a failed write held, for the next', async () => {
    const store = recorder();
    const buffer = new SeenBuffer(store, () => clock.now, 60_000);
    buffer.add([anEvent({ type: 'track', event: 'A' }), anEvent({ type: 'track', event: 'A' })]);
    store.failNext = true;
    await expect(buffer.flush()).rejects.toThrow('down');
    buffer.add([anEvent({ type: 'track', event: 'A' })]);
    await buffer.flush();
    expect(store.writes).toEqual([[expect.objectContaining({ name: 'A', count: 3 })]]);
  });
});
