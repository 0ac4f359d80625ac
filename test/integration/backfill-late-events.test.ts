/**
 * A new segment's backfill against late deliveries: the queue does not keep order, so an event
 * received before the save can reach the processor before, during or after the backfill reads the
 * archive, and more than once. Each order is played out deterministically (the processor's use case
 * and the backfill's steps, interleaved by hand) against dynalite and s3rver; every event counts once.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { aggregateSpec, emptyWindow, type PropertyFilter, readValues, specKey } from '#shared/domain/aggregates';
import { archiveDayPrefix } from '#shared/domain/archive';
import type { EnrichedEvent } from '#shared/domain/events';
import { identifierKey } from '#shared/domain/identity';
import { messageToken } from '#shared/domain/message-tokens';
import type { Condition } from '#shared/domain/segment-definition';
import { dayIndex } from '#shared/domain/time';
import { BACKFILL_SCOPE, type BackfillMessage } from '#shared/usecases/backfill';
import { type ProcessEventsDeps, processEvents } from '#shared/usecases/process-events';
import { ProfileWriter } from '#shared/usecases/profile-writer';
import { RulesCache } from '#shared/usecases/rules-cache';
import { emulatedStores, processEventsDeps, RecordingPublisher, silentLogger } from '../helpers/aws';
import { backfillRunner } from '../helpers/backfill';
import { anEvent } from '../helpers/events';

const now = Date.parse('2026-03-15T12:00:00.000Z');
const clock = () => now;
/** The new spec's start: the save plus the processors' cache delay. */
const since = '2026-03-14T00:00:00.000Z';
const where: PropertyFilter[] = [{ property: 'category', operator: 'eq', value: 'shoes' }];
const spec = aggregateSpec('Order Completed', where, 'revenue');
const condition: Condition = {
  type: 'event',
  event: 'Order Completed',
  where,
  aggregate: { fn: 'sum', property: 'revenue', operator: 'gte', value: 1000 },
  within: { days: 30 },
};
const runId = 'shoe-fans-r1';
const first: BackfillMessage = { v: 1, kind: 'backfill', runId, segmentId: 'shoe-fans', revision: 1, specs: [spec.id], since };

let stores: Awaited<ReturnType<typeof emulatedStores>>;
let live: ProcessEventsDeps;
let runner: ReturnType<typeof backfillRunner>;

beforeEach(async () => {
  stores = await emulatedStores();
  const publisher = new RecordingPublisher();
  const writer = new ProfileWriter({
    profiles: stores.profiles,
    identities: stores.identities,
    memberships: stores.memberships,
    stats: stores.catalog,
    sizes: stores.catalog,
    publisher,
    logger: silentLogger(),
    now: clock,
  });
  // Its catalog read fresh for every batch: it knows the segment as soon as it is saved.
  live = { ...processEventsDeps(stores, publisher), writer, archive: stores.objects };
  runner = backfillRunner({ catalog: stores.catalog, identities: stores.identities, archive: stores.objects, writer, now: clock });
});

const shoes = (messageId: string, receivedAt: string, revenue: number, who: Partial<EnrichedEvent> = {}) =>
  anEvent({ messageId, at: receivedAt, properties: { category: 'shoes', revenue }, ...who });
/** One batch, as one queue message (`origin`): one archive object. */
const deliver = (events: EnrichedEvent[], origin: string, deps = live) =>
  processEvents(
    events.map((event) => ({ event, origin })),
    deps,
  );
/**
 * Six orders of 10 before the segment exists, one batch (one archive object) each, on 10 and 11 March:
 * the backfill's first step reads five objects and stops in 11 March.
 */
async function history(who: Partial<EnrichedEvent>, label: string, days = ['2026-03-10', '2026-03-11']): Promise<void> {
  for (const [d, day] of days.entries()) {
    for (let i = 0; i < 6 / days.length; i++)
      await deliver([shoes(`h-${label}-${d}-${i}`, `${day}T0${i}:00:00.000Z`, 10, who)], `h-${label}-${d}-${i}`);
  }
}
const save = () =>
  stores.catalog.segments.put({
    id: 'shoe-fans',
    name: 'Shoe fans',
    condition,
    revision: 1,
    languageVersion: 1,
    status: 'building',
    createdAt: since,
    updatedAt: since,
    aggregatesSince: since,
    specsSince: { [spec.id]: since },
  });
const profileOf = async (userId: string) => {
  const key = identifierKey({ type: 'userId', value: userId });
  return (await stores.profiles.get((await stores.identities.owners([key])).get(key)!))!;
};
const shoeSum = async (userId: string) =>
  readValues((await profileOf(userId)).aggregates[specKey(spec, 'web')] ?? [], dayIndex(now) - 30, emptyWindow()).sum;

describe("a new segment's backfill and late deliveries", () => {
  it('counts once an event received before the save but delivered after the backfill read its part of the archive, or after the backfill ended', async () => {
    await history({ userId: 'ada' }, 'ada');
    await save();
    await runner.run(first, async () => {
      // Its archive object (10 March) sorts before where the run has got to: this run never reads it.
      await deliver([shoes('late-mid', '2026-03-10T20:00:00.000Z', 15, { userId: 'ada' })], 'late-mid');
      expect((await profileOf('ada')).lateFolded).toEqual({ [spec.id]: [dayIndex(now), messageToken('late-mid')] });
    });
    expect(await shoeSum('ada')).toBe(60 + 15);
    expect(await stores.catalog.getRun(BACKFILL_SCOPE, runId)).toMatchObject({ status: 'succeeded', progress: { events: 6 } }); // the history only

    // After the run the spec is whole: the event folds like any other, and the note is dropped.
    await deliver([shoes('late-after', '2026-03-13T23:00:00.000Z', 25, { userId: 'ada' })], 'late-after');
    expect(await shoeSum('ada')).toBe(60 + 15 + 25);
    expect((await profileOf('ada')).lateFolded).toBeUndefined();
  });

  it('counts once an event received before the save and delivered before the backfill read it', async () => {
    await history({ userId: 'bob' }, 'bob');
    await save();
    await deliver([shoes('late-before', '2026-03-13T22:00:00.000Z', 15, { userId: 'bob' })], 'late-before');
    expect(await shoeSum('bob')).toBe(15); // folded live at once, and noted
    await runner.run(first, async () => {
      // Archived on 12 March, after where the run has got to: the next step reads it.
      await deliver([shoes('late-between', '2026-03-12T10:00:00.000Z', 25, { userId: 'bob' })], 'late-between');
    });
    expect(await shoeSum('bob')).toBe(60 + 15 + 25);
    // Both late events read from the archive and skipped: six writes, for the history.
    expect(await stores.catalog.getRun(BACKFILL_SCOPE, runId)).toMatchObject({
      status: 'succeeded',
      progress: { events: 8, profileWrites: 6 },
    });
  });

  it('counts once an event received before the save and redelivered around the backfill, archived twice', async () => {
    await history({ userId: 'cy' }, 'cy');
    await save();
    const late = shoes('late', '2026-03-13T22:00:00.000Z', 15, { userId: 'cy' });
    await deliver([late], 'late');
    await runner.run(first, async () => {
      // Delivered again in another batch: a duplicate for the profile, but archived a second time.
      await deliver([late, shoes('other', '2026-03-13T21:00:00.000Z', 5, { userId: 'dee' })], 'late');
    });
    const copies = await stores.s3.send(new ListObjectsV2Command({ Bucket: stores.bucket, Prefix: archiveDayPrefix('2026-03-13') }));
    expect(copies.Contents).toHaveLength(2);
    await deliver([late], 'late');
    expect(await shoeSum('cy')).toBe(60 + 15);
    expect(await shoeSum('dee')).toBe(5);
  });

  it('counts once an event the backfill took, delivered again late: it was folded before the processor knew the segment', async () => {
    await history({ userId: 'fay' }, 'fay');
    const stale = new RulesCache(stores.catalog, Infinity, clock);
    await stale.current(); // cached before the save
    await save();
    const early = shoes('early', '2026-03-13T22:00:00.000Z', 15, { userId: 'fay' });
    await deliver([early], 'early', { ...live, rules: stale });
    expect(await shoeSum('fay')).toBe(0);
    await runner.run(first);
    expect(await shoeSum('fay')).toBe(60 + 15);
    await deliver([early], 'early');
    expect(await shoeSum('fay')).toBe(60 + 15);
  });

  it('counts each once the late events of two profiles merged during the backfill', async () => {
    const browser = { userId: undefined, anonymousId: 'anon-eve' };
    await history(browser, 'browser', ['2026-03-10']);
    await history({ userId: 'eve' }, 'eve', ['2026-03-11']);
    await save();
    await deliver([shoes('late-browser', '2026-03-13T20:00:00.000Z', 15, browser)], 'late-browser');
    await deliver([shoes('late-eve', '2026-03-13T21:00:00.000Z', 25, { userId: 'eve' })], 'late-eve');
    await runner.run(first, async () => {
      // She logs in: her two profiles merge between the run's steps, each with a late event noted.
      await deliver(
        [
          anEvent({
            type: 'identify',
            event: undefined,
            userId: 'eve',
            anonymousId: 'anon-eve',
            messageId: 'login',
            at: '2026-03-14T09:00:00.000Z',
          }),
        ],
        'login',
      );
    });
    const merged = await profileOf('eve');
    expect(merged.mergedFrom).toHaveLength(1);
    expect(await shoeSum('eve')).toBe(60 + 60 + 15 + 25);
    expect(merged.lateFolded?.[spec.id]?.[1]).toHaveLength(16);
    for (const messageId of ['late-browser', 'late-eve']) expect(merged.lateFolded![spec.id]![1]).toContain(messageToken(messageId));
  });
});
