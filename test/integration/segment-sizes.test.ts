/**
 * Segment sizes from counters, on dynalite: exact through racing writes of one membership, merges and
 * erasures; a crash between a membership write and its count is set right by the reconciliation, which
 * says so; a segment counted before counters falls back to counting its members.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { identifierKey } from '#shared/domain/identity';
import type { Segment } from '#shared/domain/segment-definition';
import { eraseProfile } from '#shared/usecases/erase-profile';
import { type ProcessEventsDeps, processEvents } from '#shared/usecases/process-events';
import { reconcileSizes, segmentSizes } from '#shared/usecases/segment-sizes';
import type { SourcedEvent } from '#shared/usecases/sourced-event';
import { emulatedStores, processEventsDeps, RecordingPublisher, silentLogger } from '../helpers/aws';
import { anEvent } from '../helpers/events';

let stores: Awaited<ReturnType<typeof emulatedStores>>;
let publisher: RecordingPublisher;
let deps: ProcessEventsDeps;

const vip: Segment = {
  id: 'vip',
  name: 'VIP',
  condition: { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' },
  revision: 1,
  languageVersion: 1,
  status: 'ready',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};
const sourced = (events: ReturnType<typeof anEvent>[]): SourcedEvent[] => events.map((event, i) => ({ event, origin: `msg-${i}` }));
/** Processes events, none failing: a failure would hide behind a counter left unchanged. */
const process = async (events: ReturnType<typeof anEvent>[]) => {
  const result = await processEvents(sourced(events), deps);
  expect([...result.failed.values(), ...result.parked.map((p) => p.error)]).toEqual([]);
};
const size = async () => (await segmentSizes(['vip'], stores)).get('vip');
const members = () => stores.memberships.count('vip');

beforeEach(async () => {
  stores = await emulatedStores();
  publisher = new RecordingPublisher();
  await stores.catalog.segments.put(vip);
  // As saving a new segment does.
  await stores.catalog.setSize('vip', 0);
  deps = processEventsDeps(stores, publisher);
});

describe('segment size counters', () => {
  it('counts a membership once however many writes race for it, entering and leaving', async () => {
    const entered = await Promise.all(Array.from({ length: 6 }, () => stores.memberships.enter('vip', 'p_1', '2026-03-15T10:00:00.000Z')));
    expect(entered.filter(Boolean)).toHaveLength(1);
    const left = await Promise.all(Array.from({ length: 6 }, () => stores.memberships.exit('vip', 'p_1')));
    expect(left.filter(Boolean)).toHaveLength(1);
  });

  it('stays equal to the members through events, repeats, a merge and an erasure', async () => {
    const identify = (userId: string, tier: string, extra: Record<string, unknown> = {}) =>
      anEvent({ type: 'identify', event: undefined, userId, traits: { tier, ...extra } });
    await process([identify('ada', 'vip'), identify('bob', 'vip'), identify('cy', 'basic')]);
    expect([await size(), await members()]).toEqual([2, 2]);
    // The same events again: nothing changes, nothing is counted twice.
    await process([identify('ada', 'vip'), identify('bob', 'vip')]);
    expect(await size()).toBe(2);
    // Cy's anonymous visits are hers: a merge of two profiles, one of them a member.
    await processEvents(
      sourced([anEvent({ type: 'identify', event: undefined, userId: undefined, anonymousId: 'anon-cy', traits: { tier: 'vip' } })]),
      deps,
    );
    expect([await size(), await members()]).toEqual([3, 3]);
    await processEvents(
      sourced([anEvent({ type: 'identify', event: undefined, userId: 'cy', anonymousId: 'anon-cy', traits: { tier: 'vip' } })]),
      deps,
    );
    expect([await size(), await members()]).toEqual([3, 3]);
    // Bob leaves, Ada is erased.
    await process([identify('bob', 'basic')]);
    const key = identifierKey({ type: 'userId', value: 'ada' });
    const adaId = (await stores.identities.owners([key])).get(key)!;
    await stores.catalog.putRun('erasures', { runId: 'er_1', status: 'requested', startedAt: new Date().toISOString() });
    await eraseProfile(adaId, 'er_1', { ...stores, publisher, logger: silentLogger(), now: Date.now });
    expect([await size(), await members()]).toEqual([1, 1]);
  });

  it('sets a counter right after a crash between a membership write and its count, and says so; leaves alone one that is right', async () => {
    await process([anEvent({ type: 'identify', event: undefined, userId: 'ada', traits: { tier: 'vip' } })]);
    // A crash after the membership write, before the counter's: the member is there, not counted.
    await stores.memberships.enter('vip', 'p_crashed', '2026-03-15T10:00:00.000Z');
    expect([await size(), await members()]).toEqual([1, 2]);
    const first = await reconcileSizes({ ...stores, logger: silentLogger() });
    // The stage segments Prisme manages had no counter yet: they get one, and are no drift.
    expect(first.drifts.filter((d) => d.counter !== null)).toEqual([{ segmentId: 'vip', counter: 1, members: 2 }]);
    expect(await size()).toBe(2);
    // Counted right, the next reconciliation changes nothing; and later changes add up from there.
    expect((await reconcileSizes({ ...stores, logger: silentLogger() })).drifts).toEqual([]);
    await process([anEvent({ type: 'identify', event: undefined, userId: 'ada', traits: { tier: 'basic' } })]);
    expect([await size(), await members()]).toEqual([1, 1]);
  });

  it('counts the members of a segment that has no counter yet, until a reconciliation gives it one', async () => {
    const old: Segment = { ...vip, id: 'old' };
    await stores.catalog.segments.put(old);
    await stores.memberships.enter('old', 'p_1', '2026-03-15T10:00:00.000Z');
    await stores.memberships.enter('old', 'p_2', '2026-03-15T10:00:00.000Z');
    expect(await stores.catalog.sizes(['old'])).toEqual(new Map());
    expect((await segmentSizes(['old'], stores)).get('old')).toBe(2);
    const { drifts } = await reconcileSizes({ ...stores, logger: silentLogger() });
    expect(drifts).toContainEqual({ segmentId: 'old', counter: null, members: 2 });
    expect(await stores.catalog.sizes(['old'])).toEqual(new Map([['old', 2]]));
  });
});
