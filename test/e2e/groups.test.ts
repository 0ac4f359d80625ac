/**
 * Groups (accounts) end to end: Segment `group` calls posted by the real Node client, the profile view,
 * the B2B segment "people whose company has more than 50 employees visited the pricing page" (and its
 * members moved when a colleague changes the company's traits), and the audience export.
 */

import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Analytics } from '@segment/analytics-node';
import { describe, expect, it } from 'vitest';
import type { Manifest } from '#shared/domain/snapshot-files';
import { adminClient, eventually, useTestRuntime } from '../helpers/local';

const local = useTestRuntime();
const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000);

async function send(post: (analytics: Analytics) => void): Promise<void> {
  const analytics = new Analytics({ writeKey: local().writeKey, host: local().url, flushAt: 20 });
  post(analytics);
  await analytics.closeAndFlush();
  await local().drain();
}
const profileOf = async (userId: string) => (await adminClient(local()).get(`/v1/profiles?userId=${userId}`)).body;
const members = async (segmentId: string) =>
  ((await adminClient(local()).get(`/v1/segments/${segmentId}/members?limit=1000`)).body.members as Array<{ profileId: string }>)
    .map((m) => m.profileId)
    .sort();

describe('group calls', () => {
  it("keep the company's traits on the group, show it on the profile, select the right people and export them", async () => {
    const saved = await adminClient(local()).put('/v1/segments/big-company-pricing', {
      name: 'People whose company has more than 50 employees visited the pricing page',
      condition: {
        type: 'and',
        conditions: [
          { type: 'group', trait: 'employees', operator: 'gt', value: 50 },
          { type: 'event', event: 'Page Viewed', where: [{ property: 'name', operator: 'eq', value: 'Pricing' }], within: { days: 30 } },
        ],
      },
    });
    expect(saved.status).toBe(201);
    // An unknown operator is refused with the path of the problem.
    const refused = await adminClient(local()).put('/v1/segments/bad-group', {
      name: 'bad',
      condition: { type: 'group', trait: 'employees', operator: 'between', value: 5 },
    });
    expect(refused.status).toBe(400);
    await eventually(
      async () => (await adminClient(local()).get('/v1/segments/big-company-pricing')).body.status,
      (status) => status === 'ready',
    );

    await send((analytics) => {
      analytics.identify({ userId: 'ada', traits: { name: 'Ada Lovelace', email: 'ada@acme.example' }, timestamp: hoursAgo(5) });
      analytics.group({
        userId: 'ada',
        groupId: 'acme',
        traits: { name: 'Acme', employees: 120, plan: 'enterprise' },
        timestamp: hoursAgo(4),
      });
      analytics.page({ userId: 'ada', name: 'Pricing', timestamp: hoursAgo(3) });
      analytics.group({ userId: 'bob', groupId: 'acme', traits: {}, timestamp: hoursAgo(4) });
      analytics.page({ userId: 'bob', name: 'Pricing', timestamp: hoursAgo(3) });
      analytics.group({ userId: 'cy', groupId: 'tinyco', traits: { name: 'Tiny', employees: 8 }, timestamp: hoursAgo(4) });
      analytics.page({ userId: 'cy', name: 'Pricing', timestamp: hoursAgo(3) });
      analytics.group({ userId: 'dee', groupId: 'tinyco', traits: {}, timestamp: hoursAgo(4) });
      analytics.page({ userId: 'dee', name: 'Home', timestamp: hoursAgo(3) });
    });
    const [ada, bob, cy] = await Promise.all(['ada', 'bob', 'cy'].map(profileOf));

    // The person's traits are untouched by the group call; the profile view shows the group with its traits.
    expect(ada.traits).toEqual({ name: 'Ada Lovelace' });
    expect(ada.groups).toEqual([
      {
        groupId: 'acme',
        joinedAt: expect.any(String),
        traits: { name: 'Acme', employees: 120, plan: 'enterprise' },
        updatedAt: expect.any(String),
      },
    ]);
    expect(Math.abs(Date.parse(ada.groups[0].joinedAt) - hoursAgo(4).getTime())).toBeLessThan(60_000); // the call's time
    expect(bob.groups.map((g: { groupId: string; traits: unknown }) => [g.groupId, g.traits])).toEqual([
      ['acme', { name: 'Acme', employees: 120, plan: 'enterprise' }],
    ]);
    expect(
      await eventually(
        () => members('big-company-pricing'),
        (m) => m.length === 2,
      ),
    ).toEqual([ada.profileId, bob.profileId].sort());
    const why = (await adminClient(local()).get(`/v1/profiles/${cy.profileId}/segments/big-company-pricing/explain`)).body.explanation;
    expect(why.parts[0]).toMatchObject({ held: false, seen: { groups: [{ groupId: 'tinyco', value: 8 }] } });

    // Dee says Tiny grew to 60: Cy, who viewed pricing, enters with no event of his own; Dee did not view it.
    await send((analytics) => analytics.group({ userId: 'dee', groupId: 'tinyco', traits: { employees: 60 } }));
    expect(
      await eventually(
        () => members('big-company-pricing'),
        (m) => m.includes(cy.profileId),
      ),
    ).toEqual([ada.profileId, bob.profileId, cy.profileId].sort());
    // Bob says Acme shrank to 40: Ada leaves with him.
    await send((analytics) => analytics.group({ userId: 'bob', groupId: 'acme', traits: { employees: 40 } }));
    expect(
      await eventually(
        () => members('big-company-pricing'),
        (m) => !m.includes(ada.profileId),
      ),
    ).toEqual([cy.profileId]);
    expect((await profileOf('dee')).segments).toEqual([]);
    expect((await profileOf('ada')).traits).toEqual({ name: 'Ada Lovelace' });

    // The export: the group ids, and the company's name from the group's traits.
    const audience = await adminClient(local()).put('/v1/audiences/b2b-pricing', {
      name: 'B2B pricing',
      segmentId: 'big-company-pricing',
      fields: ['userId', 'groups', 'groups.name', 'groups.employees'],
      minSize: 1,
    });
    expect(audience.status).toBe(201);
    await adminClient(local()).post('/v1/audiences/b2b-pricing/approve', { approvedBy: 'marie' });
    const { runId } = (await adminClient(local()).post('/v1/audiences/b2b-pricing/snapshots')).body;
    const run = await eventually(
      async () => (await adminClient(local()).get(`/v1/audiences/b2b-pricing/snapshots/${runId}`)).body,
      (r) => r.status === 'succeeded' || r.status === 'failed',
    );
    expect(run.status).toBe('succeeded');
    const s3 = new S3Client({
      endpoint: local().endpoints.s3,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const read = async (key: string) =>
      Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: local().bucket, Key: key }))).Body!.transformToByteArray());
    const manifest = JSON.parse((await read(`audiences/b2b-pricing/runs/${runId}/manifest.json`)).toString()) as Manifest;
    const file = manifest.files.find((f) => f.kind === 'members')!;
    expect(gunzipSync(await read(file.key)).toString()).toBe(
      `profileId,userId,groups,groups.name,groups.employees\n${cy.profileId},cy,tinyco,Tiny,60\n`,
    );
  });
});
