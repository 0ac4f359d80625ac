/** Audience snapshots written through the real S3 SDK to s3rver, then read back and verified. */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Audience, LatestPointer, Manifest } from '../../shared/domain/audiences';
import { newProfile } from '../../shared/domain/profile';
import type { Segment } from '../../shared/domain/segments';
import { takeSnapshot, type SnapshotDeps } from '../../shared/usecases/take-snapshot';
import { RecordingPublisher, emulatedStores, silentLogger } from '../helpers/aws';

let stores: Awaited<ReturnType<typeof emulatedStores>>;
let deps: SnapshotDeps;
let publisher: RecordingPublisher;

const segment: Segment = {
  id: 'buyers',
  name: 'Buyers',
  condition: { type: 'event', event: 'Order Completed' },
  revision: 1,
  languageVersion: 1,
  status: 'ready',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};
const audience: Audience = {
  id: 'buyers-email',
  name: 'Buyers by email',
  segmentId: 'buyers',
  fields: ['email', 'traits.firstName'],
  format: 'csv',
  revision: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

async function addMember(profileId: string, email: string, firstName: string) {
  const profile = { ...newProfile(profileId, '2026-01-01T00:00:00.000Z'), version: 1, identifiers: { email: [email] }, traits: { firstName } };
  await stores.profiles.put(profile, 0);
  await stores.memberships.enter('buyers', profileId, '2026-01-01T00:00:00.000Z');
}

async function read(key: string): Promise<Buffer> {
  const { Body } = await stores.s3.send(new GetObjectCommand({ Bucket: stores.bucket, Key: key }));
  return Buffer.from(await Body!.transformToByteArray());
}

async function verified(manifest: Manifest): Promise<Record<string, string>> {
  const contents: Record<string, string> = {};
  for (const file of manifest.files) {
    const body = await read(file.key);
    expect(body.length).toBe(file.bytes);
    expect(createHash('sha256').update(body).digest('hex')).toBe(file.sha256);
    const text = gunzipSync(body).toString();
    expect(text.split('\n').filter(Boolean).length - 1).toBe(file.rows);
    contents[`${file.kind}`] = (contents[file.kind] ?? '') + text;
  }
  return contents;
}

beforeEach(async () => {
  stores = await emulatedStores();
  publisher = new RecordingPublisher();
  await stores.catalog.segments.put(segment);
  await stores.catalog.audiences.put(audience);
  let clock = Date.parse('2026-03-15T06:00:00.000Z');
  deps = { ...stores, publisher, logger: silentLogger(), now: () => (clock += 1000) };
});

describe('takeSnapshot', () => {
  it('writes members, deltas, a manifest with checksums, then latest.json, in the PRODUCT.md layout', async () => {
    await addMember('p_b', 'bob@example.com', 'Bob');
    await addMember('p_a', 'ada@example.com', 'Ada, "the first"');
    const first = await takeSnapshot('buyers-email', 'run-1', deps);
    expect(first.counts).toEqual({ members: 2, added: 2, removed: 0 });
    expect(first.files.map((f) => f.key)).toEqual([
      'audiences/buyers-email/runs/run-1/members-00000.csv.gz',
      'audiences/buyers-email/runs/run-1/added-00000.csv.gz',
      'audiences/buyers-email/runs/run-1/removed-00000.csv.gz',
    ]);
    const files = await verified(first);
    expect(files.members).toBe('profileId,email,traits.firstName\np_a,ada@example.com,"Ada, ""the first"""\np_b,bob@example.com,Bob\n');

    await stores.memberships.exit('buyers', 'p_b');
    await addMember('p_c', 'cy@example.com', 'Cy');
    const second = await takeSnapshot('buyers-email', 'run-2', deps);
    expect(second.previousRunId).toBe('run-1');
    expect(second.counts).toEqual({ members: 2, added: 1, removed: 1 });
    const delta = await verified(second);
    expect(delta.added).toBe('profileId,email,traits.firstName\np_c,cy@example.com,Cy\n');
    expect(delta.removed).toBe('profileId\np_b\n');

    const latest = JSON.parse((await read('audiences/buyers-email/latest.json')).toString()) as LatestPointer;
    expect(latest).toMatchObject({ runId: 'run-2', manifestKey: 'audiences/buyers-email/runs/run-2/manifest.json', counts: second.counts });
    const manifest = JSON.parse((await read(latest.manifestKey)).toString()) as Manifest;
    expect(manifest).toMatchObject({ schemaVersion: 1, audienceId: 'buyers-email', segmentId: 'buyers', segmentRevision: 1, format: 'csv.gz' });

    expect(await stores.catalog.listRuns('audience#buyers-email', 10)).toMatchObject([
      { runId: 'run-2', status: 'succeeded' },
      { runId: 'run-1', status: 'succeeded' },
    ]);
    expect(publisher.events.map((e) => e.detailType)).toEqual(['Audience Snapshot Published', 'Audience Snapshot Published']);
  });

  it('records a failed run and leaves latest.json alone when writing fails', async () => {
    await addMember('p_a', 'ada@example.com', 'Ada');
    await takeSnapshot('buyers-email', 'run-1', deps);
    const failing = { ...deps, objects: { get: stores.objects.get.bind(stores.objects), put: async () => { throw new Error('S3 is down (injected)'); } } };
    await expect(takeSnapshot('buyers-email', 'run-2', failing)).rejects.toThrow('S3 is down');
    expect((await stores.catalog.getRun('audience#buyers-email', 'run-2'))!.status).toBe('failed');
    expect(JSON.parse((await read('audiences/buyers-email/latest.json')).toString()).runId).toBe('run-1');
  });
});
