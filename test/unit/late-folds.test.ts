/**
 * A new spec's backfill and the live fold count every event once between them, whatever the order
 * the queue delivers in: the live fold takes a late event (received before the spec's start) and
 * notes it, the backfill skips what is noted, and what the backfill takes was folded live before it
 * was archived, so its later delivery is a redelivery.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateSpec, type CompiledSpec, compileSpec, emptyWindow, readValues, specKey } from '#shared/domain/aggregates';
import { BACKFILL_MAX_DAYS } from '#shared/domain/buckets';
import type { EnrichedEvent } from '#shared/domain/events';
import { foldBackfill, foldEvents } from '#shared/domain/fold';
import { mergeLateFolds } from '#shared/domain/late-folds';
import { mergeProfiles } from '#shared/domain/merge';
import { messageToken } from '#shared/domain/message-tokens';
import { type LimitReached, newProfile, PROFILE_LIMITS, type Profile } from '#shared/domain/profile';
import { DAY_MS, dayIndex } from '#shared/domain/time';
import { anEvent } from '../helpers/events';

const now = Date.parse('2026-03-15T12:00:00.000Z');
/** The spec's start: the save plus the processors' cache delay. */
const since = Date.parse('2026-03-15T10:00:00.000Z');
const minutesBefore = (minutes: number) => new Date(since - minutes * 60_000).toISOString();
const minutesAfter = (minutes: number) => new Date(since + minutes * 60_000).toISOString();

const spec = aggregateSpec('Order Completed', [{ property: 'category', operator: 'eq', value: 'shoes' }], 'revenue');
/** A processor that knows the new spec, while its backfill runs. */
const backfilling = [compileSpec(spec, since)];
/** Once the backfill has ended. */
const whole = [compileSpec(spec)];
/** A processor whose cached catalog predates the save. */
const stale: CompiledSpec[] = [];

const shoes = (messageId: string, receivedAt: string, revenue = 10) =>
  anEvent({ messageId, at: receivedAt, properties: { category: 'shoes', revenue } });
const live = (profile: Profile, events: EnrichedEvent[], specs: readonly CompiledSpec[], at = now) =>
  foldEvents(profile, events, [], at, specs).profile;
/** The backfill's write for one archived part: a copy of the profile, and whether it changed. */
function backfill(profile: Profile, events: EnrichedEvent[], position: string): [Profile, boolean] {
  const copy = structuredClone(profile);
  return [copy, foldBackfill(copy, { runId: 'r1', startDay: dayIndex(now), position, events, specs: backfilling }, now)];
}
const inSpec = (profile: Profile) => {
  const { count, sum } = readValues(profile.aggregates[specKey(spec, 'web')] ?? [], 0, emptyWindow());
  return { count, sum };
};
const fresh = () => newProfile('p1', minutesBefore(60));

describe('late events of a spec being backfilled', () => {
  it('are folded live into it and noted; the backfill skips them and adds the others', () => {
    const late = shoes('late', minutesBefore(1), 15);
    const profile = live(fresh(), [late], backfilling);
    expect(inSpec(profile)).toEqual({ count: 1, sum: 15 });
    expect(profile.lateFolded).toEqual({ [spec.id]: [dayIndex(now), messageToken('late')] });

    const [skipped, changed] = backfill(profile, [late], 'a');
    expect(changed).toBe(false);
    expect(inSpec(skipped)).toEqual({ count: 1, sum: 15 });
    const [filled] = backfill(profile, [late, shoes('older', minutesBefore(600), 40)], 'a');
    expect(inSpec(filled)).toEqual({ count: 2, sum: 55 });
  });

  it('count once when delivered again, before or after the backfill, even past the ring of recent ids', () => {
    const late = shoes('late', minutesBefore(1));
    let profile = live(fresh(), [late], backfilling);
    profile = live(profile, [late], backfilling);
    [profile] = backfill(profile, [late], 'a');
    profile = live(profile, [late], backfilling);
    expect(inSpec(profile).count).toBe(1);
    // 64 newer messages push it out of the recent ids; its note still keeps it out of the spec.
    profile = live(
      profile,
      Array.from({ length: PROFILE_LIMITS.recentMessages }, (_, i) =>
        anEvent({ type: 'page', event: undefined, messageId: `page-${i}`, at: minutesAfter(1) }),
      ),
      backfilling,
    );
    profile = live(profile, [late], backfilling);
    expect(inSpec(profile).count).toBe(1);
  });

  it('that the backfill took are not folded again by a late delivery: they were folded live, before the spec, and archived after', () => {
    const event = shoes('early', minutesBefore(30));
    let profile = live(fresh(), [event], stale);
    [profile] = backfill(profile, [event], 'a');
    expect(inSpec(profile).count).toBe(1);
    const redelivered = foldEvents(profile, [event], [], now, backfilling);
    expect(redelivered.duplicates).toHaveLength(1);
    expect(inSpec(redelivered.profile).count).toBe(1);
    expect(redelivered.profile.lateFolded).toBeUndefined();
  });

  it('are noted only when the spec takes them; on-time and replayed events are folded without a note', () => {
    const hats = anEvent({ messageId: 'hats', at: minutesBefore(1), properties: { category: 'hats', revenue: 99 } });
    const onTime = shoes('on-time', minutesAfter(1));
    const replayed = { ...shoes('replayed', minutesBefore(5)), replayed: true as const };
    const profile = live(fresh(), [replayed, hats, onTime], backfilling); // the replay first: a live event received later would make it a duplicate
    expect(inSpec(profile).count).toBe(2);
    expect(profile.lateFolded).toBeUndefined();
  });

  it('are noted up to a bound, all specs together; beyond it the backfill takes them', () => {
    const events = Array.from({ length: PROFILE_LIMITS.lateFolded + 1 }, (_, i) => shoes(`late-${i}`, minutesBefore(1 + i)));
    const folded = foldEvents(fresh(), events, [], now, backfilling);
    expect(inSpec(folded.profile).count).toBe(PROFILE_LIMITS.lateFolded);
    expect(folded.profile.lateFolded![spec.id]![1]).toHaveLength(PROFILE_LIMITS.lateFolded * 8);
    expect(folded.limits).toContainEqual<LimitReached>({ limit: 'lateFolded', what: spec.id });
    const [filled] = backfill(folded.profile, events, 'a');
    expect(inSpec(filled).count).toBe(events.length);
  });

  it('are forgotten once the spec is whole, or when no backfill can still be running, not when a stale catalog lacks the spec', () => {
    const profile = live(fresh(), [shoes('late', minutesBefore(1))], backfilling);
    expect(live(profile, [], stale).lateFolded).toEqual(profile.lateFolded);
    expect(live(profile, [], backfilling, now + BACKFILL_MAX_DAYS * DAY_MS).lateFolded).toEqual(profile.lateFolded);
    expect(live(profile, [], backfilling, now + (BACKFILL_MAX_DAYS + 1) * DAY_MS).lateFolded).toBeUndefined();
    expect(live(profile, [], whole).lateFolded).toBeUndefined();
  });

  it('of two merged profiles stay noted on the survivor: the backfill skips both', () => {
    const mine = shoes('mine', minutesBefore(1), 10);
    const theirs = { ...shoes('theirs', minutesBefore(2), 20), userId: 'u2' };
    const survivor = live(newProfile('p1', minutesBefore(60)), [mine], backfilling);
    const loser = live(newProfile('p2', minutesBefore(60)), [theirs], backfilling);
    const merged = mergeProfiles(survivor, loser, now);
    expect(inSpec(merged)).toEqual({ count: 2, sum: 30 });
    const [afterBackfill, changed] = backfill(merged, [mine, theirs], 'a');
    expect(changed).toBe(false);
    expect(inSpec(afterBackfill)).toEqual({ count: 2, sum: 30 });
    // A token both hold is kept once; the latest day of the two.
    const into = { lateFolded: { [spec.id]: [10, 'aaaaaaaa'] as [number, string] } };
    mergeLateFolds(into, { lateFolded: { [spec.id]: [12, 'bbbbbbbbaaaaaaaa'], other: [11, 'cccccccc'] } });
    expect(into.lateFolded).toEqual({ [spec.id]: [12, 'aaaaaaaabbbbbbbb'], other: [11, 'cccccccc'] });
  });

  it("count every event once whatever the order of deliveries, redeliveries and the backfill's read", () => {
    // Each event archived once, by its first processing, before the backfill reads the archive if that
    // processing came first. A catalog predates the save only before the backfill reads (the backfill
    // waits for the processors' caches), and only for events received before the spec's start.
    const scenario = fc.array(
      fc.record({
        receivedBefore: fc.boolean(),
        shoes: fc.boolean(),
        deliveries: fc.array(
          fc.record({ order: fc.double({ min: 0, max: 1, noNaN: true }), catalog: fc.constantFrom('stale', 'backfilling', 'whole') }),
          { minLength: 1, maxLength: 3 },
        ),
      }),
      { minLength: 1, maxLength: 6 },
    );
    fc.assert(
      fc.property(scenario, fc.double({ min: 0, max: 1, noNaN: true }), (events, backfillAt) => {
        const made = events.map((e, i) =>
          anEvent({
            messageId: `e${i}`,
            at: e.receivedBefore ? minutesBefore(1 + i) : minutesAfter(1 + i),
            properties: { category: e.shoes ? 'shoes' : 'hats', revenue: 1 },
          }),
        );
        const deliveries = events.flatMap((e, i) => e.deliveries.map((d) => ({ ...d, index: i }))).sort((a, b) => a.order - b.order);
        let profile = fresh();
        const archive: EnrichedEvent[] = [];
        let backfilled = false;
        const readArchive = () => {
          for (const [position, event] of archive.entries()) {
            if (Date.parse(event.receivedAt) < since) [profile] = backfill(profile, [event], String(position).padStart(4, '0'));
          }
          backfilled = true;
        };
        for (const delivery of deliveries) {
          if (!backfilled && delivery.order > backfillAt) readArchive();
          const event = made[delivery.index]!;
          const canBeStale = !backfilled && events[delivery.index]!.receivedBefore;
          const specs =
            delivery.catalog === 'stale' && canBeStale ? stale : delivery.catalog === 'whole' && backfilled ? whole : backfilling;
          profile = live(profile, [event], specs);
          if (!archive.includes(event)) archive.push(event);
        }
        if (!backfilled) readArchive();
        expect(inSpec(profile).count).toBe(events.filter((e) => e.shoes).length);
        expect(profile.channels.web).toBe(events.length);
      }),
      { numRuns: 300 },
    );
  });
});
