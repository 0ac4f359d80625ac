/** The profile item stays far under DynamoDB's 400 KB limit even at every bound at once, and small in the common case. */
import { describe, expect, it } from 'vitest';
import { decodeProfile, encodeProfile } from '#shared/adapters/dynamodb/profile-codec';
import { coarsen } from '#shared/domain/buckets';
import { foldEvents } from '#shared/domain/fold';
import { compileIndicators } from '#shared/domain/indicators';
import { itemSize, MAX_ITEM_BYTES } from '#shared/domain/item-size';
import { compileRules } from '#shared/domain/memberships';
import { newProfile, PROFILE_LIMITS, type Profile } from '#shared/domain/profile';
import { MAX_SEGMENTS } from '#shared/domain/segment-definition';
import { DAY_MS, dayIndex } from '#shared/domain/time';
import { anEvent } from '../helpers/events';

const now = Date.parse('2026-03-15T12:00:00.000Z');
const today = dayIndex(now);
// Random filler, so compression cannot flatter the stored size.
let seed = 7;
const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const randomChar = () => ALPHANUMERIC[(seed = (seed * 48271) % 2147483647) % ALPHANUMERIC.length]!;
const long = (prefix: string, length: number) => prefix + Array.from({ length: length - prefix.length }, randomChar).join('');

function worstCase(): Profile {
  const profile = newProfile(`p_${'0'.repeat(29)}`, new Date(now - 400 * DAY_MS).toISOString());
  for (const type of ['userId', 'email', 'anonymousId'] as const) {
    profile.identifiers[type] = Array.from({ length: PROFILE_LIMITS.identifiersPerType }, (_, i) => long(`${type}${i}`, 256));
  }
  for (let t = 0; t < PROFILE_LIMITS.traits; t++) {
    profile.traits[long(`trait${t}-`, 200)] = long('', PROFILE_LIMITS.traitBytes - 2);
    profile.traitsAt[long(`trait${t}-`, 200)] = now;
  }
  // Every aggregate key a filtered, valued one (five numbers a bucket), active every day for the whole horizon.
  for (let k = 0; k < PROFILE_LIMITS.aggregateKeys; k++) {
    const buckets: number[] = [];
    for (let d = 0; d < PROFILE_LIMITS.horizonDays; d++)
      buckets.push(today - d, 123_456 + d, 12_345_678.91 + k * d, 1_234.56 + d, 98_765.43 - k);
    profile.aggregates[`${long(`Event ${k} `, 200)}|call_center|abcdefghij`] = buckets;
  }
  profile.categories = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [long(`category-${i}-`, 100), [123_456.789, today]]));
  profile.channels = { web: 1e9, app: 1e9, email: 1e9, store: 1e9, call_center: 1e9, event: 1e9, crm: 1e9 };
  profile.segments = Array.from({ length: MAX_SEGMENTS }, (_, i) => long(`segment-${i}-`, 64));
  profile.pending = {
    baseVersion: 1000,
    at: now,
    reason: 'definition',
    entered: Object.fromEntries(profile.segments.map((segmentId) => [segmentId, 1000])),
  };
  // Late events noted for the backfills under way, at their bound.
  profile.lateFolded = { abcdefghij: [today, long('', PROFILE_LIMITS.lateFolded * 8)] };
  const events = Array.from({ length: PROFILE_LIMITS.recentMessages }, (_, i) =>
    anEvent({ type: 'alias', event: undefined, messageId: `m${i}`, at: new Date(now).toISOString() }),
  );
  return foldEvents(profile, events, [], now).profile; // prunes and coarsens like any write
}

describe('profile item size', () => {
  it('at every bound at once (64 traits of 1 KB, 64 valued aggregates active daily for 400 days, 200 segments entered at once) stays under 400 KB', () => {
    const profile = worstCase();
    const size = itemSize(profile as unknown as Record<string, unknown>);
    const stored = itemSize(encodeProfile(profile) as unknown as Record<string, unknown>);
    console.log(
      `worst-case profile: ${(size / 1024).toFixed(1)} KB of attributes, stored in ${(stored / 1024).toFixed(1)} KB, of ${MAX_ITEM_BYTES / 1024} KB`,
    );
    expect(size).toBeLessThan(MAX_ITEM_BYTES);
    expect(stored).toBeLessThan(MAX_ITEM_BYTES);
    expect(size).toBeGreaterThan(MAX_ITEM_BYTES / 4); // the construction really is at the bounds
  });

  it('is about 1.3 KB for a typical customer, stored compressed in under 1 KB', () => {
    const events = [
      anEvent({
        type: 'identify',
        event: undefined,
        traits: { email: 'ada@example.com', firstName: 'Ada', tier: 'VIP', city: 'Nice' },
        at: new Date(now - 90 * DAY_MS).toISOString(),
      }),
      ...Array.from({ length: 6 }, (_, i) =>
        anEvent({
          channel: i % 2 ? 'store' : 'web',
          at: new Date(now - i * 20 * DAY_MS).toISOString(),
          properties: { revenue: 40 + i, category: i % 2 ? 'shoes' : 'bags' },
        }),
      ),
      ...Array.from({ length: 10 }, (_, i) =>
        anEvent({ type: 'page', event: undefined, at: new Date(now - i * 3 * DAY_MS).toISOString() }),
      ),
      ...Array.from({ length: 8 }, (_, i) =>
        anEvent({ event: 'Email Opened', channel: 'email', at: new Date(now - i * 7 * DAY_MS).toISOString() }),
      ),
    ];
    // With the aggregates the shipped indicators keep (order revenue and instants) and category interest.
    const { specs, indicators } = compileRules([], compileIndicators());
    const profile = foldEvents(
      newProfile(`p_${'0'.repeat(29)}`, events[0]!.timestamp),
      events,
      [
        { type: 'userId', value: 'ada' },
        { type: 'email', value: 'ada@example.com' },
      ],
      now,
      specs,
      indicators.categoryRule,
    ).profile;
    // As written by the write that made it enter its three segments: with that write's outbox.
    const segments = ['vip-store', 'recent-visitors', 'lifecycle-customer'];
    const pending = { baseVersion: 41, at: now, reason: 'events', entered: Object.fromEntries(segments.map((id) => [id, 3])) };
    const typical = { ...profile, segments, pending } as Profile;
    const size = itemSize(typical as unknown as Record<string, unknown>);
    // As stored: compressed, one write unit (1 KB) where the attributes written out would take two.
    const stored = itemSize(encodeProfile(typical) as unknown as Record<string, unknown>);
    console.log(`typical profile: ${size} bytes of attributes, stored in ${stored}`);
    expect(size).toBeLessThan(1500);
    expect(size).toBeGreaterThan(1024);
    expect(stored).toBeLessThanOrEqual(1024);
    expect(decodeProfile(encodeProfile(typical) as unknown as Record<string, unknown>)).toEqual(typical);
    expect(decodeProfile(typical as unknown as Record<string, unknown>)).toEqual(typical); // written before compression
  });

  it('merges buckets older than the daily span into weeks, adding counts and sums', () => {
    const cutoff = 700;
    // Days 705 and 702 stay daily; 699, 698 and 693 fall in weeks starting 693 (693 % 7 === 0).
    const buckets = [705, 1, 10, 10, 10, 702, 1, 5, 5, 5, 699, 2, 8, 3, 5, 698, 1, 1, 1, 1, 693, 3, 30, 10, 10];
    coarsen(buckets, 5, cutoff);
    expect(buckets).toEqual([705, 1, 10, 10, 10, 702, 1, 5, 5, 5, 693, 6, 39, 1, 10]);
  });
});
