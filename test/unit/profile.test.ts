import { describe, expect, it } from 'vitest';
import { addToBuckets, countSince, hasSeen } from '#shared/domain/buckets';
import { foldEvents } from '#shared/domain/fold';
import { MAX_MERGES, mergeProfiles } from '#shared/domain/merge';
import { type LimitReached, newProfile, PROFILE_LIMITS } from '#shared/domain/profile';
import { DAY_MS } from '#shared/domain/time';
import { anEvent } from '../helpers/events';

const now = Date.parse('2026-03-15T12:00:00.000Z');

describe('daily buckets', () => {
  it('stay newest first, merging days and answering windows from the front', () => {
    const buckets: number[] = [];
    for (const day of [10, 12, 11, 12, 3]) addToBuckets(buckets, day, 1);
    expect(buckets).toEqual([12, 2, 11, 1, 10, 1, 3, 1]);
    expect(countSince(buckets, 11)).toBe(3);
    expect(countSince(buckets, 13)).toBe(0);
    expect(countSince(buckets, -Infinity)).toBe(5);
  });
});

describe('foldEvents', () => {
  it('counts events per channel and per event in daily buckets, and tracks first and last seen', () => {
    const { profile } = foldEvents(
      newProfile('p1', '2026-03-15T10:00:00.000Z'),
      [
        anEvent({ channel: 'store', at: '2026-03-14T09:00:00.000Z' }),
        anEvent({ channel: 'store', at: '2026-03-15T09:00:00.000Z' }),
        anEvent({ type: 'page', event: undefined, channel: 'web', at: '2026-03-15T11:00:00.000Z' }),
      ],
      [],
      now,
    );
    expect(profile.channels).toEqual({ store: 2, web: 1 });
    expect(Object.keys(profile.aggregates).sort()).toEqual(['Order Completed|store', 'Page Viewed|web']);
    const day = Math.floor(Date.parse('2026-03-15T00:00:00.000Z') / DAY_MS);
    expect(profile.aggregates['Order Completed|store']).toEqual([day, 1, day - 1, 1]);
    expect(profile.firstSeen).toBe('2026-03-14T09:00:00.000Z');
    expect(profile.lastSeen).toBe('2026-03-15T11:00:00.000Z');
  });

  it('skips events it has already folded (redelivery) and duplicates within a batch', () => {
    const event = anEvent({ messageId: 'same' });
    const first = foldEvents(newProfile('p1', event.timestamp), [event, { ...event }], [], now);
    expect(first.applied).toHaveLength(1);
    expect(first.duplicates).toHaveLength(1);
    expect(hasSeen(first.profile, 'same')).toBe(true);
    const again = foldEvents(first.profile, [event], [], now);
    expect(again.applied).toHaveLength(0);
    expect(again.profile.channels).toEqual({ web: 1 });
  });

  it('ends in the same traits whatever the order of arrival (latest timestamp wins)', () => {
    const older = anEvent({ type: 'identify', traits: { tier: 'silver', city: 'Nice' }, at: '2026-03-01T00:00:00.000Z' });
    const newer = anEvent({ type: 'identify', traits: { tier: 'gold' }, at: '2026-03-10T00:00:00.000Z' });
    const inOrder = foldEvents(newProfile('p1', older.timestamp), [older, newer], [], now).profile;
    const reversed = foldEvents(newProfile('p1', older.timestamp), [newer, older], [], now).profile;
    expect(inOrder.traits).toEqual({ tier: 'gold', city: 'Nice' });
    expect(reversed.traits).toEqual(inOrder.traits);
  });

  it('keeps email as a normalised identifier, not a trait', () => {
    const { profile } = foldEvents(
      newProfile('p1', '2026-03-15T10:00:00.000Z'),
      [anEvent({ type: 'identify', traits: { email: 'Ada@Example.com' } })],
      [{ type: 'email', value: 'ada@example.com' }],
      now,
    );
    expect(profile.traits).toEqual({});
    expect(profile.identifiers.email).toEqual(['ada@example.com']);
  });

  it('stays bounded: old buckets and the least recent aggregates are dropped, the dedupe ring is capped', () => {
    const events = Array.from({ length: PROFILE_LIMITS.aggregateKeys + 20 }, (_, i) =>
      anEvent({ event: `Event ${i}`, at: new Date(now - (PROFILE_LIMITS.aggregateKeys + 20 - i) * 60_000).toISOString() }),
    );
    events.push(anEvent({ event: 'Ancient', at: new Date(now - (PROFILE_LIMITS.horizonDays + 2) * DAY_MS).toISOString() }));
    const { profile, limits } = foldEvents(newProfile('p1', events[0]!.timestamp), events, [], now);
    expect(Object.keys(profile.aggregates)).toHaveLength(PROFILE_LIMITS.aggregateKeys);
    expect(limits.filter((l) => l.limit === 'aggregateKeys')).toHaveLength(20);
    expect(profile.aggregates['Ancient|web']).toBeUndefined();
    expect(profile.aggregates['Event 0|web']).toBeUndefined();
    expect(profile.aggregates[`Event ${PROFILE_LIMITS.aggregateKeys + 19}|web`]).toBeDefined();
    expect(profile.recent.length).toBe(PROFILE_LIMITS.recentMessages * 8);
  });

  it('says which bound it reached, naming types and traits but never values', () => {
    const emails = Array.from({ length: PROFILE_LIMITS.identifiersPerType + 2 }, (_, i) => ({
      type: 'email',
      value: `person${i}@example.com`,
    }));
    const traits = Object.fromEntries(Array.from({ length: PROFILE_LIMITS.traits + 1 }, (_, i) => [`t${i}`, i]));
    const { profile, limits } = foldEvents(
      newProfile('p1', '2026-03-15T10:00:00.000Z'),
      [anEvent({ type: 'identify', traits: { essay: 'x'.repeat(PROFILE_LIMITS.traitBytes + 1), ...traits } })],
      emails,
      now,
    );
    expect(profile.identifiers.email).toHaveLength(PROFILE_LIMITS.identifiersPerType);
    expect(profile.identifiers.email).not.toContain('person0@example.com');
    expect(limits).toEqual(
      expect.arrayContaining([
        { limit: 'identifiersPerType', what: 'email' },
        { limit: 'traits', what: `t${PROFILE_LIMITS.traits}` },
        { limit: 'traitBytes', what: 'essay' },
      ]),
    );
    expect(limits.filter((l) => l.limit === 'identifiersPerType')).toHaveLength(1); // one notice per bound and type
    expect(JSON.stringify(limits)).not.toContain('example.com');
  });

  it('reports nothing for a profile within every bound', () => {
    expect(foldEvents(newProfile('p1', '2026-03-15T10:00:00.000Z'), [anEvent()], [{ type: 'userId', value: 'u1' }], now).limits).toEqual(
      [],
    );
  });

  it('keeps the latest merges on a profile that keeps absorbing others, and says when it forgets one', () => {
    let survivor = newProfile('p_000', '2026-03-01T00:00:00.000Z');
    const limits: LimitReached[] = [];
    for (let i = 1; i <= MAX_MERGES + 1; i++)
      survivor = mergeProfiles(survivor, newProfile(`p_${String(i).padStart(3, '0')}`, '2026-03-02T00:00:00.000Z'), now + i, limits);
    expect(survivor.mergedFrom).toHaveLength(MAX_MERGES);
    expect(survivor.mergedFrom![0]).toBe('p_002');
    expect(Object.keys(survivor.mergedAt!)).toHaveLength(MAX_MERGES);
    expect(limits).toEqual([{ limit: 'merges', what: 'mergedFrom' }]);
  });
});
