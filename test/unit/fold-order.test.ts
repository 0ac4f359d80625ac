/**
 * Out-of-order delivery ends in the same profile as in-order delivery: a property over random
 * streams of one person's events (traits, orders with figures, consents, categories, channels),
 * folded in random orders and in random batch splits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EnrichedEvent } from '#shared/domain/events';
import { foldEvents } from '#shared/domain/fold';
import { compileIndicators } from '#shared/domain/indicators';
import { compileRules } from '#shared/domain/memberships';
import { newProfile, type Profile } from '#shared/domain/profile';

const now = Date.parse('2026-06-15T12:00:00.000Z');
const { specs, indicators } = compileRules([], compileIndicators());

const event = fc.record({
  kind: fc.constantFrom('identify', 'order', 'view', 'consent'),
  daysAgo: fc.integer({ min: 0, max: 300 }),
  seconds: fc.integer({ min: 0, max: 86_399 }),
  channel: fc.constantFrom('web', 'store', 'email', 'app'),
  tier: fc.constantFrom('gold', 'silver', 'vip'),
  revenue: fc.integer({ min: 1, max: 500 }),
  category: fc.constantFrom('shoes', 'bags', 'coats'),
  granted: fc.boolean(),
});

type EventSpec = typeof event extends fc.Arbitrary<infer T> ? T : never;

function toEvents(specsOf: EventSpec[]): EnrichedEvent[] {
  return specsOf.map((e, i) => {
    const timestamp = new Date(now - e.daysAgo * 86_400_000 - e.seconds * 1000 - i).toISOString(); // distinct instants
    const base = {
      messageId: `m${i}`,
      userId: 'u',
      traits: {},
      properties: {},
      context: {},
      timestamp,
      receivedAt: timestamp,
      channel: e.channel as EnrichedEvent['channel'],
      sourceId: 's',
    };
    switch (e.kind) {
      case 'identify':
        return { ...base, type: 'identify', traits: { tier: e.tier } };
      case 'order':
        return { ...base, type: 'track', event: 'Order Completed', properties: { revenue: e.revenue, category: e.category } };
      case 'view':
        return { ...base, type: 'track', event: 'Product Viewed', properties: { category: e.category } };
      default:
        return {
          ...base,
          type: 'track',
          event: 'Consent Updated',
          properties: { channel: 'email', status: e.granted ? 'granted' : 'denied' },
        };
    }
  });
}

/** What must not depend on the order: everything but the dedupe ring and bookkeeping. */
const essence = (p: Profile) => ({
  traits: p.traits,
  channels: p.channels,
  aggregates: Object.fromEntries(Object.entries(p.aggregates).map(([k, v]) => [k, k.includes('|*|') ? [...v].sort() : v])),
  consents: p.consents,
  categories: Object.keys(p.categories ?? {}).sort(),
  firstSeen: p.firstSeen,
  lastSeen: p.lastSeen,
});

const foldInBatches = (events: EnrichedEvent[], cuts: number[]) => {
  let profile = newProfile('p', events[0]!.timestamp);
  let start = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < events.length)].sort((a, b) => a - b).concat(events.length)) {
    profile = foldEvents(profile, events.slice(start, cut), [], now, specs, indicators.categoryRule).profile;
    start = cut;
  }
  return profile;
};

describe('folding events', () => {
  it('ends in the same profile whatever the order of arrival and the batches', () => {
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        fc.array(fc.nat(40), { maxLength: 4 }),
        (specsOf, shuffleKeys, cuts) => {
          const events = toEvents(specsOf);
          const inOrder = foldEvents(
            newProfile('p', events[0]!.timestamp),
            [...events].sort((a, b) => a.timestamp.localeCompare(b.timestamp)),
            [],
            now,
            specs,
            indicators.categoryRule,
          ).profile;
          const shuffled = [...events].sort(
            (a, b) =>
              ((a.messageId.length * 31 + (shuffleKeys[0] ?? 7) * Number(a.messageId.slice(1))) % 97) -
              ((b.messageId.length * 31 + (shuffleKeys[0] ?? 7) * Number(b.messageId.slice(1))) % 97),
          );
          const reordered = foldInBatches(shuffled, cuts);
          expect(essence(reordered)).toEqual(essence(inOrder));
          // Category interest is a decayed sum kept to 3 decimals at each step: equal to rounding noise.
          for (const [category, [score, day]] of Object.entries(inOrder.categories ?? {})) {
            expect(reordered.categories![category]![1]).toBe(day);
            expect(Math.abs(reordered.categories![category]![0] - score)).toBeLessThan(0.01 * Math.max(1, score));
          }
          const { top_category: topA, ...valuesA } = indicators.valuesOf(reordered, now);
          const { top_category: topB, ...valuesB } = indicators.valuesOf(inOrder, now);
          expect(valuesA).toEqual(valuesB);
          const scores = Object.values(inOrder.categories ?? {})
            .map(([score]) => score)
            .sort((a, b) => b - a);
          if (scores.length < 2 || scores[0]! - scores[1]! > 0.05) expect(topA).toBe(topB);
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });
});
