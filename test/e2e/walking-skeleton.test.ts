/**
 * End to end on the local runtime: a hybrid stream posted over HTTP by the real
 * Segment client, read back through the public admin API, the event bus and S3.
 * Long on purpose: the product's main journey in one place, its steps sharing one runtime (starting
 * one costs seconds), each test setting up the people it checks.
 */

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '#local/runtime';
import type { DetailType } from '#shared/contracts/detail-types';
import { eventContracts } from '#shared/contracts/events';
import type { LatestPointer, Manifest } from '#shared/domain/snapshot-files';
import { isStageSegmentId } from '#shared/domain/stages';
import { membershipChanges } from '../helpers/events';
import { adminClient, eventually, startTestRuntime } from '../helpers/local';

let runtime: LocalRuntime;
let admin: ReturnType<typeof adminClient>;
let s3: S3Client;

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);

beforeAll(async () => {
  runtime = await startTestRuntime();
  admin = adminClient(runtime);
  s3 = new S3Client({
    endpoint: runtime.endpoints.s3,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
});
afterAll(async () => {
  await runtime?.stop();
});

const profileOf = async (query: string) => (await admin.get(`/v1/profiles?${query}`)).body;
/** Transitions of the segments these tests create (not of the lifecycle and intent stages). */
const membershipEvents = () =>
  membershipChanges(runtime.bus.published)
    .filter((t) => !isStageSegmentId(t.segmentId))
    .map((t) => [t.segmentId, t.profileId, t.change]);

async function sendHybridStream(): Promise<void> {
  const analytics = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 25, flushInterval: 20 });
  const failures: unknown[] = [];
  analytics.on('error', (error) => failures.push(error));

  // Ada browses anonymously, logs in, buys twice in the Nice store with her loyalty card, opens an email.
  analytics.page({ anonymousId: 'anon-ada', name: 'Home', timestamp: daysAgo(1) });
  analytics.page({ anonymousId: 'anon-ada', name: 'Pricing', timestamp: daysAgo(1) });
  analytics.identify({
    userId: 'ada',
    anonymousId: 'anon-ada',
    traits: { email: 'Ada@Example.com', tier: 'VIP', firstName: 'Ada' },
    timestamp: daysAgo(1),
  });
  for (const days of [20, 90]) {
    analytics.track({
      userId: 'ada',
      event: 'Order Completed',
      properties: { revenue: 120 },
      context: { channel: 'store' },
      timestamp: daysAgo(days),
    });
  }
  analytics.track({ userId: 'ada', event: 'Email Opened', context: { channel: 'email' }, timestamp: daysAgo(2) });

  // Bob is a regular store customer, not VIP.
  analytics.identify({ userId: 'bob', traits: { email: 'bob@example.com', tier: 'standard', firstName: 'Bob' }, timestamp: daysAgo(30) });
  for (const days of [5, 15, 25]) {
    analytics.track({ userId: 'bob', event: 'Order Completed', context: { channel: 'store' }, timestamp: daysAgo(days) });
  }

  // Cy is VIP but bought only once in store, and uses the app; one of Cy's orders is older than 6 months.
  analytics.identify({ userId: 'cy', traits: { email: 'cy@example.com', tier: 'vip', firstName: 'Cy' }, timestamp: daysAgo(10) });
  analytics.track({ userId: 'cy', event: 'Order Completed', context: { channel: 'store' }, timestamp: daysAgo(10) });
  analytics.track({ userId: 'cy', event: 'Order Completed', context: { channel: 'store' }, timestamp: daysAgo(200) });
  analytics.screen({ userId: 'cy', name: 'Catalogue', context: { channel: 'app' }, timestamp: daysAgo(3) });

  await analytics.closeAndFlush({ timeout: 10_000 });
  expect(failures).toEqual([]);
}

describe('walking skeleton, end to end', () => {
  it('turns a hybrid stream into profiles, memberships, transitions and a verified snapshot', async () => {
    // Seed 001's example, created before any event arrives.
    const created = await admin.put('/v1/segments/vip-store', {
      name: 'VIP who bought at least twice in store in the last 6 months',
      condition: {
        type: 'and',
        conditions: [
          { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' },
          { type: 'event', event: 'Order Completed', channel: 'store', count: { operator: 'gte', value: 2 }, within: { days: 183 } },
        ],
      },
    });
    expect(created.status).toBe(201);

    await sendHybridStream();
    await runtime.drain();

    const ada = await profileOf('userId=ada');
    expect(ada.identifiers).toEqual({ userId: ['ada'], email: ['ada@example.com'], anonymousId: ['anon-ada'] });
    // Each identifier says when it was first and last seen, and through which source.
    const anon = ada.identifierDetails.find((d: { type: string }) => d.type === 'anonymousId');
    expect(anon).toMatchObject({ value: 'anon-ada', source: 'local' });
    expect(Date.parse(anon.firstSeen)).toBeLessThanOrEqual(Date.parse(anon.lastSeen));
    expect(ada.channels).toEqual({ web: 3, store: 2, email: 1 });
    expect(ada.events).toEqual({ 'Page Viewed': { web: 2 }, 'Order Completed': { store: 2 }, 'Email Opened': { email: 1 } });
    expect(ada.traits).toEqual({ tier: 'VIP', firstName: 'Ada' });
    expect(ada.segments).toEqual([
      { id: 'vip-store', name: 'VIP who bought at least twice in store in the last 6 months', enteredAt: expect.any(String) },
    ]);
    expect(Date.parse(ada.segments[0].enteredAt)).toBeGreaterThan(Date.now() - 60_000);
    expect((await profileOf('anonymousId=anon-ada')).profileId).toBe(ada.profileId);
    expect((await profileOf('email=ADA@example.com')).profileId).toBe(ada.profileId);
    expect((await admin.get(`/v1/profiles/${ada.profileId}`)).body.lastSeen).toBe(ada.lastSeen);

    const bob = await profileOf('userId=bob');
    const cy = await profileOf('userId=cy');
    expect(bob.segments).toEqual([]);
    expect(cy.segments).toEqual([]);
    expect(cy.channels).toEqual({ web: 1, store: 2, app: 1 });

    expect((await admin.get('/v1/segments/vip-store/members')).body.members.map((m: { profileId: string }) => m.profileId)).toEqual([
      ada.profileId,
    ]);
    expect(membershipEvents()).toEqual([['vip-store', ada.profileId, 'entered']]);

    // A segment created after the fact is evaluated over existing profiles.
    await admin.put('/v1/segments/store-buyers', {
      name: 'Store buyers',
      condition: {
        type: 'or',
        conditions: [
          { type: 'event', event: 'Order Completed', channel: 'store', within: { days: 30 } },
          { type: 'event', event: 'Screen Viewed', channel: ['app'] },
        ],
      },
    });
    const segments = await eventually(
      async () =>
        (await admin.get('/v1/segments')).body.segments as Array<{ id: string; size: number; status: string; managedBy?: string }>,
      (list) => list.every((s) => s.status === 'ready'),
    );
    // The lifecycle and intent stages are listed too, marked as managed by Prisme.
    expect(segments.filter((s) => s.managedBy).map((s) => s.id)).toContain('lifecycle-customer');
    expect(
      segments
        .filter((s) => !s.managedBy)
        .map((s) => [s.id, s.size])
        .sort(),
    ).toEqual([
      ['store-buyers', 3],
      ['vip-store', 1],
    ]);
    // Those entries came from the new definition, not from events: the transitions say why.
    const reasons = membershipChanges(runtime.bus.published)
      .filter((t) => t.segmentId === 'store-buyers')
      .map((t) => t.reason);
    expect(reasons).toEqual(['definition', 'definition', 'definition']);

    // Ada is downgraded: she leaves, and the bus says so.
    const downgrade = await fetch(`${runtime.url}/v1/identify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ writeKey: runtime.writeKey, userId: 'ada', traits: { tier: 'standard' } }),
    });
    expect(downgrade.status).toBe(200);
    await runtime.drain();
    expect((await admin.get('/v1/segments/vip-store')).body.size).toBe(0);
    expect(membershipEvents()).toContainEqual(['vip-store', ada.profileId, 'exited']);

    // Cy becomes eligible with a second recent store order; the audience exports Cy only.
    const analytics = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 1 });
    analytics.track({ userId: 'cy', event: 'Order Completed', context: { channel: 'store' }, timestamp: daysAgo(1) });
    await analytics.closeAndFlush();
    await runtime.drain();

    // A tiny audience for this test (the privacy minimum defaults to 50), a draft until approved.
    const definition = { name: 'VIP store buyers, by email', segmentId: 'vip-store', fields: ['email', 'traits.firstName'], minSize: 1 };
    const audience = await admin.put('/v1/audiences/vip-store-email', definition);
    expect(audience).toMatchObject({ status: 201, body: { status: 'draft', minSize: 1, maxSizeChange: 0.5, holdoutPercent: 0 } });
    const refused = await admin.post('/v1/audiences/vip-store-email/snapshots');
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('is a draft: approve it first');
    const approved = await admin.post('/v1/audiences/vip-store-email/approve', { approvedBy: 'marie@crm.example' });
    expect(approved).toMatchObject({
      status: 200,
      body: { status: 'approved', previewedSize: 1, previousApprovedSize: null, approval: { by: 'marie@crm.example', size: 1 } },
    });
    // The same definition again keeps the approval; a changed export needs a new one.
    expect((await admin.put('/v1/audiences/vip-store-email', definition)).body.status).toBe('approved');
    expect((await admin.put('/v1/audiences/vip-store-email', { ...definition, fields: ['email'] })).body.status).toBe('draft');
    expect((await admin.put('/v1/audiences/vip-store-email', definition)).body.status).toBe('draft');
    expect((await admin.post('/v1/audiences/vip-store-email/approve')).body.approval.by).toBe('local admin');
    const requested = await admin.post('/v1/audiences/vip-store-email/snapshots');
    expect(requested.status).toBe(202);
    const run = await eventually(
      async () => (await admin.get(`/v1/audiences/vip-store-email/snapshots/${requested.body.runId}`)).body,
      (r) => r.status === 'succeeded' || r.status === 'failed',
    );
    expect(run.status).toBe('succeeded');

    const read = async (key: string) => {
      const { Body } = await s3.send(new GetObjectCommand({ Bucket: runtime.bucket, Key: key }));
      return Buffer.from(await Body!.transformToByteArray());
    };
    const latest = JSON.parse((await read('audiences/vip-store-email/latest.json')).toString()) as LatestPointer;
    expect(latest.runId).toBe(requested.body.runId);
    const manifest = JSON.parse((await read(latest.manifestKey)).toString()) as Manifest;
    expect(manifest.counts).toEqual({ members: 1, added: 1, removed: 0 });
    for (const file of manifest.files) {
      const body = await read(file.key);
      expect(createHash('sha256').update(body).digest('hex')).toBe(file.sha256);
      expect(body.length).toBe(file.bytes);
    }
    const members = manifest.files.find((f) => f.kind === 'members')!;
    expect(gunzipSync(await read(members.key)).toString()).toBe(`profileId,email,traits.firstName\n${cy.profileId},cy@example.com,Cy\n`);
    expect(runtime.bus.published.map((e) => e['detail-type'])).toContain('Audience Snapshot Published');

    // KPIs: the audience's size per run, and conversion since the export (no holdout group here).
    const kpis = (await admin.get('/v1/audiences/vip-store-email/kpis')).body;
    expect(kpis.sizes[0]).toMatchObject({ runId: requested.body.runId, status: 'succeeded', members: 1 });
    expect(kpis.conversion).toMatchObject({
      runId: requested.body.runId,
      complete: true,
      exported: { members: 1, converted: 0, rate: 0 },
      holdout: null,
      uplift: null,
    });

    // What an ESP can check on its side, with the CLI: over S3, on the folder, and on a tampered copy.
    const cli = (target: string) =>
      promisify(execFile)('npx', ['tsx', 'cli/prisme.ts', 'verify-snapshot', target], {
        cwd: resolve(import.meta.dirname, '../..'),
        env: {
          ...process.env,
          AWS_ENDPOINT_URL_S3: runtime.endpoints.s3,
          AWS_ACCESS_KEY_ID: 'S3RVER',
          AWS_SECRET_ACCESS_KEY: 'S3RVER',
          AWS_REGION: 'us-east-1',
        },
      }).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      );
    const overS3 = await cli(`s3://${runtime.bucket}/audiences/vip-store-email/`);
    expect(overS3).toMatchObject({ code: 0, stdout: expect.stringContaining('Verified: 1 members, 1 added, 0 removed.') });
    const folder = join(runtime.dataDir, 's3', runtime.bucket, 'audiences', 'vip-store-email');
    expect((await cli(folder)).code).toBe(0);
    const copy = mkdtempSync(join(tmpdir(), 'prisme-esp-'));
    cpSync(join(folder, 'runs', latest.runId), copy, { recursive: true });
    const part = readdirSync(copy).find((f) => f.startsWith('members-00000.csv.gz') && f.endsWith('_S3rver_object'))!;
    writeFileSync(join(copy, part), gzipSync('profileId,email,traits.firstName\nsomeone,else@example.com,X\n'));
    const tampered = await cli(copy);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(/FAIL +members-00000\.csv\.gz .*SHA-256/);

    // Ada entered then left, Cy entered: today's history says so, and the size walks back to 0.
    const history = (await admin.get('/v1/segments/vip-store/history?days=2')).body.days;
    const transitionDay = membershipChanges(runtime.bus.published)
      .find((t) => t.segmentId === 'vip-store')!
      .at.slice(0, 10);
    expect(history.at(-1)).toEqual({ day: transitionDay, entered: 2, exited: 1, size: 1 });
    expect(history[0]).toMatchObject({ entered: 0, exited: 0, size: 0 });

    // Everything Prisme published honours its versioned contract.
    const ours = runtime.bus.published.filter((e) => e.source === 'prisme');
    expect(ours.length).toBeGreaterThan(3);
    for (const event of ours) eventContracts[event['detail-type'] as DetailType].parse(event.detail);
  });

  it('answers bad input with the status, field and event index, and accepts nothing it cannot keep', async () => {
    const post = (path: string, body: unknown, auth = `Basic ${Buffer.from(`${runtime.writeKey}:`).toString('base64')}`) =>
      fetch(`${runtime.url}${path}`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });

    const wrongKey = await post('/v1/track', { userId: 'x', event: 'E' }, `Basic ${Buffer.from('nope:').toString('base64')}`);
    expect(wrongKey.status).toBe(401);
    expect(wrongKey.headers.get('www-authenticate')).toMatch(/Basic/);

    const malformed = await post('/v1/batch', '{"batch": [');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('malformed_json');

    const mixed = await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'dora', event: 'Signed Up', messageId: 'dora-1' },
        { type: 'track', userId: 'eve' },
      ],
    });
    expect(mixed.status).toBe(400);
    expect(await mixed.json()).toEqual({ success: false, accepted: 1, rejected: [{ index: 1, field: 'event', reason: 'is required' }] });

    const tooLarge = await post('/v1/batch', {
      batch: [{ type: 'track', userId: 'x', event: 'E', properties: { blob: 'x'.repeat(600 * 1024) } }],
    });
    expect(tooLarge.status).toBe(413);
    const tooMany = await post('/v1/batch', { batch: Array.from({ length: 2501 }, () => ({ type: 'page', userId: 'x' })) });
    expect(tooMany.status).toBe(413);

    await runtime.drain();
    expect((await profileOf('userId=dora')).events).toEqual({ 'Signed Up': { web: 1 } });
    expect((await admin.get('/v1/profiles?userId=eve')).status).toBe(404);
  });

  it('parks what can never be processed in the DLQ with its reason, and drops nothing', async () => {
    const sqs = new SQSClient({
      endpoint: runtime.endpoints.sqs,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: runtime.queues.events.name }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'not json at all' }));
    // "anonymous" is a blocked identifier: ingest refuses the event (nobody to fold it into)...
    const blocked = await fetch(`${runtime.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ writeKey: runtime.writeKey, userId: 'anonymous', event: 'Clicked' }),
    });
    expect(blocked.status).toBe(400);
    expect(await blocked.json()).toMatchObject({
      rejected: [{ index: 0, field: 'userId', reason: expect.stringMatching(/identifies nobody/) }],
    });
    // ...and one already in the queue (sent before a pattern was blocked) is parked, not dropped.
    const queued = {
      messageId: 'm-blocked',
      type: 'track',
      userId: 'anonymous',
      event: 'Clicked',
      properties: {},
      traits: {},
      context: {},
      timestamp: new Date().toISOString(),
      receivedAt: new Date().toISOString(),
      channel: 'web',
      sourceId: 'local',
    };
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify({ v: 1, kind: 'events', events: [queued] }) }));
    await runtime.drain();

    const { QueueUrl: dlqUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: runtime.queues.deadLetter.name }));
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
    );
    const reasons = (Messages ?? []).map((m) => m.MessageAttributes?.reason?.StringValue);
    expect(reasons).toEqual(
      expect.arrayContaining([
        'PoisonMessageError: message body is not JSON',
        expect.stringMatching(/^PoisonMessageError: event .* has no usable identifier/),
      ]),
    );
    expect(runtime.queues.events.stats().messages).toBe(0);
  });

  it('creates a write key for a new source, shown once, with its default channel, and revokes it', async () => {
    const created = await admin.post('/v1/sources', { name: 'Nice store tills', defaultChannel: 'store' });
    expect(created.status).toBe(201);
    const { sourceId, writeKey } = created.body as { sourceId: string; writeKey: string };
    expect(writeKey).toMatch(/^wk_[0-9a-f]{48}$/);
    const listed = (await admin.get('/v1/sources')).body.sources as Array<Record<string, unknown>>;
    expect(listed.find((s) => s.sourceId === sourceId)).toEqual({
      sourceId,
      name: 'Nice store tills',
      defaultChannel: 'store',
      allowedOrigins: [],
      createdAt: expect.any(String),
    });
    expect(JSON.stringify(listed)).not.toContain(writeKey);

    const till = new Analytics({ writeKey, host: runtime.url, flushAt: 1 });
    till.track({ userId: 'frank', event: 'Order Completed', properties: { revenue: 30 } });
    await till.closeAndFlush();
    await runtime.drain();
    expect((await profileOf('userId=frank')).events).toEqual({ 'Order Completed': { store: 1 } });

    expect((await admin.delete(`/v1/sources/${sourceId}`)).status).toBe(204);
    const refused = await fetch(`${runtime.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ writeKey, userId: 'frank', event: 'Order Completed' }),
    });
    expect(refused.status).toBe(401);
  });

  it('builds segments on segments, refusing cycles and the deletion of a segment still referred to', async () => {
    const frank = await profileOf('userId=frank');
    expect(
      (
        await admin.put('/v1/segments/store-customers', {
          name: 'Store customers',
          condition: { type: 'event', event: 'Order Completed', channel: 'store' },
        })
      ).status,
    ).toBe(201);
    const lapsed = await admin.put('/v1/segments/lapsed-store', {
      name: 'Store customers whose last order is over 90 days old',
      condition: {
        type: 'and',
        conditions: [
          { type: 'segment', segment: 'store-customers' },
          { type: 'performed_date', event: 'Order Completed', which: 'last', operator: 'date_before', value: { daysAgo: 90 } },
        ],
      },
    });
    expect(lapsed.status).toBe(201);
    const cycle = await admin.put('/v1/segments/store-customers', {
      name: 'Loop',
      condition: { type: 'segment', segment: 'lapsed-store' },
    });
    expect(cycle.status).toBe(400);
    expect(cycle.body.error.message).toBe('segments refer to each other in a cycle: lapsed-store -> store-customers -> lapsed-store');
    const unknown = await admin.put('/v1/segments/orphan', { name: 'Orphan', condition: { type: 'segment', segment: 'ghost' } });
    expect(unknown.status).toBe(400);

    const ready = await eventually(
      async () => (await admin.get('/v1/segments/store-customers')).body,
      (s) => s.status === 'ready' && s.size > 0,
    );
    // Its first evaluation went through every stored profile, and says so.
    expect(ready.evaluatedProfiles).toBeGreaterThanOrEqual(ready.size);
    expect(Date.parse(ready.readyAt)).toBeGreaterThan(Date.parse(ready.updatedAt));
    const members = (await admin.get('/v1/segments/store-customers/members?limit=1000')).body.members.map(
      (m: { profileId: string }) => m.profileId,
    );
    expect(members).toContain(frank.profileId);
    expect((await admin.delete('/v1/segments/store-customers')).status).toBe(409);

    // Why is Frank (one store order, today) not a lapsed store customer? The explanation says which part failed.
    const why = (await admin.get(`/v1/profiles/${frank.profileId}/segments/lapsed-store/explain`)).body;
    expect(why).toMatchObject({ member: false, segmentId: 'lapsed-store', segmentRevision: 1 });
    expect(why.explanation).toEqual({
      condition: 'all of',
      held: false,
      parts: [
        { condition: 'in segment store-customers', held: true, seen: { member: true } },
        {
          condition: 'last Order Completed before 90 days ago',
          held: false,
          seen: { last: expect.stringMatching(new RegExp(`^${new Date().toISOString().slice(0, 10)}T\\d\\d:\\d\\d:\\d\\d\\.000Z$`)) },
        },
      ],
    });
  });

  it('keeps property-filtered and valued aggregates for the segments that need them, backfilled from the archive', async () => {
    // Orders from before the segment exists: the raw event archive has them.
    const shop = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 10 });
    shop.track({ userId: 'gina', event: 'Order Completed', properties: { category: 'shoes', revenue: 60 } });
    shop.track({ userId: 'gina', event: 'Order Completed', properties: { category: 'Shoes', revenue: 45.5 } });
    shop.track({ userId: 'hank', event: 'Order Completed', properties: { category: 'shoes', revenue: 60 } });
    shop.track({ userId: 'hank', event: 'Order Completed', properties: { category: 'hats', revenue: 300 } });
    await shop.closeAndFlush();
    await runtime.drain();

    const created = await admin.put('/v1/segments/big-shoe-spenders', {
      name: 'Spent 100 or more on shoes in 30 days',
      condition: {
        type: 'event',
        event: 'Order Completed',
        where: [{ property: 'category', operator: 'eq', value: 'shoes' }],
        aggregate: { fn: 'sum', property: 'revenue', operator: 'gte', value: 100 },
        within: { days: 30 },
      },
    });
    expect(created.status).toBe(201);
    // Live events count from a moment after the save; the backfill adds the older ones, then the first evaluation runs.
    expect(Date.parse(created.body.aggregatesSince)).toBeGreaterThan(Date.now() - 1000);
    expect(created.body.links.backfill).toBe('/v1/jobs/backfill/runs/big-shoe-spenders-r1');
    const ready = await eventually(
      async () => (await admin.get('/v1/segments/big-shoe-spenders')).body,
      (s) => s.status === 'ready',
    );
    expect(ready.aggregatesSince).toBeUndefined();
    expect((await admin.get(created.body.links.backfill)).body).toMatchObject({
      status: 'succeeded',
      progress: { segmentId: 'big-shoe-spenders', events: 3, unreadable: 0 },
    });

    const gina = await profileOf('userId=gina');
    const hank = await profileOf('userId=hank');
    expect(gina.segments.map((s: { id: string }) => s.id)).toContain('big-shoe-spenders');
    expect(hank.segments.map((s: { id: string }) => s.id)).not.toContain('big-shoe-spenders');
    expect(hank.events).toEqual({ 'Order Completed': { web: 2 } });
    const why = (await admin.get(`/v1/profiles/${hank.profileId}/segments/big-shoe-spenders/explain`)).body.explanation;
    expect(why).toMatchObject({ held: false, seen: { count: 1, sum: 60 } });

    // From now on, live: one more pair of shoes takes Hank over 100, counted once.
    const later = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 1 });
    later.track({ userId: 'hank', event: 'Order Completed', properties: { category: 'shoes', revenue: 45 } });
    await later.closeAndFlush();
    await runtime.drain();
    expect((await admin.get(`/v1/profiles/${hank.profileId}/segments/big-shoe-spenders/explain`)).body).toMatchObject({
      member: true,
      explanation: { seen: { count: 2, sum: 105 } },
    });
  });

  it('previews the size and a sample of an unsaved condition', async () => {
    const preview = await admin.post('/v1/segments/preview', {
      condition: {
        type: 'and',
        conditions: [
          { type: 'segment', segment: 'store-customers' },
          { type: 'trait', trait: 'tier', operator: 'in', value: ['vip', 'standard'] },
        ],
      },
    });
    expect(preview.status).toBe(200);
    const storeCustomers = (await admin.get('/v1/segments/store-customers/members?limit=1000')).body.members.map(
      (m: { profileId: string }) => m.profileId,
    );
    const withTier: string[] = [];
    for (const profileId of storeCustomers) {
      const tier = (await admin.get(`/v1/profiles/${profileId}`)).body.traits.tier;
      if (typeof tier === 'string' && ['vip', 'standard'].includes(tier.toLowerCase())) withTier.push(profileId);
    }
    expect(withTier.length).toBeGreaterThan(0);
    expect(preview.body).toMatchObject({ size: withTier.length, complete: true });
    expect(preview.body.sample.map((s: { profileId: string }) => s.profileId).sort()).toEqual(withTier.slice(0, 10).sort());
    expect(preview.body.scanned).toBeGreaterThan(withTier.length);

    expect(preview.body.warning).toBeUndefined();
    const one = await admin.post('/v1/segments/preview', {
      condition: { type: 'segment', segment: 'store-customers' },
      sampleSize: 1,
      budgetMs: 500,
    });
    expect([one.body.sample.length, one.body.complete]).toEqual([1, true]); // a small store is scanned whole within any budget
    expect(
      (await admin.post('/v1/segments/preview', { condition: { type: 'segment', segment: 'store-customers' }, budgetMs: 5 })).body.error
        .details[0].path,
    ).toBe('budgetMs');
    const unkept = await admin.post('/v1/segments/preview', {
      condition: { type: 'event', event: 'Order Completed', where: [{ property: 'coupon', operator: 'exists' }] },
    });
    expect(unkept.body.warning).toMatch(/not kept yet/);

    const invalid = await admin.post('/v1/segments/preview', { condition: { type: 'event', event: 'X', within: { days: 0 } } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details[0].path).toBe('condition.within.days');
  });

  it('finds a profile by phone, loyalty card or a custom id, normalised like on ingest', async () => {
    const crm = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 1 });
    crm.identify({
      userId: 'iris',
      traits: { phone: '06 98 76 54 32', loyaltyCard: 'LC-777' },
      context: { externalIds: [{ id: 'SF-0042', type: 'salesforce_id', collection: 'users', encoding: 'none' }] },
    });
    await crm.closeAndFlush();
    await runtime.drain();
    const iris = await profileOf('userId=iris');
    expect(iris.identifiers).toMatchObject({ phone: ['+33698765432'], loyaltyCard: ['LC-777'], salesforce_id: ['SF-0042'] });
    for (const query of ['phone=%2B33%206%2098%2076%2054%2032', 'phone=0698765432', 'loyaltyCard=LC-777', 'salesforce_id=SF-0042']) {
      expect((await profileOf(query)).profileId, query).toBe(iris.profileId);
    }
    expect((await admin.get('/v1/profiles?phone=12')).status).toBe(400);
  });

  it('merges the app profile and the web visitor of one person when she logs in on the web', async () => {
    // Neither profile alone is both an app user and a web visitor; the merged one is.
    for (const [id, condition] of [
      [
        'jules-web',
        { type: 'event', event: 'Page Viewed', channel: 'web', where: [{ property: 'name', operator: 'eq', value: 'Jules Pricing' }] },
      ],
      [
        'jules-both',
        {
          type: 'and',
          conditions: [
            { type: 'event', event: 'App Opened', channel: 'app' },
            { type: 'segment', segment: 'jules-web' },
          ],
        },
      ],
    ] as const) {
      expect((await admin.put(`/v1/segments/${id}`, { name: id, condition })).status).toBe(201);
      // jules-web filters page names: its aggregate counts live events once its backfill has run.
      await eventually(
        async () => (await admin.get(`/v1/segments/${id}`)).body,
        (s) => s.status === 'ready',
      );
    }
    const client = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 1 });
    client.track({ userId: 'jules', event: 'App Opened', context: { channel: 'app' } });
    await client.closeAndFlush();
    const web = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 1 });
    web.page({ anonymousId: 'browser-jules', name: 'Jules Pricing' });
    await web.closeAndFlush();
    await runtime.drain();
    const appProfile = (await profileOf('userId=jules')).profileId;
    const webProfile = (await profileOf('anonymousId=browser-jules')).profileId;
    expect(appProfile).not.toBe(webProfile);

    const login = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 1 });
    login.identify({ userId: 'jules', anonymousId: 'browser-jules', traits: { email: 'jules@example.com' } });
    await login.closeAndFlush();
    await runtime.drain();

    const [survivor, merged] = [appProfile, webProfile].sort() as [string, string];
    const jules = await profileOf('anonymousId=browser-jules');
    expect(jules.profileId).toBe(survivor);
    expect(jules.channels).toEqual({ app: 1, web: 2 });
    expect((await admin.get(`/v1/profiles/${merged}`)).body.profileId).toBe(survivor);
    const identity = (await admin.get(`/v1/profiles/${merged}/identity`)).body;
    expect(identity).toMatchObject({
      profileId: survivor,
      requestedId: merged,
      merged: [{ profileId: merged, mergedInto: survivor, completed: true }],
    });
    expect(Date.parse(identity.merged[0].mergedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(runtime.bus.published.filter((e) => e['detail-type'] === 'Profile Merged').map((e) => e.detail)).toContainEqual(
      expect.objectContaining({ survivorId: survivor, mergedId: merged }),
    );

    // Memberships were re-evaluated: the merged-away profile left, the survivor holds them all, and said why.
    const changes = membershipChanges(runtime.bus.published)
      .filter((t) => t.segmentId.startsWith('jules-'))
      .map((t) => [t.segmentId, t.profileId === survivor ? 'survivor' : 'merged', t.change, t.reason]);
    expect(changes).toEqual(
      expect.arrayContaining([
        ['jules-web', webProfile === survivor ? 'survivor' : 'merged', 'entered', 'events'],
        ['jules-both', 'survivor', 'entered', 'merge'],
      ]),
    );
    if (webProfile === merged) expect(changes).toContainEqual(['jules-web', 'merged', 'exited', 'merge']);
    expect(jules.segments.map((s: { id: string }) => s.id)).toEqual(expect.arrayContaining(['jules-web', 'jules-both']));
    for (const id of ['jules-web', 'jules-both']) {
      const members = (await admin.get(`/v1/segments/${id}/members`)).body.members.map((m: { profileId: string }) => m.profileId);
      expect(members, id).toEqual([survivor]);
    }
  });

  it('gives an ESP that imports from a URL (Brevo) a presigned link to its file', async () => {
    const definition = {
      name: 'VIP for Brevo',
      segmentId: 'vip-store',
      fields: ['email', 'traits.firstName'],
      minSize: 1,
      preset: 'brevo',
    };
    expect((await admin.put('/v1/audiences/vip-brevo', definition)).status).toBe(201);
    expect((await admin.post('/v1/audiences/vip-brevo/approve', { approvedBy: 'marie' })).status).toBe(200);
    const { runId } = (await admin.post('/v1/audiences/vip-brevo/snapshots')).body;
    const run = await eventually(
      async () => (await admin.get(`/v1/audiences/vip-brevo/snapshots/${runId}`)).body,
      (r) => r.status === 'succeeded' || r.status === 'failed',
    );
    expect(run).toMatchObject({ status: 'succeeded', progress: { espKey: `esp/brevo/vip-brevo/${runId}.csv` } });
    const link = await admin.get(`/v1/audiences/vip-brevo/snapshots/${runId}/esp-url?expiresIn=3600`);
    expect(link.status).toBe(200);
    expect(Date.parse(link.body.expiresAt) - Date.now()).toBeGreaterThan(3500_000);
    // Anyone holding the link can fetch the file, with no credentials.
    const fetched = await fetch(link.body.url);
    expect(fetched.status).toBe(200);
    expect(await fetched.text()).toMatch(/^EXT_ID,EMAIL,FIRSTNAME\np_\w+,cy@example\.com,Cy\n$/);
    expect((await admin.get(`/v1/audiences/vip-brevo/snapshots/${runId}/esp-url?expiresIn=9`)).status).toBe(400);
    expect((await admin.get(`/v1/audiences/vip-store-email/snapshots/${runId}/esp-url`)).status).toBe(404);
  });

  it("keeps each person's consent per channel, the latest statement winning, and shows it on the profile", async () => {
    const client = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 10 });
    client.identify({ userId: 'zoe', traits: { email: 'zoe@example.com', consent: { email: true, sms: false } }, timestamp: daysAgo(3) });
    client.track({
      userId: 'zoe',
      event: 'Consent Updated',
      properties: { channel: 'sms', status: 'granted' },
      context: { channel: 'call_center' },
      timestamp: daysAgo(1),
    });
    client.track({ userId: 'zoe', event: 'Consent Updated', properties: { channel: 'email', status: 'revoked' }, timestamp: daysAgo(5) }); // older: ignored
    await client.closeAndFlush();
    await runtime.drain();
    const zoe = await profileOf('userId=zoe');
    expect(zoe.consents).toEqual({
      email: { status: 'granted', at: expect.any(String), source: 'local' },
      sms: { status: 'granted', at: expect.any(String), source: 'local' },
    });
    // When each was said (to the clock-skew correction's milliseconds).
    expect(Math.abs(Date.parse(zoe.consents.email.at) - daysAgo(3).getTime())).toBeLessThan(10_000);
    expect(Math.abs(Date.parse(zoe.consents.sms.at) - daysAgo(1).getTime())).toBeLessThan(10_000);
  });

  it('guards the admin API: no token, or a write key, gets 401', async () => {
    expect((await fetch(`${runtime.url}/v1/segments`)).status).toBe(401);
    const withWriteKey = await fetch(`${runtime.url}/v1/segments`, { headers: { authorization: `Bearer ${runtime.writeKey}` } });
    expect(withWriteKey.status).toBe(401);
    const invalid = await admin.put('/v1/segments/bad', {
      name: 'Bad',
      condition: { type: 'trait', trait: 'x', operator: 'in', value: 'a' },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details).toContainEqual({
      path: 'condition.value',
      message: 'must be a list (at most 1000) of strings, numbers or booleans for in',
    });
  });
});
