/** The scheduled jobs with a fake clock: the daily freeze ends expired memberships, the sweep takes due snapshots. */
import { beforeEach, describe, expect, it } from 'vitest';
import { createFreezeHandler } from '../../functions/freeze/freeze';
import { createSnapshotHandler, type SnapshotEvent } from '../../functions/snapshot/snapshot';
import { createSweepHandler } from '../../functions/sweep/sweep';
import { lambdaContext } from '../../local/lambda-context';
import type { Audience } from '../../shared/domain/audiences';
import { DAY_MS } from '../../shared/domain/profile';
import type { Segment } from '../../shared/domain/segments';
import { processEvents } from '../../shared/usecases/process-events';
import { ProfileWriter } from '../../shared/usecases/profile-writer';
import { FREEZE_SCOPE } from '../../shared/usecases/reevaluate';
import { SegmentCatalog } from '../../shared/usecases/segment-catalog';
import { newProfileId } from '../../shared/wiring';
import { RecordingPublisher, emulatedStores, silentLogger } from '../helpers/aws';
import { anEvent } from '../helpers/events';

let stores: Awaited<ReturnType<typeof emulatedStores>>;
let publisher: RecordingPublisher;
let now: number;
const clock = () => now;

const recentVisitors: Segment = {
  id: 'recent-visitors',
  name: 'Visited in the last 3 days',
  condition: { type: 'event', event: 'Page Viewed', within: { days: 3 } },
  revision: 1,
  languageVersion: 1,
  status: 'ready',
  createdAt: '2026-03-01T00:00:00.000Z',
  updatedAt: '2026-03-01T00:00:00.000Z',
};

beforeEach(async () => {
  stores = await emulatedStores();
  publisher = new RecordingPublisher();
  now = Date.parse('2026-03-15T12:00:00.000Z');
  await stores.catalog.segments.put(recentVisitors);
});

const writer = () => new ProfileWriter({ profiles: stores.profiles, memberships: stores.memberships, stats: stores.catalog, publisher, logger: silentLogger(), now: clock });
const scheduled = (): SnapshotEvent => ({
  version: '0',
  id: 'e',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '0',
  time: new Date(now).toISOString(),
  region: 'local',
  resources: [],
  detail: {},
});

describe('daily freeze', () => {
  it('ends a membership whose window has passed, without any new event, and records its run', async () => {
    await processEvents(
      [{ event: anEvent({ type: 'page', event: undefined, userId: 'visitor', at: '2026-03-15T09:00:00.000Z' }), origin: 'm' }],
      { identities: stores.identities, profiles: stores.profiles, writer: writer(), segments: new SegmentCatalog(stores.catalog, 0), logger: silentLogger(), newProfileId: () => newProfileId(), concurrency: 2 },
    );
    expect(await stores.memberships.count('recent-visitors')).toBe(1);

    const freeze = createFreezeHandler({ catalog: stores.catalog, profiles: stores.profiles, writer: writer(), publisher, logger: silentLogger(), now: clock });
    now += 2 * DAY_MS; // still inside the 3-day window
    const first = await freeze(scheduled(), lambdaContext('freeze', 900_000));
    expect(first.progress).toMatchObject({ profiles: 1, transitions: 0 });
    expect(await stores.memberships.count('recent-visitors')).toBe(1);

    now += DAY_MS; // the visit is now 3 days old: out of "the last 3 days"
    const second = await freeze(scheduled(), lambdaContext('freeze', 900_000));
    expect(second).toMatchObject({ status: 'succeeded', progress: { profiles: 1, transitions: 1 } });
    expect(await stores.memberships.count('recent-visitors')).toBe(0);
    expect(publisher.events.filter((e) => e.detail.segmentId === 'recent-visitors').map((e) => [e.detail.change, e.detail.reason])).toEqual([
      ['entered', 'events'],
      ['exited', 'time'],
    ]);
    expect((await stores.catalog.listRuns(FREEZE_SCOPE, 5)).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
  });
});

describe('time sweep', () => {
  it('re-evaluates exactly the profiles that are due, so a membership ends on time', async () => {
    const deps = { identities: stores.identities, profiles: stores.profiles, writer: writer(), segments: new SegmentCatalog(stores.catalog, 0), logger: silentLogger(), newProfileId: () => newProfileId(), concurrency: 2 };
    await processEvents(
      [
        { event: anEvent({ type: 'page', event: undefined, userId: 'visitor', at: '2026-03-15T09:00:00.000Z' }), origin: 'm' },
        { event: anEvent({ type: 'identify', event: undefined, userId: 'never-visits', traits: { tier: 'vip' } }), origin: 'm' },
      ],
      deps,
    );
    const visitor = (await stores.profiles.scan(undefined, 10)).items.find((p) => p.identifiers.userId?.includes('visitor'))!;
    const other = (await stores.profiles.scan(undefined, 10)).items.find((p) => p.identifiers.userId?.includes('never-visits'))!;
    // The visit (15 March) leaves "the last 3 days" when 18 March begins.
    expect(visitor.nextCheckAt).toBe(Date.parse('2026-03-18T00:00:00.000Z'));
    expect(visitor.due).toMatch(/^2026-03-18T00#\d$/);
    expect(other.nextCheckAt).toBeUndefined();

    const sweep = createSweepHandler({ catalog: stores.catalog, profiles: stores.profiles, writer: writer(), logger: silentLogger(), now: clock });
    now = Date.parse('2026-03-17T23:05:00.000Z');
    expect((await sweep(scheduled(), lambdaContext('sweep', 900_000))).progress).toMatchObject({ profiles: 0, transitions: 0 });
    expect(await stores.memberships.count('recent-visitors')).toBe(1);

    now = Date.parse('2026-03-18T00:05:00.000Z');
    const run = await sweep(scheduled(), lambdaContext('sweep', 900_000));
    expect(run).toMatchObject({ runId: '2026-03-18T00', progress: { fromHour: '2026-03-18T00', profiles: 1, transitions: 1 } });
    expect(await stores.memberships.count('recent-visitors')).toBe(0);
    const after = await stores.profiles.get(visitor.profileId);
    expect(after!.nextCheckAt).toBeUndefined(); // nothing left that time can change
    expect(after!.due).toBeUndefined();
  });
});

describe('snapshot sweep', () => {
  it('takes the snapshots whose cron is due, once per tick', async () => {
    const audience = (id: string, schedule?: string): Audience => ({
      id,
      name: id,
      segmentId: 'recent-visitors',
      fields: ['userId'],
      format: 'csv',
      schedule,
      revision: 1,
      createdAt: '2026-03-15T05:00:00.000Z',
      updatedAt: '2026-03-15T05:00:00.000Z',
    });
    await stores.catalog.audiences.put(audience('daily-six', '0 6 * * *'));
    await stores.catalog.audiences.put(audience('manual'));
    const sweep = createSnapshotHandler({ ...stores, publisher, logger: silentLogger(), now: clock });

    now = Date.parse('2026-03-15T05:59:00.000Z');
    expect((await sweep(scheduled(), lambdaContext('snapshot', 900_000))).runs).toEqual([]);
    now = Date.parse('2026-03-15T06:00:30.000Z');
    expect((await sweep(scheduled(), lambdaContext('snapshot', 900_000))).runs).toHaveLength(1);
    now = Date.parse('2026-03-15T06:15:00.000Z');
    expect((await sweep(scheduled(), lambdaContext('snapshot', 900_000))).runs).toEqual([]);
    now = Date.parse('2026-03-16T06:00:10.000Z');
    expect((await sweep(scheduled(), lambdaContext('snapshot', 900_000))).runs).toHaveLength(1);
    expect(await stores.catalog.listRuns('audience#manual', 5)).toEqual([]);
    expect((await stores.catalog.listRuns('audience#daily-six', 5)).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
  });
});
