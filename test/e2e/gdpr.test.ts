/** GDPR rights end to end: access (export) and erasure, and what happens when an erased person writes again. */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_NAMES, type LocalRuntime } from '../../local/runtime';
import type { DetailType } from '../../shared/adapters/eventbridge/event-publisher';
import { eventContracts } from '../../shared/contracts/events';
import { tables } from '../../shared/resources';
import { adminClient, eventually, startTestRuntime } from '../helpers/local';

let runtime: LocalRuntime;
let admin: ReturnType<typeof adminClient>;
const send = async (write: (analytics: Analytics) => void) => {
  const analytics = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 20, flushInterval: 20 });
  write(analytics);
  await analytics.closeAndFlush();
  await runtime.drain();
};

beforeAll(async () => {
  runtime = await startTestRuntime();
  admin = adminClient(runtime);
  expect((await admin.put('/v1/segments/buyers', { name: 'Buyers', condition: { type: 'event', event: 'Order Completed' } })).status).toBe(201);
  await send((a) => {
    a.identify({ userId: 'gina', traits: { email: 'Gina@Example.com', firstName: 'Gina', consent: { email: true } } });
    a.track({ userId: 'gina', event: 'Order Completed', properties: { revenue: 42 }, context: { channel: 'store' } });
  });
}, 120_000);
afterAll(async () => {
  await runtime?.stop();
});

describe('GDPR rights', () => {
  it('gives a person everything Prisme keeps about them (access)', async () => {
    const gina = (await admin.get('/v1/profiles?userId=gina')).body;
    const exported = (await admin.get(`/v1/profiles/${gina.profileId}/export`)).body;
    expect(exported).toMatchObject({
      profileId: gina.profileId,
      identifiers: { userId: ['gina'], email: ['gina@example.com'] },
      traits: { firstName: 'Gina' },
      consents: { email: { status: 'granted' } },
      segments: [{ id: 'buyers', name: 'Buyers' }],
      indicators: { orders: 1, revenue: 42 },
      events: { 'Order Completed': { store: [{ day: new Date().toISOString().slice(0, 10), count: 1 }] } },
    });
    expect(exported.exportedAt).toBeDefined();
  });

  it('erases a person (by email), keeps only hashes and a log without personal data, and lets nothing bring them back without consent', async () => {
    const gina = (await admin.get('/v1/profiles?userId=gina')).body;
    const requested = await admin.delete('/v1/profiles?email=gina%40example.com');
    expect(requested).toMatchObject({ status: 202, body: { status: 'requested' } });
    const erasure = await eventually(async () => (await admin.get(`/v1/erasures/${requested.body.erasureId}`)).body, (e) => e.status === 'succeeded');
    expect(erasure.progress).toEqual({ identifiers: 2, segments: 2, mergedProfiles: 0 }); // buyers, and the customer stage
    expect(JSON.stringify((await admin.get('/v1/erasures')).body)).not.toMatch(/gina/i);

    expect((await admin.get('/v1/profiles?userId=gina')).status).toBe(404);
    expect((await admin.get(`/v1/profiles/${gina.profileId}`)).status).toBe(404);
    expect((await admin.get('/v1/segments/buyers/members')).body.members).toEqual([]);
    const erased = runtime.bus.published.filter((e) => e['detail-type'] === 'Profile Erased');
    expect(erased.map((e) => e.detail)).toEqual([expect.objectContaining({ erasureId: requested.body.erasureId, profileId: gina.profileId })]);
    for (const event of erased) eventContracts[event['detail-type'] as DetailType].parse(event.detail);
    // Nothing in clear left in the identities table: only hashed tombstones.
    const dynamo = new DynamoDBClient({ endpoint: runtime.endpoints.dynamodb, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const identities = await dynamo.send(new ScanCommand({ TableName: LOCAL_NAMES.table(tables.identities.logicalName) }));
    expect(JSON.stringify(identities.Items)).not.toMatch(/gina/i);
    expect(identities.Items!.map((i) => i.identifier!.S).filter((key) => key!.startsWith('erased#'))).toHaveLength(2);
    expect(identities.Items!.map((i) => i.identifier!.S).filter((key) => key!.startsWith('archivekey#'))).toEqual([]); // the archive key went too

    // Later events without consent are dropped; a return with consent starts afresh.
    await send((a) => a.track({ userId: 'gina', event: 'Page Viewed', context: { channel: 'web' } }));
    expect((await admin.get('/v1/profiles?userId=gina')).status).toBe(404);
    await send((a) => a.identify({ userId: 'gina', traits: { consent: { email: true } } }));
    const back = (await admin.get('/v1/profiles?userId=gina')).body;
    expect(back.profileId).not.toBe(gina.profileId);
    expect(back).toMatchObject({ identifiers: { userId: ['gina'] }, traits: {}, channels: { web: 1 }, consents: { email: { status: 'granted' } } });
  });

  it('answers 404 for a person it does not know', async () => {
    expect((await admin.delete('/v1/profiles/p_nobody')).status).toBe(404);
    expect((await admin.delete('/v1/profiles?email=nobody%40example.com')).status).toBe(404);
  });
});
