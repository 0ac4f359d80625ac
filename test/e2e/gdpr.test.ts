/** GDPR rights end to end: access (export) and erasure, and what happens when an erased person writes again. */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_NAMES, type LocalRuntime } from '#local/runtime';
import { S3ObjectStore } from '#shared/adapters/s3/object-store';
import type { DetailType } from '#shared/contracts/detail-types';
import { eventContracts } from '#shared/contracts/events';
import type { Manifest } from '#shared/domain/snapshot-files';
import { tables } from '#shared/resources';
import { verifySnapshot } from '#shared/usecases/verify-snapshot';
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
  expect((await admin.put('/v1/segments/buyers', { name: 'Buyers', condition: { type: 'event', event: 'Order Completed' } })).status).toBe(
    201,
  );
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
    const before = Date.now();
    const exported = (await admin.get(`/v1/profiles/${gina.profileId}/export`)).body;
    const after = Date.now();
    expect(exported).toMatchObject({
      profileId: gina.profileId,
      identifiers: { userId: ['gina'], email: ['gina@example.com'] },
      traits: { firstName: 'Gina' },
      consents: { email: { status: 'granted' } },
      segments: [{ id: 'buyers', name: 'Buyers' }],
      indicators: { orders: 1, revenue: 42 },
      events: { 'Order Completed': { store: [{ day: new Date().toISOString().slice(0, 10), count: 1 }] } },
    });
    // Dated by the runtime's clock as the export is made: an ISO instant inside the request.
    expect(exported.exportedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(exported.exportedAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(exported.exportedAt)).toBeLessThanOrEqual(after);
  });

  it('erases a person (by email), keeps only hashes and a log without personal data, and lets nothing bring them back without consent', async () => {
    const gina = (await admin.get('/v1/profiles?userId=gina')).body;
    const requested = await admin.delete('/v1/profiles?email=gina%40example.com');
    expect(requested).toMatchObject({ status: 202, body: { status: 'requested' } });
    const erasure = await eventually(
      async () => (await admin.get(`/v1/erasures/${requested.body.erasureId}`)).body,
      (e) => e.status === 'succeeded',
    );
    // buyers, and the customer stage; no snapshot run to rewrite
    expect(erasure.progress).toEqual({
      identifiers: 2,
      segments: 2,
      mergedProfiles: 0,
      snapshots: { status: 'done', runs: 0, rewrittenFiles: 0 },
    });
    expect(JSON.stringify((await admin.get('/v1/erasures')).body)).not.toMatch(/gina/i);

    expect((await admin.get('/v1/profiles?userId=gina')).status).toBe(404);
    expect((await admin.get(`/v1/profiles/${gina.profileId}`)).status).toBe(404);
    expect((await admin.get('/v1/segments/buyers/members')).body.members).toEqual([]);
    const erased = runtime.bus.published.filter((e) => e['detail-type'] === 'Profile Erased');
    expect(erased.map((e) => e.detail)).toEqual([
      expect.objectContaining({ erasureId: requested.body.erasureId, profileId: gina.profileId }),
    ]);
    for (const event of erased) eventContracts[event['detail-type'] as DetailType].parse(event.detail);
    // Nothing in clear left in the identities table: only hashed tombstones.
    const dynamo = new DynamoDBClient({
      endpoint: runtime.endpoints.dynamodb,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
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
    expect(back).toMatchObject({
      identifiers: { userId: ['gina'] },
      traits: {},
      channels: { web: 1 },
      consents: { email: { status: 'granted' } },
    });
  });

  it('erases every identifier a person ever had, rewrites the snapshot and ESP files that hold them, and leaves no clear value in the queue journals', async () => {
    const devices = Array.from({ length: 12 }, (_, i) => `hana-device-${i + 1}`);
    await send((a) => {
      a.identify({ userId: 'hana', traits: { email: 'hana@example.com', firstName: 'Hanako', consent: { email: true } } });
      for (const anonymousId of devices) a.track({ userId: 'hana', anonymousId, event: 'Order Completed', context: { channel: 'web' } });
      a.identify({ userId: 'ivo', traits: { email: 'ivo@example.com', firstName: 'Ivo', consent: { email: true } } });
      a.track({ userId: 'ivo', event: 'Order Completed', context: { channel: 'store' } });
    });
    const hana = (await admin.get('/v1/profiles?userId=hana')).body;
    // The item keeps 10 per type: two of her devices are only in the identities table.
    const unlisted = devices.filter((device) => !hana.identifiers.anonymousId.includes(device));
    expect(unlisted).toHaveLength(2);
    for (const device of unlisted) expect((await admin.get(`/v1/profiles?anonymousId=${device}`)).body.profileId).toBe(hana.profileId);

    // Two audiences on the buyers, one with two runs; ESP files keyed by profile id (sfmc) and by userId (braze).
    for (const [id, preset, format] of [
      ['buyers-sfmc', 'sfmc', 'csv'],
      ['buyers-braze', 'braze', 'jsonl'],
    ] as const) {
      const definition = { name: id, segmentId: 'buyers', fields: ['email', 'traits.firstName'], minSize: 1, preset, format };
      expect((await admin.put(`/v1/audiences/${id}`, definition)).status).toBe(201);
      expect((await admin.post(`/v1/audiences/${id}/approve`, { approvedBy: 'marie' })).status).toBe(200);
      for (let run = 0; run < (preset === 'sfmc' ? 2 : 1); run++) {
        const { runId } = (await admin.post(`/v1/audiences/${id}/snapshots`)).body;
        await eventually(
          async () => (await admin.get(`/v1/audiences/${id}/snapshots/${runId}`)).body,
          (r) => r.status === 'succeeded',
        );
      }
    }
    const dynamo = new DynamoDBClient({
      endpoint: runtime.endpoints.dynamodb,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const objects = new S3ObjectStore(
      new S3Client({
        endpoint: runtime.endpoints.s3,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      }),
      runtime.bucket,
    );
    const manifests = async () => {
      const { keys } = await objects.list('audiences/buyers-', undefined, 1000);
      return Promise.all(
        keys.filter((k) => k.endsWith('/manifest.json')).map(async (k) => JSON.parse((await objects.get(k))!.toString()) as Manifest),
      );
    };
    const text = async (key: string) => {
      const body = (await objects.get(key))!;
      return (body[0] === 0x1f ? gunzipSync(body) : body).toString();
    };
    const runFiles = (manifest: Manifest) => [...manifest.files.map((f) => f.key), manifest.esp!.key];
    const before = await manifests();
    expect(before).toHaveLength(3);
    const sfmcFile = await text(before.find((m) => m.esp?.preset === 'sfmc')!.esp!.key);
    expect(sfmcFile).toContain('hana@example.com');
    expect(await text(before.find((m) => m.esp?.preset === 'braze')!.esp!.key)).toContain('Hanako');
    // A message of hana's parked in the DLQ (her consent in it predates the erasure), which also carries ivo's events.
    const parked = readFileSync(join(runtime.dataDir, 'queues', 'events.journal'), 'utf8')
      .split('\n')
      .map((line) => (line ? (JSON.parse(line) as { s?: { body: string } }).s?.body : undefined))
      .find((body) => body?.includes('hana@example.com') && body.includes('ivo@example.com'))!;
    await runtime.queues.deadLetter.send([{ body: parked }]);

    // The files that will be rewritten: those holding her, each run's manifest, each audience's latest.json.
    let holding = 0;
    for (const manifest of before)
      for (const key of runFiles(manifest)) if ((await text(key)).includes(hana.profileId) || /Hanako/.test(await text(key))) holding++;

    const requested = await admin.delete(`/v1/profiles/${hana.profileId}`);
    // The processor erases her and hands the snapshot files to the snapshot function: done when the record says so.
    const erasure = await eventually(
      async () => (await admin.get(`/v1/erasures/${requested.body.erasureId}`)).body,
      (e) => e.status === 'succeeded',
    );
    await runtime.drain();
    expect(erasure.progress).toMatchObject({ identifiers: 14, mergedProfiles: 0 }); // userId, email, 12 anonymousIds
    expect(erasure.progress.snapshots).toEqual({ status: 'done', runs: 3, rewrittenFiles: holding + 3 + 2 });
    const after = await manifests();
    expect(JSON.stringify(erasure)).not.toMatch(/hana/i);
    // What the scrub looked for (her profile id, her userId's hash) went with its end.
    const catalogItems = await dynamo.send(new ScanCommand({ TableName: LOCAL_NAMES.table(tables.catalog.logicalName) }));
    expect(catalogItems.Items!.map((i) => i.pk!.S).filter((pk) => pk!.startsWith('RUNPART#erasures#'))).toEqual([]);

    // Every run still verifies, holds ivo, and no longer hana.
    for (const manifest of after) {
      expect(await verifySnapshot(manifest, (key) => objects.get(key))).toMatchObject({ ok: true });
      const earlier = before.find((m) => m.audienceId === manifest.audienceId && m.runId === manifest.runId)!;
      expect(manifest.counts.members).toBe(earlier.counts.members - 1);
      const contents = (await Promise.all(runFiles(manifest).map(text))).join('\n');
      expect(contents).toContain('ivo@example.com');
      expect(contents).not.toMatch(/hana|Hanako/);
    }

    // Nothing of hers on disk in the queue journals; ivo's events in the parked message stay.
    const journals = readdirSync(join(runtime.dataDir, 'queues')).map((file) => readFileSync(join(runtime.dataDir, 'queues', file)));
    for (const journal of journals) {
      expect(journal.includes('hana@example.com')).toBe(false);
      expect(journal.includes('Hanako')).toBe(false);
    }
    expect(runtime.queues.deadLetter.stats().messages).toBe(1);
    expect(readFileSync(join(runtime.dataDir, 'queues', 'dead-letter.journal'), 'utf8')).toContain('ivo@example.com');

    // The identifiers the profile item did not list bring nobody back.
    await send((a) => {
      for (const anonymousId of unlisted) a.track({ anonymousId, event: 'Page Viewed', context: { channel: 'web' } });
    });
    for (const device of unlisted) expect((await admin.get(`/v1/profiles?anonymousId=${device}`)).status).toBe(404);
    expect((await admin.get(`/v1/profiles/${hana.profileId}`)).status).toBe(404);
  });

  it('answers 404 for a person it does not know', async () => {
    expect((await admin.delete('/v1/profiles/p_nobody')).status).toBe(404);
    expect((await admin.delete('/v1/profiles?email=nobody%40example.com')).status).toBe(404);
  });
});
