/**
 * The scheduled jobs with a fake clock: the daily freeze ends expired memberships, the sweep takes due
 * snapshots. Long because the three jobs share the same clock, stores and writer set-up, kept in one place.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createFreezeHandler } from '#functions/freeze/freeze';
import { createSnapshotHandler, type SnapshotEvent } from '#functions/snapshot/snapshot';
import { createSweepHandler } from '#functions/sweep/sweep';
import { lambdaContext } from '#local/lambda-context';
import type { Audience } from '#shared/domain/audiences';
import { newProfile } from '#shared/domain/profile';
import type { Segment } from '#shared/domain/segment-definition';
import { DAY_MS } from '#shared/domain/time';
import type { MetricsRecorder } from '#shared/ports/metrics';
import { processEvents } from '#shared/usecases/process-events';
import { ProfileWriter } from '#shared/usecases/profile-writer';
import { FREEZE_SCOPE } from '#shared/usecases/reevaluate';
import { RulesCache } from '#shared/usecases/rules-cache';
import { newProfileId } from '#shared/wiring';
import { emulatedStores, RecordingPublisher, silentLogger } from '../helpers/aws';
import { anEvent, membershipChanges } from '../helpers/events';

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

const writer = () =>
  new ProfileWriter({
    profiles: stores.profiles,
    memberships: stores.memberships,
    frozen: stores.frozen,
    stats: stores.catalog,
    sizes: stores.catalog,
    publisher,
    logger: silentLogger(),
    now: clock,
  });
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

/**
 * Runs the freeze as EventBridge would: the scheduled start, then every `Freeze Requested` event it
 * publishes (its workers and their hand-offs), each in its own invocation, until it is quiet.
 */
async function runFreeze(
  options: {
    remainingMs?: number;
    scanSegments?: number;
    deliveries?: number;
    profiles?: typeof stores.profiles;
    metrics?: MetricsRecorder;
  } = {},
) {
  const handler = createFreezeHandler({
    catalog: stores.catalog,
    memberships: stores.memberships,
    profiles: options.profiles ?? stores.profiles,
    frozen: stores.frozen,
    writer: writer(),
    publisher,
    logger: silentLogger(),
    now: clock,
    scanSegments: options.scanSegments ?? 3,
    ...(options.metrics && { metrics: options.metrics }),
  });
  const context = () => ({ ...lambdaContext('freeze', 900_000), getRemainingTimeInMillis: () => options.remainingMs ?? 900_000 });
  let seen = publisher.events.length;
  await handler(scheduled(), context());
  let invocations = 1;
  while (publisher.events.length > seen) {
    const next = publisher.events.slice(seen).filter((e) => e.detailType === 'Freeze Requested');
    seen = publisher.events.length;
    for (const e of next) {
      for (let delivery = 0; delivery < (options.deliveries ?? 1); delivery++) {
        await handler({ ...scheduled(), 'detail-type': 'Freeze Requested', source: 'prisme', detail: e.detail } as never, context());
        invocations++;
      }
    }
  }
  return { run: (await stores.catalog.listRuns(FREEZE_SCOPE, 1))[0]!, invocations };
}

describe('daily freeze', () => {
  it('ends a membership whose window has passed, without any new event, and records its run', async () => {
    await processEvents(
      [{ event: anEvent({ type: 'page', event: undefined, userId: 'visitor', at: '2026-03-15T09:00:00.000Z' }), origin: 'm' }],
      {
        identities: stores.identities,
        profiles: stores.profiles,
        writer: writer(),
        rules: new RulesCache(stores.catalog, 0),
        logger: silentLogger(),
        newProfileId: () => newProfileId(),
        now: clock,
        concurrency: 2,
      },
    );
    expect(await stores.memberships.count('recent-visitors')).toBe(1);

    now += 2 * DAY_MS; // still inside the 3-day window
    const first = await runFreeze();
    expect(first.run).toMatchObject({ status: 'succeeded', phase: 'done', progress: { profiles: 1, transitions: 0 } });
    expect(await stores.memberships.count('recent-visitors')).toBe(1);

    now += DAY_MS; // the visit is now 3 days old: out of "the last 3 days"
    const second = await runFreeze();
    expect(second.run).toMatchObject({ status: 'succeeded', progress: { profiles: 1, transitions: 1 } });
    expect(await stores.memberships.count('recent-visitors')).toBe(0);
    expect(
      membershipChanges(publisher.events)
        .filter((t) => t.segmentId === 'recent-visitors')
        .map((t) => [t.change, t.reason]),
    ).toEqual([
      ['entered', 'events'],
      ['exited', 'time'],
    ]);
    expect((await stores.catalog.listRuns(FREEZE_SCOPE, 5)).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('freezes RFM, clusters and churn risk for everyone, outside the hot item, and segments use them', async () => {
    const champions: Segment = {
      ...recentVisitors,
      id: 'rfm-champions',
      name: 'Champions',
      condition: { type: 'indicator', indicator: 'rfm_label', operator: 'eq', value: 'champions' },
    };
    await stores.catalog.segments.put(champions);
    const deps = {
      identities: stores.identities,
      profiles: stores.profiles,
      writer: writer(),
      rules: new RulesCache(stores.catalog, 0),
      logger: silentLogger(),
      newProfileId: () => newProfileId(),
      now: clock,
      concurrency: 8,
    };
    const at = (days: number) => new Date(now - days * DAY_MS).toISOString();
    const events = [];
    for (let i = 0; i < 120; i++) {
      const userId = `u${i}`;
      // Store buyers, each buying more and more recently with i; and email readers who never buy.
      if (i % 2 === 0)
        for (let k = 0; k <= i % 7; k++)
          events.push(
            anEvent({
              userId,
              event: 'Order Completed',
              channel: 'store',
              at: at(1 + ((i * 7 + k * 13) % 150)),
              properties: { revenue: 20 + i },
            }),
          );
      else
        for (let k = 0; k < 4; k++)
          events.push(anEvent({ userId, event: 'Email Link Clicked', channel: 'email', at: at(1 + ((i + k * 5) % 60)) }));
    }
    for (let i = 0; i < events.length; i += 100)
      await processEvents(
        events.slice(i, i + 100).map((event) => ({ event, origin: 'm' })),
        deps,
      );
    expect(await stores.memberships.count('rfm-champions')).toBe(0); // nothing frozen yet

    const { run } = await runFreeze();
    expect(run).toMatchObject({ status: 'succeeded', progress: { segments: 3, measured: 120, profiles: 120, frozenWritten: 120 } });
    expect(await stores.catalog.listRunParts(FREEZE_SCOPE, run.runId, '')).toEqual([]); // sketches and samples cleaned up
    const clusters = (run.progress as { clusters: { k: number; descriptions: Array<{ description: string }> } }).clusters;
    expect(clusters.k).toBeGreaterThanOrEqual(2);
    const described = clusters.descriptions.map((d) => d.description).join(' | ');
    expect(described).toMatch(/store buyers/);
    expect(described).toMatch(/email readers/);

    const profiles = (await stores.profiles.scan(undefined, 200)).items;
    const frozen = new Map((await stores.frozen.getMany(profiles.map((p) => p.profileId))).map((r) => [r.profileId, r.values]));
    const of = (userId: string) => frozen.get(profiles.find((p) => p.identifiers.userId?.[0] === userId)!.profileId)!;
    expect(of('u118')).toMatchObject({ rfm_monetary_score: 5 });
    expect(of('u1')).toMatchObject({ rfm_monetary_score: 1 });
    expect(of('u1').churn_risk).toBeUndefined(); // a prospect
    expect(of('u2').churn_risk).toBeGreaterThan(0);
    expect(of('u2').cluster).not.toBe(of('u1').cluster);
    // The hot item stays as it was: frozen values live in their own table.
    for (const key of ['rfm_label', 'rfm_score', 'churn_risk', 'cluster']) expect(JSON.stringify(profiles[0])).not.toContain(key);

    const members = await stores.memberships.count('rfm-champions');
    expect(members).toBeGreaterThan(0);
    expect(members).toBe([...frozen.values()].filter((v) => v.rfm_label === 'champions').length);
    const championChanges = membershipChanges(publisher.events).filter((t) => t.segmentId === 'rfm-champions');
    expect(championChanges).toHaveLength(members);
    expect(championChanges.every((t) => t.reason === 'time' && t.change === 'entered')).toBe(true);

    // The next day nothing moved: no frozen value is rewritten.
    now += 1000;
    expect((await runFreeze()).run.progress).toMatchObject({ profiles: 120, frozenWritten: 0, transitions: 0 });
  });

  it('ends the same when EventBridge delivers every request twice', async () => {
    const deps = {
      identities: stores.identities,
      profiles: stores.profiles,
      writer: writer(),
      rules: new RulesCache(stores.catalog, 0),
      logger: silentLogger(),
      newProfileId: () => newProfileId(),
      now: clock,
      concurrency: 8,
    };
    const events = Array.from({ length: 150 }, (_, i) =>
      anEvent({
        userId: `u${i}`,
        event: 'Order Completed',
        at: new Date(now - (i % 90) * DAY_MS).toISOString(),
        properties: { revenue: i },
      }),
    );
    for (let i = 0; i < events.length; i += 100)
      await processEvents(
        events.slice(i, i + 100).map((event) => ({ event, origin: 'm' })),
        deps,
      );
    const once = await runFreeze();
    const frozenOnce = await stores.frozen.getMany((await stores.profiles.scan(undefined, 200)).items.map((p) => p.profileId));
    const twice = await runFreeze({ deliveries: 2 });
    expect(twice.run).toMatchObject({ status: 'succeeded', phase: 'done', progress: { measured: 150, profiles: 150, frozenWritten: 0 } });
    expect(twice.run.progress?.boundaries).toEqual(once.run.progress?.boundaries);
    const byProfile = (records: typeof frozenOnce) => Object.fromEntries(records.map((r) => [r.profileId, r.values]));
    expect(byProfile(await stores.frozen.getMany(frozenOnce.map((r) => r.profileId)))).toEqual(byProfile(frozenOnce));
  });

  it('records a failed run, and what the alarms read of a run that succeeds', async () => {
    const recorded: Array<[string, number, unknown]> = [];
    const metrics: MetricsRecorder = {
      add: (metric, value, dimensions) => void recorded.push([metric, value, dimensions]),
      flush: () => undefined,
    };
    const failing: typeof stores.profiles = Object.assign(Object.create(stores.profiles), {
      scan: async () => Promise.reject(new Error('DynamoDB is unwell')),
    });
    await expect(runFreeze({ scanSegments: 1, profiles: failing, metrics })).rejects.toThrow('DynamoDB is unwell');
    expect(recorded).toEqual([['freezeRuns', 1, { status: 'failed' }]]);
    recorded.length = 0;
    const { run } = await runFreeze({ scanSegments: 2, metrics });
    expect(run.status).toBe('succeeded');
    expect(recorded).toEqual([
      ['freezeRuns', 1, { status: 'succeeded' }],
      ['freezeDuration', run.progress!.durationMs, {}],
      ['freezeProfiles', run.progress!.profiles, {}],
    ]);
  });

  it('hands its work to fresh invocations near the time limit, and ends the same', async () => {
    const deps = {
      identities: stores.identities,
      profiles: stores.profiles,
      writer: writer(),
      rules: new RulesCache(stores.catalog, 0),
      logger: silentLogger(),
      newProfileId: () => newProfileId(),
      now: clock,
      concurrency: 8,
    };
    const events = Array.from({ length: 250 }, (_, i) =>
      anEvent({
        userId: `u${i}`,
        event: 'Order Completed',
        at: new Date(now - (i % 90) * DAY_MS).toISOString(),
        properties: { revenue: i },
      }),
    );
    for (let i = 0; i < events.length; i += 100)
      await processEvents(
        events.slice(i, i + 100).map((event) => ({ event, origin: 'm' })),
        deps,
      );
    // Under the freeze's 60 s safety margin, so every page but the last hands off; far above what a step
    // takes, so middy's own early timeout never fires however loaded the machine is.
    const { run, invocations } = await runFreeze({ remainingMs: 59_000, scanSegments: 1 });
    expect(run).toMatchObject({ status: 'succeeded', progress: { measured: 250, profiles: 250, frozenWritten: 250 } });
    // A start, then 3 pages of 100 in each pass, each page but the last in its own invocation.
    expect(invocations).toBe(1 + 3 + 3);
  });
});

describe('time sweep', () => {
  const processDeps = () => ({
    identities: stores.identities,
    profiles: stores.profiles,
    writer: writer(),
    rules: new RulesCache(stores.catalog, 0),
    logger: silentLogger(),
    newProfileId: () => newProfileId(),
    now: clock,
    concurrency: 4,
  });
  const sweeper = (options: { budgetMs?: number; pageSize?: number; writer?: ProfileWriter; metrics?: MetricsRecorder } = {}) =>
    createSweepHandler({
      catalog: stores.catalog,
      profiles: stores.profiles,
      writer: options.writer ?? writer(),
      logger: silentLogger(),
      now: clock,
      ...options,
    });
  const sweepAt = (iso: string, sweep = sweeper()) => {
    now = Date.parse(iso);
    return sweep(scheduled(), lambdaContext('sweep', 120_000));
  };
  const profileOf = async (userId: string) =>
    (await stores.profiles.scan(undefined, 1000)).items.find((p) => p.identifiers.userId?.includes(userId))!;
  const visits = (users: string[], at: string) =>
    processEvents(
      users.map((userId) => ({ event: anEvent({ type: 'page', event: undefined, userId, at }), origin: 'm' })),
      processDeps(),
    );

  it('re-evaluates exactly the profiles that are due, so a membership ends within the minute of its end', async () => {
    await processEvents(
      [
        { event: anEvent({ type: 'page', event: undefined, userId: 'visitor', at: '2026-03-15T09:00:00.000Z' }), origin: 'm' },
        { event: anEvent({ type: 'identify', event: undefined, userId: 'never-visits', traits: { tier: 'vip' } }), origin: 'm' },
      ],
      processDeps(),
    );
    const visitor = await profileOf('visitor');
    // The visit (15 March, 09:00) leaves "the last 3 days" 72 hours later, filed under that minute.
    expect(visitor.nextCheckAt).toBe(Date.parse('2026-03-18T09:00:00.000Z'));
    expect(visitor.due).toMatch(/^2026-03-18T09:00#\d$/);
    expect((await profileOf('never-visits')).nextCheckAt).toBeUndefined();

    expect((await sweepAt('2026-03-18T08:59:30.000Z')).progress).toMatchObject({
      profiles: 0,
      transitions: 0,
      sweptTo: '2026-03-18T08:59',
    });
    expect(await stores.memberships.count('recent-visitors')).toBe(1);

    const run = await sweepAt('2026-03-18T09:00:20.000Z');
    expect(run).toMatchObject({
      runId: 'latest',
      status: 'succeeded',
      progress: { from: '2026-03-18T09:00', sweptTo: '2026-03-18T09:00', profiles: 1, transitions: 1 },
    });
    expect(await stores.memberships.count('recent-visitors')).toBe(0);
    const after = await stores.profiles.get(visitor.profileId);
    expect(after!.nextCheckAt).toBeUndefined(); // nothing left that time can change
    expect(after!.due).toBeUndefined();
    // The same minute again (EventBridge delivers at least once): nothing to do.
    expect((await sweepAt('2026-03-18T09:00:40.000Z')).progress).toMatchObject({ profiles: 0, sweptTo: '2026-03-18T09:00' });
  });

  it('ends "in the last 30 minutes" at 30 minutes, not at the next hour', async () => {
    await stores.catalog.segments.put({
      ...recentVisitors,
      id: 'just-visited',
      name: 'Visited in the last 30 minutes',
      condition: { type: 'event', within: { minutes: 30 } },
    });
    await visits(['quick'], '2026-03-15T12:00:00.000Z');
    expect(await stores.memberships.count('just-visited')).toBe(1);
    await sweepAt('2026-03-15T12:29:59.000Z');
    expect(await stores.memberships.count('just-visited')).toBe(1);
    await sweepAt('2026-03-15T12:30:01.000Z');
    expect(await stores.memberships.count('just-visited')).toBe(0);
    expect(
      membershipChanges(publisher.events)
        .filter((t) => t.segmentId === 'just-visited')
        .map((t) => [t.change, t.reason, t.at]),
    ).toEqual([
      ['entered', 'events', '2026-03-15T12:00:00.000Z'],
      ['exited', 'time', '2026-03-15T12:30:01.000Z'],
    ]);
  });

  it('catches up the minutes it missed, and after an upgrade finds the profiles earlier versions filed by the hour', async () => {
    await visits(['early', 'late'], '2026-03-15T09:00:00.000Z');
    await sweepAt('2026-03-18T08:00:10.000Z');
    // An earlier version filed "late" under the hour its end rounds up to, and recorded its hourly runs.
    const late = await profileOf('late');
    const hourly = {
      ...late,
      nextCheckAt: Date.parse('2026-03-18T09:20:00.000Z'),
      due: `2026-03-18T10#${late.due!.split('#')[1]}`,
      version: late.version + 1,
    };
    await stores.profiles.put(hourly, late.version);
    // Down from 08:00 to 11:30: the run that comes back sweeps every minute since, and the old hour key.
    const run = await sweepAt('2026-03-18T11:30:05.000Z');
    expect(run.progress).toMatchObject({ from: '2026-03-18T08:01', sweptTo: '2026-03-18T11:30', profiles: 2, transitions: 2 });
    expect(await stores.memberships.count('recent-visitors')).toBe(0);
  });

  it('stops within its budget when many profiles are due, and the next runs go on where it stopped, each profile once', async () => {
    const people = Array.from({ length: 250 }, (_, i) => `crowd-${i}`);
    await visits(people, '2026-03-15T09:00:00.000Z');
    expect(await stores.memberships.count('recent-visitors')).toBe(250);
    await sweepAt('2026-03-18T08:59:10.000Z');

    // No time to spare: one page a run, pages of 10 (about 32 profiles in each of the 8 shards).
    const recorded: Array<[string, number]> = [];
    const metrics: MetricsRecorder = { add: (metric, value) => void recorded.push([metric, value]), flush: () => undefined };
    const tight = sweeper({ budgetMs: 0, pageSize: 10, metrics });
    const runs = [];
    while (runs.at(-1)?.status !== 'succeeded') {
      if (runs.length > 100) throw new Error('the sweep does not catch up');
      runs.push(await sweepAt('2026-03-18T09:00:10.000Z', tight));
    }
    // A run for each page of the minute's 8 shards (25 pages at least) and each of the 8 hour keys earlier versions wrote.
    expect(runs.length).toBeGreaterThanOrEqual(Math.ceil(250 / 10) + 8);
    expect(runs.slice(0, -1).every((r) => r.status === 'running')).toBe(true);
    expect(runs.reduce((sum, r) => sum + (r.progress!.transitions as number), 0)).toBe(250);
    expect(runs.reduce((sum, r) => sum + (r.progress!.profiles as number), 0)).toBe(250);
    expect(await stores.memberships.count('recent-visitors')).toBe(0);
    expect(runs.at(-1)!.progress).toMatchObject({ sweptTo: '2026-03-18T09:00' });
    // What the alarm on a sweep falling behind reads: each run behind says by how much, the last says 0.
    const lags = recorded.filter(([metric]) => metric === 'sweepLag').map(([, value]) => value);
    expect(lags).toHaveLength(runs.length);
    expect(lags.slice(0, -1).every((lag) => lag > 0)).toBe(true);
    expect(lags.at(-1)).toBe(0);
    expect(recorded.filter(([metric]) => metric === 'sweepDueProfiles').reduce((sum, [, value]) => sum + value, 0)).toBe(250);
  });

  it("leaves a profile it cannot re-evaluate to the freeze, and ends everyone else's membership", async () => {
    await visits(['sound-1', 'broken', 'sound-2'], '2026-03-15T09:00:00.000Z');
    const broken = (await profileOf('broken')).profileId;
    const flaky = writer();
    const apply = flaky.apply.bind(flaky);
    flaky.apply = async (change, catalog, existing) => {
      if (change.profileId === broken) throw new Error('DynamoDB is unwell for this item');
      return apply(change, catalog, existing);
    };
    await sweepAt('2026-03-18T08:59:10.000Z');
    const run = await sweepAt('2026-03-18T09:00:10.000Z', sweeper({ writer: flaky }));
    expect(run).toMatchObject({ status: 'succeeded', progress: { profiles: 3, transitions: 2, failed: 1 } });
    expect((await stores.memberships.members('recent-visitors', undefined, 10)).items.map((m) => m.profileId)).toEqual([broken]);
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
      minSize: 1,
      maxSizeChange: 0.5,
      holdoutPercent: 0,
      revision: 1,
      status: 'approved',
      approval: { by: 'test', at: '2026-03-15T05:00:00.000Z', size: 1, audienceRevision: 1 },
      createdAt: '2026-03-15T05:00:00.000Z',
      updatedAt: '2026-03-15T05:00:00.000Z',
    });
    await stores.catalog.audiences.put(audience('daily-six', '0 6 * * *'));
    await stores.catalog.audiences.put(audience('manual'));
    await stores.catalog.audiences.put({ ...audience('draft-six', '0 6 * * *'), status: 'draft', approval: undefined });
    await stores.profiles.put({ ...newProfile('p_visitor', '2026-03-15T05:00:00.000Z'), version: 1 }, 0);
    await stores.memberships.enter('recent-visitors', 'p_visitor', '2026-03-15T05:00:00.000Z');
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
    expect(await stores.catalog.listRuns('audience#draft-six', 5)).toEqual([]); // a draft is never taken
  });
});
