/**
 * Audience snapshots written through the real S3 SDK to s3rver, then read back and verified. Long
 * because every reader of a run is here (formats, consent, KPIs, ESP presets, the erasure's rewrite,
 * CSV injection), on one s3rver and one dynalite started once for them all.
 */

import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { parquetReadObjects } from 'hyparquet';
import { beforeEach, describe, expect, it } from 'vitest';
import { createSnapshotHandler, type SnapshotEvent } from '#functions/snapshot/snapshot';
import { DETAIL_TYPES } from '#shared/contracts/detail-types';
import { type Audience, isHeldOut, newRunId } from '#shared/domain/audiences';
import { variantOf } from '#shared/domain/experiments';
import { newProfile, type Profile } from '#shared/domain/profile';
import { twoProportionTest } from '#shared/domain/proportion-tests';
import type { Segment } from '#shared/domain/segment-definition';
import { type LatestPointer, type Manifest, ROWS_PER_PART } from '#shared/domain/snapshot-files';
import { csvRow } from '#shared/domain/snapshot-rows';
import { audienceSizes, conversion } from '#shared/usecases/audience-kpis';
import { ERASURES_SCOPE, eraseProfile } from '#shared/usecases/erase-profile';
import { espFileLink } from '#shared/usecases/esp-link';
import { EspWriter } from '#shared/usecases/esp-writer';
import { SCRUB_PART, SCRUB_SAFETY_MS } from '#shared/usecases/scrub-snapshots';
import { type SnapshotDeps, takeSnapshot } from '#shared/usecases/take-snapshot';
import { verifySnapshot } from '#shared/usecases/verify-snapshot';
import { emulatedStores, RecordingPublisher, silentLogger } from '../helpers/aws';

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
  minSize: 1,
  maxSizeChange: 0.5,
  holdoutPercent: 0,
  revision: 1,
  status: 'approved',
  approval: { by: 'test', at: '2026-01-01T00:00:00.000Z', size: 2, audienceRevision: 1 },
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

async function addMember(profileId: string, email: string, firstName: string) {
  const profile = {
    ...newProfile(profileId, '2026-01-01T00:00:00.000Z'),
    version: 1,
    identifiers: { email: [email] },
    traits: { firstName },
  };
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
    const first = (await takeSnapshot('buyers-email', 'run-1', deps))!;
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
    const second = (await takeSnapshot('buyers-email', 'run-2', deps))!;
    expect(second.previousRunId).toBe('run-1');
    expect(second.counts).toEqual({ members: 2, added: 1, removed: 1 });
    const delta = await verified(second);
    expect(delta.added).toBe('profileId,email,traits.firstName\np_c,cy@example.com,Cy\n');
    expect(delta.removed).toBe('profileId\np_b\n');

    const latest = JSON.parse((await read('audiences/buyers-email/latest.json')).toString()) as LatestPointer;
    expect(latest).toMatchObject({ runId: 'run-2', manifestKey: 'audiences/buyers-email/runs/run-2/manifest.json', counts: second.counts });
    const manifest = JSON.parse((await read(latest.manifestKey)).toString()) as Manifest;
    expect(manifest).toMatchObject({
      schemaVersion: 1,
      audienceId: 'buyers-email',
      segmentId: 'buyers',
      segmentRevision: 1,
      format: 'csv.gz',
    });

    expect(await stores.catalog.listRuns('audience#buyers-email', 10)).toMatchObject([
      { runId: 'run-2', status: 'succeeded' },
      { runId: 'run-1', status: 'succeeded' },
    ]);
    expect(publisher.events.map((e) => e.detailType)).toEqual(['Audience Snapshot Published', 'Audience Snapshot Published']);
  });

  it('records a failed run and leaves latest.json alone when writing fails', async () => {
    await addMember('p_a', 'ada@example.com', 'Ada');
    await takeSnapshot('buyers-email', 'run-1', deps);
    const down = async (_key: string, body?: unknown) => {
      (body as { resume?: () => void } | undefined)?.resume?.();
      throw new Error('S3 is down (injected)');
    };
    const failing = {
      ...deps,
      objects: {
        get: stores.objects.get.bind(stores.objects),
        getStream: stores.objects.getStream.bind(stores.objects),
        presignedGetUrl: stores.objects.presignedGetUrl.bind(stores.objects),
        list: stores.objects.list.bind(stores.objects),
        listFolders: stores.objects.listFolders.bind(stores.objects),
        put: down,
        putStream: down,
      },
    };
    await expect(takeSnapshot('buyers-email', 'run-2', failing)).rejects.toThrow('S3 is down');
    expect((await stores.catalog.getRun('audience#buyers-email', 'run-2'))!.status).toBe('failed');
    expect(JSON.parse((await read('audiences/buyers-email/latest.json')).toString()).runId).toBe('run-1');
  });

  it('holds a snapshot whose size moved beyond the limit from the approved size, publishing nothing, until approved again', async () => {
    for (const id of ['p_a', 'p_b', 'p_c', 'p_d', 'p_e']) await addMember(id, `${id}@example.com`, id);
    // Approved at 2 members; 5 is +150 %, over the 50 % limit.
    expect(await takeSnapshot('buyers-email', 'run-1', deps)).toBeUndefined();
    const run = (await stores.catalog.getRun('audience#buyers-email', 'run-1'))!;
    expect(run).toMatchObject({ status: 'held', progress: { members: 5, approvedSize: 2 } });
    expect(run.error).toBe('5 members is 150 % more than the 2 approved (limit 50 %): approve the new size to publish');
    expect(publisher.events).toEqual([
      {
        detailType: 'Audience Snapshot Held',
        detail: { version: 1, audienceId: 'buyers-email', runId: 'run-1', reason: run.error, members: 5, approvedSize: 2 },
      },
    ]);
    expect(await stores.objects.get('audiences/buyers-email/latest.json')).toBeUndefined();
    expect(await stores.objects.get('audiences/buyers-email/runs/run-1/manifest.json')).toBeUndefined();

    await stores.catalog.audiences.put({ ...audience, revision: 2, approval: { ...audience.approval!, size: 5 } });
    expect((await takeSnapshot('buyers-email', 'run-2', deps))!.counts.members).toBe(5);
  });

  it('holds a draft, and an audience under its minimum size whatever the approval', async () => {
    await addMember('p_a', 'ada@example.com', 'Ada');
    await stores.catalog.audiences.put({ ...audience, revision: 2, status: 'draft', approval: undefined });
    expect(await takeSnapshot('buyers-email', 'run-1', deps)).toBeUndefined();
    expect((await stores.catalog.getRun('audience#buyers-email', 'run-1'))!.error).toBe('the audience is a draft: approve it first');
    await stores.catalog.audiences.put({ ...audience, revision: 3, minSize: 50, approval: { ...audience.approval!, size: 1 } });
    expect(await takeSnapshot('buyers-email', 'run-2', deps)).toBeUndefined();
    expect((await stores.catalog.getRun('audience#buyers-email', 'run-2'))!.error).toBe(
      '1 members is under the minimum size of 50 (privacy)',
    );
  });

  it('keeps a deterministic holdout group out of every export, and records it apart', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `p_${String(i).padStart(2, '0')}`);
    for (const id of ids) await addMember(id, `${id}@example.com`, id);
    const withHoldout: Audience = { ...audience, revision: 2, holdoutPercent: 20, maxSizeChange: 100 };
    await stores.catalog.audiences.put(withHoldout);
    const first = (await takeSnapshot('buyers-email', 'run-1', deps))!;
    const held = ids.filter((id) => isHeldOut(id, withHoldout));
    expect(held.length).toBeGreaterThan(5);
    expect(held.length).toBeLessThan(20);
    expect(first.counts.members).toBe(60 - held.length);
    expect(first.holdout).toEqual({ percent: 20, members: held.length, key: 'holdouts/buyers-email/run-1.csv.gz' });
    const exported = (await verified(first)).members!;
    for (const id of held) expect(exported).not.toContain(`${id},`);
    expect(gunzipSync(await read('holdouts/buyers-email/run-1.csv.gz')).toString()).toBe(`profileId\n${held.join('\n')}\n`);
    // The same people stay out run after run: no churn in the deltas.
    const second = (await takeSnapshot('buyers-email', 'run-2', deps))!;
    expect(second.counts).toEqual({ members: 60 - held.length, added: 0, removed: 0 });
  });
});

describe('snapshot formats and columns', () => {
  it.each(['csv', 'jsonl', 'parquet'] as const)('writes %s, reads it back for the deltas, and verifies', async (format) => {
    const withColumns: Audience = {
      ...audience,
      revision: 2,
      format,
      fields: ['email', 'email_sha256', 'indicators.orders', 'indicators.rfm_label'],
      maxSizeChange: 100,
    };
    await stores.catalog.audiences.put(withColumns);
    await addMember('p_a', 'ada@example.com', 'Ada');
    await addMember('p_b', 'bob@example.com', 'Bob');
    await stores.frozen.put({
      profileId: 'p_a',
      runId: 'f',
      frozenAt: '2026-03-15T03:00:00.000Z',
      values: { rfm_label: 'champions' } as never,
    });
    const first = (await takeSnapshot('buyers-email', 'run-1', deps))!;
    expect(first.format).toBe({ csv: 'csv.gz', jsonl: 'jsonl.gz', parquet: 'parquet' }[format]);
    expect(first.files[0]!.key).toBe(`audiences/buyers-email/runs/run-1/members-00000.${first.format}`);
    const readObject = (key: string) => stores.objects.get(key);
    expect(await verifySnapshot(first, readObject)).toMatchObject({ ok: true });

    // The rows themselves, as an ESP reads them.
    const body = (await readObject(first.files[0]!.key))!;
    const rows: Array<Record<string, unknown>> =
      format === 'parquet'
        ? await parquetReadObjects({ file: body.buffer.slice(body.byteOffset, body.byteOffset + body.length) as ArrayBuffer })
        : format === 'jsonl'
          ? gunzipSync(body)
              .toString()
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l))
          : (([header, ...lines]) =>
              lines.filter(Boolean).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header!.split(',')[i]!, v]))))(
              gunzipSync(body).toString().split('\n'),
            );
    const sha = createHash('sha256').update('ada@example.com').digest('hex');
    expect(rows[0]).toEqual({
      profileId: 'p_a',
      email: 'ada@example.com',
      email_sha256: sha,
      'indicators.orders': format === 'jsonl' ? 0 : '0',
      'indicators.rfm_label': 'champions',
    });

    await stores.memberships.exit('buyers', 'p_b');
    await addMember('p_c', 'cy@example.com', 'Cy');
    const second = (await takeSnapshot('buyers-email', 'run-2', deps))!;
    expect(second.counts).toEqual({ members: 2, added: 1, removed: 1 });
    expect(await verifySnapshot(second, readObject)).toMatchObject({ ok: true });
    // A verifier that is really checking: one byte changed is caught.
    const tampered = async (key: string) => {
      const original = await readObject(key);
      return key === second.files[0]!.key ? Buffer.concat([original!, Buffer.from([0])]) : original;
    };
    expect((await verifySnapshot(second, tampered)).files[0]).toMatchObject({ ok: false });
  });
});

describe('consent', () => {
  it('exports only people who consented on the audience channel and can be reached on it', async () => {
    const put = async (profileId: string, fields: Partial<Profile>) => {
      await stores.profiles.put({ ...newProfile(profileId, '2026-01-01T00:00:00.000Z'), version: 1, ...fields }, 0);
      await stores.memberships.enter('buyers', profileId, '2026-01-01T00:00:00.000Z');
    };
    const granted = (channel: string) => ({ [channel]: [1, 1, 'web'] }) as Profile['consents'];
    await put('p_a', { identifiers: { email: ['a@example.com'] }, consents: granted('email') });
    await put('p_b', { identifiers: { email: ['b@example.com'] }, consents: { email: [0, 2, 'web'] } });
    await put('p_c', { identifiers: { email: ['c@example.com'] } });
    await put('p_d', { identifiers: { phone: ['+33600000000'] }, consents: granted('sms') });
    await put('p_e', { identifiers: {}, consents: granted('email') }); // consented, but no address
    await stores.catalog.audiences.put({ ...audience, revision: 2, consentChannel: 'email', approval: { ...audience.approval!, size: 1 } });
    const byEmail = (await takeSnapshot('buyers-email', 'run-1', deps))!;
    expect((await verified(byEmail)).members).toBe('profileId,email,traits.firstName\np_a,a@example.com,\n');
    await stores.catalog.audiences.put({
      ...audience,
      revision: 3,
      consentChannel: 'sms',
      fields: ['phone'],
      approval: { ...audience.approval!, size: 1 },
    });
    const bySms = (await takeSnapshot('buyers-email', 'run-2', deps))!;
    expect((await verified(bySms)).members).toBe('profileId,phone\np_d,+33600000000\n');
  });
});

describe('audience KPIs', () => {
  it('measure conversion after the export, exported members against the holdout group', async () => {
    const ids = Array.from({ length: 80 }, (_, i) => `p_${String(i).padStart(2, '0')}`);
    for (const id of ids) await addMember(id, `${id}@example.com`, id);
    const withHoldout: Audience = { ...audience, revision: 2, holdoutPercent: 25, maxSizeChange: 100 };
    await stores.catalog.audiences.put(withHoldout);
    const manifest = (await takeSnapshot('buyers-email', 'run-1', deps))!;
    // After the export, half the exported members order, and a quarter of the holdout group.
    const nextDay = Math.floor(Date.parse(manifest.asOf) / 86_400_000) + 1;
    const held = ids.filter((id) => isHeldOut(id, withHoldout));
    const exported = ids.filter((id) => !isHeldOut(id, withHoldout));
    const buyers = [...exported.filter((_, i) => i % 2 === 0), ...held.filter((_, i) => i % 4 === 0)];
    for (const id of buyers) {
      const profile = (await stores.profiles.get(id))!;
      await stores.profiles.put(
        { ...profile, version: profile.version + 1, aggregates: { 'Order Completed|web': [nextDay, 1] } },
        profile.version,
      );
    }
    const result = await conversion(manifest, { ...stores }, 60_000);
    const rate = (n: number, d: number) => Math.round((n / d) * 10_000) / 10_000;
    const exportedBuyers = Math.ceil(exported.length / 2);
    const heldBuyers = Math.ceil(held.length / 4);
    expect(result).toMatchObject({
      runId: 'run-1',
      exportedAt: manifest.asOf,
      complete: true,
      exported: { members: exported.length, converted: exportedBuyers, rate: rate(exportedBuyers, exported.length) },
      holdout: { members: held.length, converted: heldBuyers, rate: rate(heldBuyers, held.length) },
      uplift: Math.round((rate(exportedBuyers, exported.length) - rate(heldBuyers, held.length)) * 10_000) / 100,
      control: 'holdout',
    });
    // The same two groups compared: the holdout is the control, and its few buyers are too few to conclude.
    expect(result.variants.map((v) => [v.name, v.members, v.converted, v.control, v.verdict])).toEqual([
      ['exported', exported.length, exportedBuyers, false, 'too small'],
      ['holdout', held.length, heldBuyers, true, undefined],
    ]);
    expect((await audienceSizes('buyers-email', { ...stores }, 10))[0]).toMatchObject({
      runId: 'run-1',
      status: 'succeeded',
      members: exported.length,
      holdout: held.length,
    });
  });
});

describe('A/B/n experiments', () => {
  const ids = Array.from({ length: 120 }, (_, i) => `p_${String(i).padStart(3, '0')}`);
  const buyer = async (profileId: string) => {
    const profile = {
      ...newProfile(profileId, '2026-01-01T00:00:00.000Z'),
      version: 1,
      identifiers: { userId: [`u${profileId}`], email: [`${profileId}@example.com`] },
      traits: { firstName: profileId },
      segments: ['buyers'],
    };
    await stores.profiles.put(profile, 0);
    await stores.memberships.enter('buyers', profileId, '2026-01-01T00:00:00.000Z');
  };
  const experiment: Audience = {
    ...audience,
    revision: 2,
    preset: 'braze',
    maxSizeChange: 100,
    experiment: {
      variants: [
        { name: 'a', percent: 40, holdout: false },
        { name: 'b', percent: 40, holdout: false },
        { name: 'control', percent: 20, holdout: true },
      ],
    },
  };
  const inVariant = (list: readonly string[], name: string) =>
    list.filter((id) => variantOf(id, 'buyers-email', experiment.experiment!).name === name).sort();
  const idsOf = async (manifest: Manifest, variant: string, kind: 'members' | 'added' | 'removed') => {
    const found: string[] = [];
    for (const file of manifest.files.filter((f) => f.variant === variant && f.kind === kind)) {
      expect(file.key.startsWith(`audiences/buyers-email/runs/${manifest.runId}/variants/${variant}/`)).toBe(true);
      found.push(
        ...gunzipSync(await read(file.key))
          .toString()
          .split('\n')
          .slice(1, -1)
          .map((line) => line.split(',')[0]!),
      );
    }
    return found;
  };
  const brazeRows = async (key: string) =>
    (await stores.objects.get(key))!
      .toString()
      .split('\n')
      .slice(1, -1)
      .map((line) => [line.split(',')[0]!, JSON.parse((parse(line) as string[][])[0]![1]!)] as const)
      .sort(([x], [y]) => x.localeCompare(y));

  it('splits the members into variants, each a list with its own deltas and Braze file; the holdout variant is recorded apart', async () => {
    for (const id of ids) await buyer(id);
    await stores.catalog.audiences.put(experiment);
    const first = (await takeSnapshot('buyers-email', 'run-1', deps))!;
    expect(first.variants!.map((v) => v.name)).toEqual(['a', 'b']);
    expect(first.control).toBe('control');
    for (const name of ['a', 'b']) {
      expect(await idsOf(first, name, 'members')).toEqual(inVariant(ids, name));
      expect(first.variants!.find((v) => v.name === name)).toMatchObject({
        percent: 40,
        counts: { members: inVariant(ids, name).length, added: inVariant(ids, name).length, removed: 0 },
        esp: { preset: 'braze', key: `esp/braze/buyers-email/${name}/run-1.csv`, rows: inVariant(ids, name).length, skipped: 0 },
      });
      // Each variant's own Braze attribute: a campaign per variant.
      expect(await brazeRows(`esp/braze/buyers-email/${name}/run-1.csv`)).toEqual(
        inVariant(ids, name).map((id) => [`u${id}`, { email: `${id}@example.com`, firstName: id, [`prisme_buyers_email__${name}`]: true }]),
      );
    }
    expect(first.counts.members).toBe(inVariant(ids, 'a').length + inVariant(ids, 'b').length);
    expect(first.holdout).toEqual({
      percent: 20,
      members: inVariant(ids, 'control').length,
      key: 'holdouts/buyers-email/run-1.csv.gz',
      variant: 'control',
    });
    expect(gunzipSync(await read(first.holdout!.key)).toString()).toBe(`profileId\n${inVariant(ids, 'control').join('\n')}\n`);
    expect(await verifySnapshot(first, (key) => stores.objects.get(key))).toMatchObject({ ok: true, problems: [] });

    // Ten leave, ten arrive: each variant's deltas are against its own previous list.
    const leaving = ids.filter((_, i) => i % 12 === 0);
    for (const id of leaving) await stores.memberships.exit('buyers', id);
    const arriving = Array.from({ length: 10 }, (_, i) => `p_new${i}`);
    for (const id of arriving) await buyer(id);
    const second = (await takeSnapshot('buyers-email', 'run-2', deps))!;
    for (const name of ['a', 'b']) {
      expect(await idsOf(second, name, 'added')).toEqual(inVariant(arriving, name));
      expect(await idsOf(second, name, 'removed')).toEqual(inVariant(leaving, name));
      expect(
        (await brazeRows(`esp/braze/buyers-email/${name}/run-2.csv`)).map(([userId, payload]) => [
          userId,
          payload[`prisme_buyers_email__${name}`],
        ]),
      ).toEqual(
        [...inVariant(arriving, name).map((id) => [`u${id}`, true]), ...inVariant(leaving, name).map((id) => [`u${id}`, false])].sort(
          ([x], [y]) => String(x).localeCompare(String(y)),
        ),
      );
    }
    expect(await verifySnapshot(second, (key) => stores.objects.get(key))).toMatchObject({ ok: true });
    expect((await stores.catalog.getRun('audience#buyers-email', 'run-2'))!.progress!.variants).toEqual(
      second.variants!.map((v) => ({ name: v.name, ...v.counts, espKey: v.esp!.key })),
    );

    // Each variant's file has its own link; an experiment's run needs the variant named.
    const linkDeps = { ...stores, logger: silentLogger(), now: deps.now };
    expect((await espFileLink('buyers-email', 'run-2', { expiresIn: 60, variant: 'b' }, linkDeps)).key).toBe(
      'esp/braze/buyers-email/b/run-2.csv',
    );
    await expect(espFileLink('buyers-email', 'run-2', { expiresIn: 60 }, linkDeps)).rejects.toMatchObject({
      details: [{ path: 'variant', message: 'one of a, b' }],
    });
    await expect(espFileLink('buyers-email', 'run-2', { expiresIn: 60, variant: 'control' }, linkDeps)).rejects.toThrow(/variant control/);
  });

  it('closes the lists a run no longer writes: an experiment started, a variant renamed, the experiment stopped', async () => {
    const people = ids.slice(0, 30);
    for (const id of people) await buyer(id);
    const plain: Audience = { ...experiment, experiment: undefined };
    const attribute = async (key: string, name: string) =>
      new Map((await brazeRows(key)).map(([userId, payload]) => [userId, payload[name]]));
    const everyone = (value: boolean, list: readonly string[]) => new Map(list.map((id) => [`u${id}`, value]));

    await stores.catalog.audiences.put(plain);
    await takeSnapshot('buyers-email', 'run-1', deps);
    // The experiment starts: everyone leaves the audience's own list, and enters their variant's.
    await stores.catalog.audiences.put({ ...experiment, revision: 3 });
    const started = (await takeSnapshot('buyers-email', 'run-2', deps))!;
    expect(started.esp!.key).toBe('esp/braze/buyers-email/run-2.csv');
    expect(await attribute(started.esp!.key, 'prisme_buyers_email')).toEqual(everyone(false, people));
    expect(started.counts.removed).toBe(people.length);
    expect(await idsOf(started, 'a', 'added')).toEqual(inVariant(people, 'a'));

    // Variant b renamed c: b is closed (its members removed, its ESP told), c starts.
    const renamed: Audience = {
      ...experiment,
      revision: 4,
      experiment: {
        variants: experiment.experiment!.variants.map((v) => (v.name === 'b' ? { ...v, name: 'c' } : v)),
      },
    };
    await stores.catalog.audiences.put(renamed);
    const third = (await takeSnapshot('buyers-email', 'run-3', deps))!;
    expect(third.variants!.map((v) => [v.name, v.percent, v.closed, v.counts])).toEqual([
      ['a', 40, undefined, { members: inVariant(people, 'a').length, added: 0, removed: 0 }],
      ['c', 40, undefined, { members: inVariant(people, 'b').length, added: inVariant(people, 'b').length, removed: 0 }],
      ['b', 0, true, { members: 0, added: 0, removed: inVariant(people, 'b').length }],
    ]);
    const closedB = third.variants!.find((v) => v.name === 'b')!;
    expect(await attribute(closedB.esp!.key, 'prisme_buyers_email__b')).toEqual(everyone(false, inVariant(people, 'b')));
    expect(await verifySnapshot(third, (key) => stores.objects.get(key))).toMatchObject({ ok: true });
    // The KPIs compare the variants exported, not the closed one.
    expect((await conversion(third, { ...stores }, 60_000)).variants.map((v) => v.name)).toEqual(['a', 'c', 'control']);
    // A closed list is closed once.
    const fourth = (await takeSnapshot('buyers-email', 'run-4', deps))!;
    expect(fourth.variants!.map((v) => v.name)).toEqual(['a', 'c']);

    // The experiment stops: a and c close, the audience's own list takes everyone back, control included.
    await stores.catalog.audiences.put({ ...plain, revision: 5 });
    const stopped = (await takeSnapshot('buyers-email', 'run-5', deps))!;
    expect(stopped.control).toBeUndefined();
    expect(stopped.variants!.map((v) => [v.name, v.closed])).toEqual([
      ['a', true],
      ['c', true],
    ]);
    expect(await attribute(stopped.esp!.key, 'prisme_buyers_email')).toEqual(everyone(true, people));
    expect((await espFileLink('buyers-email', 'run-5', { expiresIn: 60 }, { ...stores, logger: silentLogger(), now: deps.now })).key).toBe(
      'esp/braze/buyers-email/run-5.csv',
    );
    expect(await verifySnapshot(stopped, (key) => stores.objects.get(key))).toMatchObject({ ok: true });
  });

  it('writes an ESP file of more rows than a part as one whole file', async () => {
    const rows = ROWS_PER_PART + 1;
    const writer = new EspWriter({ ...audience, preset: 'sfmc' }, 'run-big', ['profileId', 'email'], stores);
    for (let i = 0; i < rows; i++) await writer.member([`p_${i}`, `${i}@example.com`]);
    const file = await writer.finish();
    const body = (await stores.objects.get(file.key))!;
    expect(body.toString().split('\n').length - 2).toBe(rows);
    expect(file).toMatchObject({ rows, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
  });

  it('holds a run when one variant is under the minimum size, naming it', async () => {
    for (const id of ids.slice(0, 60)) await buyer(id);
    const lopsided: Audience = {
      ...experiment,
      minSize: 10,
      preset: undefined,
      experiment: {
        variants: [
          { name: 'big', percent: 90, holdout: false },
          { name: 'small', percent: 10, holdout: false },
        ],
      },
    };
    await stores.catalog.audiences.put(lopsided);
    const small = ids.slice(0, 60).filter((id) => variantOf(id, 'buyers-email', lopsided.experiment!).name === 'small').length;
    expect(small).toBeLessThan(10);
    expect(await takeSnapshot('buyers-email', 'run-1', deps)).toBeUndefined();
    expect(await stores.catalog.getRun('audience#buyers-email', 'run-1')).toMatchObject({
      status: 'held',
      error: `variant small has ${small} members, under the minimum size of 10 (privacy)`,
      progress: {
        variants: [
          { name: 'big', members: 60 - small },
          { name: 'small', members: small },
        ],
      },
    });
  });

  it('measures conversion per variant against the control, with intervals and a test', async () => {
    const many = Array.from({ length: 400 }, (_, i) => `p_${String(i).padStart(3, '0')}`);
    await Promise.all(
      many.map(async (id) => {
        await stores.memberships.enter('buyers', id, '2026-01-01T00:00:00.000Z');
        await stores.profiles.put(
          { ...newProfile(id, '2026-01-01T00:00:00.000Z'), version: 1, identifiers: { email: [`${id}@example.com`] } },
          0,
        );
      }),
    );
    await stores.catalog.audiences.put({ ...experiment, preset: undefined, maxSizeChange: 1000 });
    const manifest = (await takeSnapshot('buyers-email', 'run-1', deps))!;
    // After the export: half of a orders, a fifth of b, a fifth of the control.
    const nextDay = Math.floor(Date.parse(manifest.asOf) / 86_400_000) + 1;
    const groups = new Map(['a', 'b', 'control'].map((name) => [name, inVariant(many, name)]));
    const share = new Map([
      ['a', 2],
      ['b', 5],
      ['control', 5],
    ]);
    const buyers = [...groups].flatMap(([name, members]) => members.filter((_, i) => i % share.get(name)! === 0));
    await Promise.all(
      buyers.map(async (id) => {
        const profile = (await stores.profiles.get(id))!;
        await stores.profiles.put({ ...profile, version: 2, aggregates: { 'Order Completed|web': [nextDay, 1] } }, 1);
      }),
    );
    const result = await conversion(manifest, { ...stores }, 60_000);
    const expected = (name: string) => ({
      members: groups.get(name)!.length,
      converted: Math.ceil(groups.get(name)!.length / share.get(name)!),
    });
    expect(result).toMatchObject({
      complete: true,
      control: 'control',
      exported: { members: expected('a').members + expected('b').members, converted: expected('a').converted + expected('b').converted },
      holdout: expected('control'),
    });
    const [a, b, control] = result.variants;
    expect(control).toMatchObject({ name: 'control', holdout: true, control: true, ...expected('control') });
    const test = twoProportionTest(expected('a'), expected('control'))!;
    expect(a).toMatchObject({
      name: 'a',
      control: false,
      ...expected('a'),
      verdict: 'better',
      uplift: Math.round(test.difference * 10_000) / 100,
    });
    expect(a!.adjustedPValue).toBeLessThan(0.05);
    expect(b).toMatchObject({ name: 'b', ...expected('b'), verdict: 'no difference' });
    expect(b!.note).toMatch(/^no significant difference at 95 %/);
  });

  it("an erasure removes the person from their variant's files and ESP file, and the run still verifies", async () => {
    for (const id of ids.slice(0, 40)) await buyer(id);
    await stores.catalog.audiences.put(experiment);
    const gone = inVariant(ids.slice(0, 40), 'a')[0]!;
    const before = (await takeSnapshot('buyers-email', newRunId(deps.now()), deps))!;
    const from = publisher.events.length;
    await stores.catalog.putRun(ERASURES_SCOPE, {
      runId: 'er_variant',
      status: 'requested',
      startedAt: new Date(deps.now()).toISOString(),
    });
    await eraseProfile(gone, 'er_variant', { ...stores, publisher, logger: silentLogger(), now: deps.now });
    const handler = createSnapshotHandler(deps);
    for (const event of publisher.events.slice(from).filter((e) => e.detailType === DETAIL_TYPES.profileErased))
      await handler(
        { 'detail-type': event.detailType, detail: event.detail } as unknown as SnapshotEvent,
        {
          getRemainingTimeInMillis: () => 600_000,
        } as unknown as Context,
      );
    const after = JSON.parse(
      (await stores.objects.get(`audiences/buyers-email/runs/${before.runId}/manifest.json`))!.toString(),
    ) as Manifest;
    expect(after.variants!.find((v) => v.name === 'a')!.counts.members).toBe(inVariant(ids.slice(0, 40), 'a').length - 1);
    expect(after.variants!.find((v) => v.name === 'a')!.esp!.rows).toBe(inVariant(ids.slice(0, 40), 'a').length - 1);
    expect(await idsOf(after, 'a', 'members')).not.toContain(gone);
    expect((await stores.objects.get(after.variants!.find((v) => v.name === 'a')!.esp!.key))!.toString()).not.toContain(`u${gone}`);
    expect(await verifySnapshot(after, (key) => stores.objects.get(key))).toMatchObject({ ok: true });
  });
});

describe('ESP presets', () => {
  const withUser = async (profileId: string, userId: string | undefined, email: string) => {
    const profile = {
      ...newProfile(profileId, '2026-01-01T00:00:00.000Z'),
      version: 1,
      identifiers: { email: [email], ...(userId && { userId: [userId] }) },
      traits: { firstName: profileId },
    };
    await stores.profiles.put(profile, 0);
    await stores.memberships.enter('buyers', profileId, '2026-01-01T00:00:00.000Z');
  };
  const text = async (key: string) => (await stores.objects.get(key))!.toString();

  it('braze: EXTERNAL_ID and PAYLOAD rows, true for members who entered, false for those who left, alone in their folder', async () => {
    await stores.catalog.audiences.put({ ...audience, revision: 2, preset: 'braze', maxSizeChange: 100 });
    await withUser('p_a', 'ada', 'ada@example.com');
    await withUser('p_b', 'bob', 'bob@example.com');
    await withUser('p_n', undefined, 'nobody@example.com'); // no external id: Braze cannot take it
    const first = (await takeSnapshot('buyers-email', 'run-1', deps))!;
    expect(first.esp).toMatchObject({ preset: 'braze', key: 'esp/braze/buyers-email/run-1.csv', rows: 2, skipped: 1 });
    expect(await text('esp/braze/buyers-email/run-1.csv')).toBe(
      'EXTERNAL_ID,PAYLOAD\n' +
        'ada,"{""email"":""ada@example.com"",""firstName"":""p_a"",""prisme_buyers_email"":true}"\n' +
        'bob,"{""email"":""bob@example.com"",""firstName"":""p_b"",""prisme_buyers_email"":true}"\n',
    );
    await stores.memberships.exit('buyers', 'p_b');
    await withUser('p_c', 'cy', 'cy@example.com');
    const second = (await takeSnapshot('buyers-email', 'run-2', deps))!;
    // Row order does not matter to Braze (those who left are looked up in batches).
    expect((await text(second.esp!.key)).split('\n').sort()).toEqual(
      [
        '',
        'EXTERNAL_ID,PAYLOAD',
        'bob,"{""prisme_buyers_email"":false}"',
        'cy,"{""email"":""cy@example.com"",""firstName"":""p_c"",""prisme_buyers_email"":true}"',
      ].sort(),
    );
    expect(
      createHash('sha256')
        .update((await stores.objects.get(second.esp!.key)) as Buffer)
        .digest('hex'),
    ).toBe(second.esp!.sha256);
    const { Contents } = await stores.s3.send(new ListObjectsV2Command({ Bucket: stores.bucket, Prefix: 'esp/braze/buyers-email/' }));
    expect(Contents!.map((o) => o.Key)).toEqual(['esp/braze/buyers-email/run-1.csv', 'esp/braze/buyers-email/run-2.csv']);
  });

  it('sfmc, iterable and brevo: the full list as a plain CSV with the column names their imports expect', async () => {
    await withUser('p_a', 'ada', 'ada@example.com');
    for (const [preset, header] of [
      ['sfmc', 'SubscriberKey,EmailAddress,firstName'],
      ['iterable', 'prismeId,email,firstName'],
      ['brevo', 'EXT_ID,EMAIL,FIRSTNAME'],
    ] as const) {
      await stores.catalog.audiences.put({
        ...audience,
        revision: (await stores.catalog.audiences.get('buyers-email'))!.revision + 1,
        preset,
        minSize: 1,
        maxSizeChange: 100,
      });
      const manifest = (await takeSnapshot('buyers-email', `run-${preset}`, deps))!;
      expect(await text(manifest.esp!.key)).toBe(`${header}\np_a,ada@example.com,p_a\n`);
    }
  });
});

describe('erasure scrub', () => {
  const member = async (profileId: string, userId: string, email: string) => {
    const profile = {
      ...newProfile(profileId, '2026-01-01T00:00:00.000Z'),
      version: 1,
      identifiers: { userId: [userId], email: [email] },
      traits: { firstName: profileId },
      segments: ['buyers'],
    };
    await stores.profiles.put(profile, 0);
    await stores.memberships.enter('buyers', profileId, '2026-01-01T00:00:00.000Z');
  };
  const text = async (key: string) => {
    const body = (await stores.objects.get(key))!;
    return (body[0] === 0x1f ? gunzipSync(body) : body).toString();
  };
  const manifests = async () => {
    const { keys } = await stores.objects.list('audiences/', undefined, 1000);
    return Promise.all(
      keys.filter((k) => k.endsWith('/manifest.json')).map(async (k) => JSON.parse((await stores.objects.get(k))!.toString()) as Manifest),
    );
  };
  const filesOf = (manifest: Manifest) => [...manifest.files.map((f) => f.key), ...(manifest.esp ? [manifest.esp.key] : [])];

  it('rewrites many runs over several invocations of a tiny time budget, each handing its cursor to the next; duplicates do nothing; every run verifies without the person', async () => {
    // Her userId starts like a formula: the Braze file holds it exactly (a key column), as -hana.
    await member('p_hana', '-hana', 'hana@example.com');
    await member('p_ivo', 'ivo', 'ivo@example.com');
    await stores.catalog.audiences.put({ ...audience, revision: 2, preset: 'sfmc', maxSizeChange: 100 });
    await stores.catalog.audiences.put({ ...audience, id: 'buyers-braze', preset: 'braze', format: 'jsonl', maxSizeChange: 100 });
    for (const [audienceId, runs] of [
      ['buyers-email', 4],
      ['buyers-braze', 3],
    ] as const) {
      for (let run = 0; run < runs; run++) {
        if (run === 2) await member(`p_new${audienceId}`, `new-${audienceId}`, `new@${audienceId}.example`); // deltas differ from run to run
        expect((await takeSnapshot(audienceId, newRunId(deps.now()), deps))?.runId).toBeDefined();
      }
    }
    const before = await manifests();
    expect(before).toHaveLength(7);
    // The files that hold her, each run's manifest, and each audience's latest.json.
    let holding = 0;
    for (const manifest of before) for (const key of filesOf(manifest)) if (/hana/.test(await text(key))) holding++;
    expect(holding).toBeGreaterThanOrEqual(7 * 2); // her member rows and ESP rows in every run

    const from = publisher.events.length;
    await stores.catalog.putRun(ERASURES_SCOPE, { runId: 'er_scrub', status: 'requested', startedAt: new Date(deps.now()).toISOString() });
    await eraseProfile('p_hana', 'er_scrub', { ...stores, publisher, logger: silentLogger(), now: deps.now });
    expect(await stores.catalog.getRun(ERASURES_SCOPE, 'er_scrub')).toMatchObject({
      status: 'running',
      progress: { snapshots: { status: 'rewriting', runs: 0, rewrittenFiles: 0 } },
    });

    // As EventBridge would, at least once: every event to the snapshot function, each delivered twice.
    const handler = createSnapshotHandler(deps);
    // Always just under the margin the scrub keeps: one run per invocation (middy still sees time left).
    const tiny = { getRemainingTimeInMillis: () => SCRUB_SAFETY_MS - 1 } as unknown as Context;
    const scrubEvents = () =>
      publisher.events
        .slice(from)
        .filter((e) => e.detailType === DETAIL_TYPES.profileErased || e.detailType === DETAIL_TYPES.snapshotScrubRequested);
    for (let i = 0; i < scrubEvents().length && i < 50; i++) {
      const event = { 'detail-type': scrubEvents()[i]!.detailType, detail: scrubEvents()[i]!.detail } as unknown as SnapshotEvent;
      await handler(event, tiny);
      await handler(event, tiny);
    }
    const handOffs = scrubEvents().filter((e) => e.detailType === DETAIL_TYPES.snapshotScrubRequested);
    expect(handOffs.map((e) => e.detail.step)).toEqual([1, 2, 3, 4, 5, 6]); // seven runs, seven invocations, no duplicate step

    const erasure = (await stores.catalog.getRun(ERASURES_SCOPE, 'er_scrub'))!;
    expect(erasure).toMatchObject({ status: 'succeeded', phase: 'done', finishedAt: expect.any(String) });
    expect(erasure.progress!.snapshots).toEqual({ status: 'done', runs: 7, rewrittenFiles: holding + 7 + 2 });
    expect(JSON.stringify(erasure)).not.toMatch(/hana/);
    expect(await stores.catalog.getRunPart(ERASURES_SCOPE, 'er_scrub', SCRUB_PART)).toBeUndefined(); // what it looked for is gone

    const after = await manifests();
    for (const manifest of after) {
      expect(await verifySnapshot(manifest, (key) => stores.objects.get(key))).toMatchObject({ ok: true });
      const earlier = before.find((m) => m.runId === manifest.runId && m.audienceId === manifest.audienceId)!;
      expect(manifest.counts.members).toBe(earlier.counts.members - 1);
      const contents = (await Promise.all(filesOf(manifest).map(text))).join('\n');
      expect(contents).not.toMatch(/hana/);
      expect(contents).toContain('ivo');
    }
    for (const audienceId of ['buyers-email', 'buyers-braze']) {
      const latest = JSON.parse((await stores.objects.get(`audiences/${audienceId}/latest.json`))!.toString()) as LatestPointer;
      expect(latest.counts).toEqual(after.find((m) => latest.manifestKey.includes(m.runId))!.counts);
    }
  });
});

describe('S3ObjectStore against s3rver', () => {
  it('streams a large object through a multipart upload, and back', async () => {
    const emulated = await emulatedStores();
    const body = randomBytes(20 * 1024 * 1024); // three 8 MB parts
    await emulated.objects.putStream(
      'big/object.bin',
      Readable.from([body.subarray(0, 7_000_000), body.subarray(7_000_000)]),
      'application/octet-stream',
    );
    const back = await emulated.objects.get('big/object.bin');
    expect(back!.length).toBe(body.length);
    expect(createHash('sha256').update(back!).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    expect(await emulated.objects.getStream('big/missing.bin')).toBeUndefined();
  });
});

describe('CSV injection (OWASP)', () => {
  const HOSTILE = ['=HYPERLINK("http://x")', '+1', '@SUM(A1)', '-2+3', '\tx', '\rx', '\uFF1D1+1', 'a\nb'];
  const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;
  const E164 = /^\+[1-9]\d{6,14}$/;
  const cells = (text: string) => parse(text, { relax_column_count: false }) as string[][];

  it('escapes every cell that starts like a formula, in member and delta files and every ESP file, keeping numbers, keys, deltas and verification', async () => {
    // Key columns (ids and identifiers an ESP matches people on) are written exactly: here a userId and an email.
    const KEYS = new Set(['=cmd|calc', '-m1@example.com']);
    const hostile = async (i: number, value: string) => {
      const profile = {
        ...newProfile(`p_${i}`, '2026-01-01T00:00:00.000Z'),
        version: 1,
        identifiers: { email: [i === 1 ? '-m1@example.com' : `m${i}@example.com`], userId: [i === 0 ? '=cmd|calc' : `u${i}`] },
        traits: { firstName: value, score: -5 },
      };
      await stores.profiles.put(profile, 0);
      await stores.memberships.enter('buyers', profile.profileId, '2026-01-01T00:00:00.000Z');
    };
    for (const [i, value] of HOSTILE.entries()) await hostile(i, value);
    const escaped = HOSTILE.map((value) => (FORMULA_START.test(value) ? `'${value}` : value));
    for (const preset of ['braze', 'sfmc', 'iterable', 'brevo'] as const) {
      const revision = (await stores.catalog.audiences.get('buyers-email'))!.revision + 1;
      await stores.catalog.audiences.put({
        ...audience,
        revision,
        preset,
        fields: ['email', 'traits.firstName', 'traits.score'],
        minSize: 1,
        maxSizeChange: 100,
      });
      const manifest = (await takeSnapshot('buyers-email', `run-${preset}`, deps))!;
      expect(await verifySnapshot(manifest, (key) => stores.objects.get(key))).toMatchObject({ ok: true });
      const tables = await Promise.all([
        ...manifest.files.map(async (f) => gunzipSync((await stores.objects.get(f.key))!).toString()),
        (await stores.objects.get(manifest.esp!.key))!.toString(),
      ]).then((texts) => texts.map(cells));
      for (const table of tables)
        for (const row of table)
          for (const cell of row) if (cell !== '-5' && !KEYS.has(cell)) expect(cell, JSON.stringify(cell)).not.toMatch(FORMULA_START);
      const [members, , , esp] = tables;
      if (manifest.counts.members === HOSTILE.length && manifest.counts.added === HOSTILE.length) {
        expect(members!.slice(1).map((row) => row[2])).toEqual(escaped);
      }
      expect(members!.slice(1).map((row) => row[1])).toContain('-m1@example.com');
      // The numeric column keeps its number: -5 is no formula.
      expect(members!.slice(1).map((row) => row[3])).toEqual(HOSTILE.map(() => '-5'));
      if (preset === 'braze') {
        const payloads = esp!.slice(1).map(([id, payload]) => [id, JSON.parse(payload!) as Record<string, unknown>] as const);
        expect(payloads.find(([id]) => id === '=cmd|calc')).toBeDefined(); // the EXTERNAL_ID Braze matches on, exactly
        expect(payloads.map(([, payload]) => payload.firstName).sort()).toEqual([...HOSTILE].sort()); // JSON inside the cell: no spreadsheet reads it
      } else {
        expect(esp!.slice(1).map((row) => row[2])).toEqual(escaped);
        expect(esp!.slice(1).map((row) => row[1])).toContain('-m1@example.com');
      }
      expect(manifest.counts.removed).toBe(0); // the previous run's members were read back whole
    }
  });

  it('any value round-trips through a CSV parser to its escaped text, never starting like a formula (fast-check)', () => {
    const value = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.string({ unit: fc.constantFrom('=', '+', '-', '@', '\t', '\r', '\n', '"', ',', "'", '\uFF1D', 'a', ' '), maxLength: 8 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.stringMatching(/^[+-]\d{1,16}$/), // phone numbers in E.164 and signed counts
    );
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 5 }), (values) => {
        const [row] = cells(csvRow(values));
        expect(row).toEqual(values.map((v) => (FORMULA_START.test(v) && !E164.test(v) ? `'${v}` : v)));
        for (const cell of row!) if (!E164.test(cell)) expect(cell).not.toMatch(FORMULA_START);
      }),
      { seed: 15, numRuns: 2000 },
    );
  });
});
