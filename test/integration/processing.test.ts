/**
 * The processor's use case against real DynamoDB semantics (dynalite), driven through the real SDK.
 * Long because the use case is the product's core: folding, identity, merges, limits, the archive and
 * failure isolation each get their cases here, on one emulator started once for them all.
 */

import { gunzipSync } from 'node:zlib';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import type { QueueMessage } from '#shared/contracts/queue-messages';
import { aggregateSpec, emptyWindow, readValues, specKey } from '#shared/domain/aggregates';
import { type ArchivedEvent, unseal } from '#shared/domain/archive';
import type { EnrichedEvent } from '#shared/domain/events';
import { DEFAULT_IDENTITY_CONFIG, heldForm, identifierKey } from '#shared/domain/identity';
import type { Condition, Segment } from '#shared/domain/segment-definition';
import { isStageSegmentId } from '#shared/domain/stages';
import { dayIndex } from '#shared/domain/time';
import { pendingTransitions } from '#shared/domain/transitions';
import { BACKFILL_SCOPE, type BackfillMessage, backfillStep } from '#shared/usecases/backfill';
import { eraseProfile } from '#shared/usecases/erase-profile';
import { type ProcessEventsDeps, processEvents } from '#shared/usecases/process-events';
import { ProfileWriter } from '#shared/usecases/profile-writer';
import { REPLAY_SCOPE, replayStep } from '#shared/usecases/replay';
import type { SourcedEvent } from '#shared/usecases/sourced-event';
import { emulatedStores, processEventsDeps, RecordingPublisher, silentLogger } from '../helpers/aws';
import { backfillRunner } from '../helpers/backfill';
import { anEvent, membershipChanges } from '../helpers/events';

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

beforeEach(async () => {
  stores = await emulatedStores();
  publisher = new RecordingPublisher();
  await stores.catalog.segments.put(vip);
  deps = processEventsDeps(stores, publisher);
});

const sourced = (events: ReturnType<typeof anEvent>[], origin = 'msg-1'): SourcedEvent[] => events.map((event) => ({ event, origin }));
/** Memberships other than the lifecycle and intent stages Prisme manages. */
const own = (segments: string[]) => segments.filter((id) => !isStageSegmentId(id));
const ownerOf = async (type: string, value: string) =>
  (await stores.identities.owners([identifierKey({ type, value })])).get(identifierKey({ type, value }));

describe('processEvents', () => {
  it('stitches anonymous browsing to the customer who then identifies', async () => {
    await processEvents(sourced([anEvent({ type: 'page', userId: undefined, anonymousId: 'anon-1', event: undefined })]), deps);
    const anonymousProfile = await ownerOf('anonymousId', 'anon-1');
    await processEvents(
      sourced([
        anEvent({
          type: 'identify',
          userId: 'u-42',
          anonymousId: 'anon-1',
          event: undefined,
          traits: { email: 'Ada@Example.com', tier: 'VIP' },
        }),
      ]),
      deps,
    );
    expect(await ownerOf('userId', 'u-42')).toBe(anonymousProfile);
    expect(await ownerOf('email', 'ada@example.com')).toBe(anonymousProfile);
    const profile = await stores.profiles.get(anonymousProfile!);
    expect(profile!.identifiers).toEqual({ userId: ['u-42'], email: ['ada@example.com'], anonymousId: ['anon-1'] });
    expect(own(profile!.segments)).toEqual(['vip']);
  });

  it('joins a store purchase by loyalty card and a web order by email once the CRM linked them', async () => {
    await processEvents(
      sourced([
        anEvent({
          type: 'identify',
          event: undefined,
          userId: undefined,
          anonymousId: 'crm-import-1',
          traits: { email: 'zoe@example.com', loyaltyCard: 'LC-123', phone: '+33 6 11 22 33 44' },
        }),
      ]),
      deps,
    );
    await processEvents(
      sourced(
        [
          anEvent({ userId: undefined, anonymousId: undefined, channel: 'store', properties: { loyaltyCard: 'LC-123', revenue: 40 } }),
          anEvent({ userId: undefined, anonymousId: 'web-1', channel: 'web', traits: { email: 'ZOE@example.com' } }),
        ].map((e) => ({ ...e, anonymousId: e.anonymousId ?? 'till-7' })),
      ),
      deps,
    );
    const owner = await ownerOf('email', 'zoe@example.com');
    expect(await ownerOf('loyaltyCard', 'LC-123')).toBe(owner);
    expect(await ownerOf('phone', '+33611223344')).toBe(owner);
    expect((await stores.profiles.get(owner!))!.channels).toEqual({ web: 2, store: 1 });
  });

  it('merges two profiles of one person when an identify links them, into the older one, once', async () => {
    // The phone app knew "u-77"; the website only an anonymous visitor who is VIP.
    await processEvents(
      sourced([anEvent({ userId: 'u-77', anonymousId: undefined, channel: 'app', messageId: 'app-1', at: '2026-03-01T00:00:00.000Z' })]),
      deps,
    );
    await processEvents(
      sourced([
        anEvent({
          type: 'identify',
          event: undefined,
          userId: undefined,
          anonymousId: 'web-9',
          traits: { tier: 'vip' },
          messageId: 'web-1',
          at: '2026-03-02T00:00:00.000Z',
        }),
      ]),
      deps,
    );
    const appProfile = (await ownerOf('userId', 'u-77'))!;
    const webProfile = (await ownerOf('anonymousId', 'web-9'))!;
    expect(appProfile).not.toBe(webProfile);
    expect(await stores.memberships.count('vip')).toBe(1);

    const login = anEvent({
      type: 'identify',
      event: undefined,
      userId: 'u-77',
      anonymousId: 'web-9',
      messageId: 'login-1',
      at: '2026-03-03T00:00:00.000Z',
    });
    await processEvents(sourced([login]), deps);
    const survivor = [appProfile, webProfile].sort()[0]!;
    const loser = [appProfile, webProfile].sort()[1]!;
    expect(await ownerOf('userId', 'u-77')).toBe(survivor);
    expect(await ownerOf('anonymousId', 'web-9')).toBe(survivor);
    const merged = (await stores.profiles.get(survivor))!;
    expect(merged.channels).toEqual({ app: 1, web: 2 });
    expect(merged.traits).toEqual({ tier: 'vip' });
    expect(merged.mergedFrom).toEqual([loser]);
    expect(own(merged.segments)).toEqual(['vip']);
    expect((await stores.memberships.members('vip', undefined, 10)).items.map((m) => m.profileId)).toEqual([survivor]);
    const stub = (await stores.profiles.get(loser))!;
    expect(stub).toMatchObject({ mergedInto: survivor, mergeCompleted: true, traits: {}, aggregates: {} });
    expect(publisher.events.filter((e) => e.detailType === 'Profile Merged').map((e) => e.detail)).toEqual([
      expect.objectContaining({ survivorId: survivor, mergedId: loser }),
    ]);

    // Redelivery of the login and of events folded before the merge: nothing counted twice, no second merge.
    await processEvents(
      sourced([
        login,
        anEvent({
          type: 'identify',
          event: undefined,
          userId: undefined,
          anonymousId: 'web-9',
          traits: { tier: 'vip' },
          messageId: 'web-1',
          at: '2026-03-02T00:00:00.000Z',
        }),
      ]),
      deps,
    );
    expect((await stores.profiles.get(survivor))!.channels).toEqual({ app: 1, web: 2 });
    expect(publisher.events.filter((e) => e.detailType === 'Profile Merged')).toHaveLength(1);
  });

  it('finishes a merge interrupted after the loser was marked, on the next event for either profile', async () => {
    await processEvents(sourced([anEvent({ userId: 'u-5', anonymousId: undefined, messageId: 'a' })]), deps);
    await processEvents(sourced([anEvent({ userId: undefined, anonymousId: 'd-5', messageId: 'b' })]), deps);
    const [survivor, loser] = [(await ownerOf('userId', 'u-5'))!, (await ownerOf('anonymousId', 'd-5'))!].sort() as [string, string];
    // A crash right after the first step: the loser is marked, nothing else happened.
    const marked = (await stores.profiles.get(loser))!;
    await stores.profiles.put({ ...marked, mergedInto: survivor, version: marked.version + 1 }, marked.version);

    // An event for the loser's identifier arrives: it is written to the survivor, and the merge completes.
    await processEvents(sourced([anEvent({ userId: undefined, anonymousId: 'd-5', messageId: 'c' })]), deps);
    expect(await ownerOf('anonymousId', 'd-5')).toBe(survivor);
    expect((await stores.profiles.get(survivor))!.channels).toEqual({ web: 3 });
    expect((await stores.profiles.get(loser))!.mergeCompleted).toBe(true);
  });

  it('never merges two known customers who share a device or a family email (identity limits)', async () => {
    const identify = (userId: string, anonymousId: string | undefined, email: string | undefined, messageId: string) =>
      anEvent({ type: 'identify', event: undefined, userId, anonymousId, traits: email ? { email } : {}, messageId });
    await processEvents(sourced([identify('mum', 'family-tablet', 'home@family.example', 'f1')]), deps);
    // The son logs in on the same tablet, with the same home email: he is someone else.
    const result = await processEvents(sourced([identify('son', 'family-tablet', 'home@family.example', 'f2')]), deps);
    expect(result.failed.size).toBe(0);
    const mum = (await ownerOf('userId', 'mum'))!;
    const son = (await ownerOf('userId', 'son'))!;
    expect(son).not.toBe(mum);
    expect(await ownerOf('anonymousId', 'family-tablet')).toBe(mum);
    expect(await ownerOf('email', 'home@family.example')).toBe(mum);
    expect((await stores.profiles.get(mum))!.identifiers.userId).toEqual(['mum']);
    expect((await stores.profiles.get(son))!.identifiers).toEqual({ userId: ['son'] });
    expect(publisher.events.filter((e) => e.detailType === 'Profile Merged')).toEqual([]);

    // Within the limits a link still merges: the son's own phone app, then his login on the web.
    await processEvents(sourced([anEvent({ userId: undefined, anonymousId: 'son-phone', messageId: 'f3' })]), deps);
    await processEvents(sourced([identify('son', 'son-phone', undefined, 'f4')]), deps);
    expect(await ownerOf('anonymousId', 'son-phone')).toBe(await ownerOf('userId', 'son'));
    expect(publisher.events.filter((e) => e.detailType === 'Profile Merged')).toHaveLength(1);
  });

  it('leaves out the least trusted identifier by the configured priority when a match breaks a limit', async () => {
    // Two customers, each with one email and one card; a till event carries Ana's card and Ben's email.
    const setUp = async (prefix: string) => {
      await processEvents(
        sourced([
          anEvent({
            type: 'identify',
            event: undefined,
            userId: undefined,
            anonymousId: `${prefix}-ana`,
            traits: { email: `ana@${prefix}.example`, loyaltyCard: `${prefix}-LC-A` },
          }),
        ]),
        deps,
      );
      await processEvents(
        sourced([
          anEvent({
            type: 'identify',
            event: undefined,
            userId: undefined,
            anonymousId: `${prefix}-ben`,
            traits: { email: `ben@${prefix}.example`, loyaltyCard: `${prefix}-LC-B` },
          }),
        ]),
        deps,
      );
      await processEvents(
        sourced([
          anEvent({
            userId: undefined,
            anonymousId: `${prefix}-till`,
            channel: 'store',
            traits: { email: `ben@${prefix}.example` },
            properties: { loyaltyCard: `${prefix}-LC-A` },
          }),
        ]),
        deps,
      );
      return {
        ana: (await ownerOf('anonymousId', `${prefix}-ana`))!,
        ben: (await ownerOf('anonymousId', `${prefix}-ben`))!,
        till: (await ownerOf('anonymousId', `${prefix}-till`))!,
      };
    };
    const strict = { ...DEFAULT_IDENTITY_CONFIG, limits: { ...DEFAULT_IDENTITY_CONFIG.limits, email: 1, loyaltyCard: 1 } };

    deps.identity = strict; // email is trusted before the loyalty card, by default
    const byEmail = await setUp('default');
    expect(byEmail.till).toBe(byEmail.ben);
    expect(byEmail.ana).not.toBe(byEmail.ben);

    deps.identity = { ...strict, priority: ['userId', 'loyaltyCard', 'email', 'phone', 'anonymousId'] };
    const byCard = await setUp('cards-first');
    expect(byCard.till).toBe(byCard.ana);
    expect(byCard.ana).not.toBe(byCard.ben);
    expect(publisher.events.filter((e) => e.detailType === 'Profile Merged')).toEqual([]);
  });

  it('counts a redelivered event once', async () => {
    const event = anEvent({ userId: 'u-1', messageId: 'dup' });
    await processEvents(sourced([event]), deps);
    const again = await processEvents(sourced([event]), deps);
    expect(again.duplicates).toBe(1);
    const profile = await stores.profiles.get((await ownerOf('userId', 'u-1'))!);
    expect(profile!.channels.web).toBe(1);
  });

  it('loses no update when batches for one new person are processed concurrently', async () => {
    const batches = Array.from({ length: 8 }, (_, i) =>
      sourced(
        Array.from({ length: 5 }, (_event, j) => anEvent({ userId: 'u-busy', anonymousId: `device-${i % 2}`, messageId: `m-${i}-${j}` })),
        `msg-${i}`,
      ),
    );
    const results = await Promise.all(batches.map((batch) => processEvents(batch, deps)));
    expect(results.every((r) => r.failed.size === 0)).toBe(true);
    const owner = await ownerOf('userId', 'u-busy');
    expect(await ownerOf('anonymousId', 'device-0')).toBe(owner);
    expect(await ownerOf('anonymousId', 'device-1')).toBe(owner);
    const profile = await stores.profiles.get(owner!);
    expect(profile!.channels.web).toBe(40);
  });

  it('coalesces a batch into one write per profile', async () => {
    const events = Array.from({ length: 20 }, (_, i) => anEvent({ userId: `u-${i % 2}` }));
    const result = await processEvents(sourced(events), deps);
    expect(result.profiles).toBe(2);
    for (const user of ['u-0', 'u-1']) expect((await stores.profiles.get((await ownerOf('userId', user))!))!.version).toBe(1);
  });

  it('publishes entered and exited, and keeps the membership table in step', async () => {
    await processEvents(
      sourced([anEvent({ type: 'identify', userId: 'u-7', event: undefined, traits: { tier: 'vip' }, at: '2026-03-01T00:00:00.000Z' })]),
      deps,
    );
    const profileId = (await ownerOf('userId', 'u-7'))!;
    expect((await stores.memberships.members('vip', undefined, 10)).items.map((m) => m.profileId)).toEqual([profileId]);
    await processEvents(
      sourced([anEvent({ type: 'identify', userId: 'u-7', event: undefined, traits: { tier: 'gold' }, at: '2026-03-02T00:00:00.000Z' })]),
      deps,
    );
    expect(await stores.memberships.count('vip')).toBe(0);
    expect(
      membershipChanges(publisher.events)
        .filter((t) => t.segmentId === 'vip')
        .map((t) => [t.change, t.profileId, t.reason]),
    ).toEqual([
      ['entered', profileId, 'events'],
      ['exited', profileId, 'events'],
    ]);
    const today = new Date().toISOString().slice(0, 10);
    expect(await stores.catalog.dailyChanges('vip', today)).toEqual([{ segmentId: 'vip', day: today, entered: 1, exited: 1 }]);
  });

  it('finishes a membership change that crashed after the profile write, on the next delivery', async () => {
    publisher.failuresLeft = 1;
    const event = anEvent({ type: 'identify', userId: 'u-9', event: undefined, traits: { tier: 'vip' } });
    const first = await processEvents(sourced([event]), deps);
    expect(first.failed.size).toBe(1);
    const profileId = (await ownerOf('userId', 'u-9'))!;
    expect(pendingTransitions((await stores.profiles.get(profileId))!).map((t) => t.segmentId)).toContain('vip');

    const retry = await processEvents(sourced([event]), deps);
    expect(retry.failed.size).toBe(0);
    expect(retry.duplicates).toBe(1);
    expect(await stores.memberships.count('vip')).toBe(1);
    expect(membershipChanges(publisher.events).filter((t) => t.segmentId === 'vip')).toHaveLength(1);
    expect(own((await stores.profiles.get(profileId))!.segments)).toEqual(['vip']);
  });

  it("keeps a write's transitions in the item, applied once: the next write checks them against the membership table instead of an extra write", async () => {
    const identify = (tier: string, at: string) => anEvent({ type: 'identify', userId: 'u-11', event: undefined, traits: { tier }, at });
    const vipEvents = () =>
      membershipChanges(publisher.events)
        .filter((t) => t.segmentId === 'vip')
        .map((t) => t.change);
    await processEvents(sourced([identify('vip', '2026-03-01T00:00:00.000Z')]), deps);
    const profileId = (await ownerOf('userId', 'u-11'))!;
    expect(pendingTransitions((await stores.profiles.get(profileId))!).map((t) => [t.segmentId, t.change])).toContainEqual([
      'vip',
      'entered',
    ]);
    await processEvents(sourced([identify('gold', '2026-03-02T00:00:00.000Z')]), deps); // settles the entry, exits
    await processEvents(sourced([identify('silver', '2026-03-03T00:00:00.000Z')]), deps); // settles the exit
    expect(vipEvents()).toEqual(['entered', 'exited']);
    expect(await stores.memberships.count('vip')).toBe(0);
    expect(pendingTransitions((await stores.profiles.get(profileId))!)).toEqual([]);
  });

  it('publishes again and writes the membership when a crash came between the two', async () => {
    let failures = 1;
    // The real store, but its first membership write dies: after the event was published.
    const memberships: typeof stores.memberships = Object.assign(Object.create(stores.memberships), {
      enter: async (segmentId: string, profileId: string, at: string) => {
        if (failures-- > 0) throw new Error('process died (injected)');
        await stores.memberships.enter(segmentId, profileId, at);
      },
    });
    const writer = new ProfileWriter({
      profiles: stores.profiles,
      identities: stores.identities,
      memberships,
      stats: stores.catalog,
      sizes: stores.catalog,
      publisher,
      logger: silentLogger(),
      now: Date.now,
    });
    const event = anEvent({ type: 'identify', userId: 'u-12', event: undefined, traits: { tier: 'vip' } });
    expect((await processEvents(sourced([event]), { ...deps, writer })).failed.size).toBe(1);
    expect(await stores.memberships.count('vip')).toBe(0);
    expect((await processEvents(sourced([event]), { ...deps, writer })).failed.size).toBe(0);
    const published = membershipChanges(publisher.events).filter((t) => t.segmentId === 'vip');
    expect(published).toHaveLength(2); // at least once: the same change, which consumers drop by its id
    expect(new Set(published.map((t) => t.id)).size).toBe(1);
    expect(await stores.memberships.count('vip')).toBe(1);
  });

  it('rejects an event whose only identifiers are blocked values as poison', async () => {
    const result = await processEvents(sourced([anEvent({ userId: 'anonymous' })], 'poison'), deps);
    expect(result.failed.size).toBe(0); // never retried: parked at once
    expect(result.parked.map((p) => [p.origin, p.error.name])).toEqual([['poison', 'PoisonMessageError']]);
  });

  it('lets an erased person come back only with consent given after the erasure, not with a retried or redriven older event', async () => {
    const consenting = (messageId: string, receivedAt: string) =>
      anEvent({ type: 'identify', event: undefined, userId: 'erased-jo', messageId, traits: { consent: { email: true } }, at: receivedAt });
    await processEvents(sourced([consenting('jo-1', '2026-03-15T10:00:00.000Z')]), deps);
    const owner = (await ownerOf('userId', 'erased-jo'))!;
    const erasedAt = Date.parse('2026-03-16T10:00:00.000Z');
    await eraseProfile(owner, 'er_jo', { ...stores, publisher, logger: silentLogger(), now: () => erasedAt });

    // Received before the erasure (a retry, or a redrive from the DLQ), consent and all: still dropped.
    const before = await processEvents(sourced([consenting('jo-2', '2026-03-15T11:00:00.000Z')]), deps);
    expect(before.suppressed).toBe(1);
    expect(await ownerOf('userId', 'erased-jo')).toBeUndefined();
    // Received after it, with consent: the person starts afresh.
    const after = await processEvents(sourced([consenting('jo-3', '2026-03-17T10:00:00.000Z')]), deps);
    expect(after.suppressed).toBe(0);
    expect(await ownerOf('userId', 'erased-jo')).toBeDefined();
  });

  it("archives every processed event sealed with its person's key, once per batch, unreadable after erasure", async () => {
    const archived = { ...deps, archive: stores.objects };
    const batch = sourced([
      anEvent({ userId: 'arch-1', messageId: 'a1', channel: 'store', properties: { revenue: 12 } }),
      anEvent({ userId: 'arch-2', messageId: 'a2', traits: {}, type: 'identify', event: undefined }),
    ]);
    await processEvents(batch, archived);
    await processEvents(batch, archived); // a redelivery overwrites its own object
    const listed = await stores.s3.send(new ListObjectsV2Command({ Bucket: stores.bucket, Prefix: 'archive/events/' }));
    expect(listed.Contents!.map((o) => o.Key)).toEqual([
      expect.stringMatching(/^archive\/events\/dt=2026-03-15\/[0-9a-f]{32}\.jsonl\.gz$/),
    ]);
    const records = gunzipSync((await stores.objects.get(listed.Contents![0]!.Key!))!)
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ArchivedEvent);
    expect(records.map((r) => r.messageId).sort()).toEqual(['a1', 'a2']);
    expect(JSON.stringify(records)).not.toContain('arch-1'); // sealed: no identifier in clear
    const owner = (await ownerOf('userId', 'arch-1'))!;
    const noNewKeys = () => {
      throw new Error('no key should be created here');
    };
    const keys = await stores.identities.archiveKeys([owner], noNewKeys);
    const mine = records.find((r) => r.profileId === owner)!;
    expect(unseal(mine, keys.get(owner))).toMatchObject({ messageId: 'a1', userId: 'arch-1', properties: { revenue: 12 } });

    expect((await stores.identities.holdings(owner))?.held).toEqual({ userId: [heldForm('userId', 'arch-1')] });
    await eraseProfile(owner, 'er_test', { ...stores, publisher, logger: silentLogger(), now: Date.now });
    expect(await stores.identities.holdings(owner)).toBeUndefined(); // even its userId's hash goes with it
    const after = await stores.identities.archiveKeys([owner], () => 'a-brand-new-key-that-cannot-open-the-old-records=');
    expect(after.get(owner)).not.toBe(keys.get(owner));
    expect(unseal(mine, after.get(owner))).toBeUndefined();
  });

  it("archives each event once, by the delivery that folds it: a redelivery in another batch, or a client's retry, adds nothing", async () => {
    const archived = { ...deps, archive: stores.objects };
    const archivedIds = async () => {
      const listed = await stores.s3.send(new ListObjectsV2Command({ Bucket: stores.bucket, Prefix: 'archive/events/' }));
      const ids: string[] = [];
      for (const { Key } of listed.Contents ?? []) {
        ids.push(
          ...gunzipSync((await stores.objects.get(Key!))!)
            .toString()
            .trim()
            .split('\n')
            .map((line) => (JSON.parse(line) as ArchivedEvent).messageId),
        );
      }
      return ids.filter((id) => id.startsWith('twice-')).sort();
    };
    const m1 = sourced(
      [anEvent({ userId: 'twice-1', messageId: 'twice-a' }), anEvent({ userId: 'twice-2', messageId: 'twice-b' })],
      'tw-m1',
    );
    const m2 = sourced([anEvent({ userId: 'twice-3', messageId: 'twice-c' })], 'tw-m2');
    const m3 = sourced([anEvent({ userId: 'twice-4', messageId: 'twice-d' })], 'tw-m3');
    await processEvents([...m1, ...m2], archived);
    // SQS delivers tw-m1 again (its visibility expired mid-batch), beside another message: a new object, without tw-m1.
    await processEvents([...m3, ...m1], archived);
    // The client sends twice-c again (a timeout on its side): a new queue message, received later.
    await processEvents(
      sourced([anEvent({ userId: 'twice-3', messageId: 'twice-c', receivedAt: '2026-03-15T12:00:05.000Z' })], 'tw-m4'),
      archived,
    );
    expect(await archivedIds()).toEqual(['twice-a', 'twice-b', 'twice-c', 'twice-d']);
  });

  it('queues the events it could not archive to be archived, not retried: message by message first, each event once', async () => {
    const puts: string[][] = [];
    let failing = true;
    // The batch's object is refused, and so is any object holding bob's event, until the retry.
    const flaky = {
      ...stores.objects,
      put: async (key: string, body: Buffer | string, type: string) => {
        const ids = gunzipSync(body as Buffer)
          .toString()
          .trim()
          .split('\n')
          .map((line) => (JSON.parse(line) as ArchivedEvent).messageId)
          .sort();
        if (failing && (ids.length > 2 || ids.includes('arc-bob'))) throw new Error('S3 is unwell');
        puts.push(ids);
        return stores.objects.put(key, body, type);
      },
    };
    const sent: QueueMessage[] = [];
    const queue = { send: async (message: QueueMessage) => void sent.push(message) };
    const archived = { ...deps, archive: flaky as typeof stores.objects, queue };
    const m1 = sourced(
      [anEvent({ userId: 'arc-alice', messageId: 'arc-alice' }), anEvent({ userId: 'arc-bob', messageId: 'arc-bob' })],
      'arc-m1',
    );
    const m2 = sourced([anEvent({ userId: 'arc-carol', messageId: 'arc-carol' })], 'arc-m2');
    const first = await processEvents([...m1, ...m2], archived);
    // Folded, so not failed: a retry would find them folded and archive nothing.
    expect(first.failed.size).toBe(0);
    expect(puts).toEqual([['arc-carol']]);
    // One message for the refused object's events; people are folded concurrently, so in any order.
    expect(sent).toMatchObject([{ kind: 'events', unarchived: true }]);
    expect((sent[0] as Extract<QueueMessage, { kind: 'events' }>).events.map((event) => event.messageId).sort()).toEqual([
      'arc-alice',
      'arc-bob',
    ]);

    failing = false;
    const handedBack = sent[0] as Extract<QueueMessage, { kind: 'events' }>;
    const again = await processEvents(
      handedBack.events.map((event) => ({ event, origin: 'arc-m3', unarchived: true })),
      archived,
    );
    expect(again).toMatchObject({ applied: 0, duplicates: 2 });
    expect(puts).toEqual([['arc-carol'], ['arc-alice', 'arc-bob']]);
    await processEvents(m1, archived); // and should SQS deliver arc-m1 again: nothing more
    expect(puts).toHaveLength(2);
  });

  it('replays the archive: nothing changes in live profiles, and emptied tables are rebuilt', async () => {
    const archived = { ...deps, archive: stores.objects };
    // More events than a profile's message ring remembers (64): the live watermark is what recognises them.
    const events = Array.from({ length: 70 }, (_, i) =>
      anEvent({
        userId: 'rebuilt',
        messageId: `r${i}`,
        channel: 'store',
        at: `2026-03-${i < 40 ? 11 : 13}T10:${String(i % 60).padStart(2, '0')}:00.000Z`,
        properties: { revenue: 10 },
      }),
    );
    await processEvents(sourced(events.slice(0, 40), 'b1'), archived);
    await processEvents(sourced(events.slice(40), 'b2'), archived); // two archive objects
    const before = (await stores.profiles.get((await ownerOf('userId', 'rebuilt'))!))!;
    expect(before.channels).toEqual({ store: 70 });

    /** Runs a replay of those days to its end, and processes what it sends, as the queue would. */
    const replay = async () => {
      const sent: SourcedEvent[] = [];
      const steps: Array<Extract<QueueMessage, { kind: 'replay' }>> = [];
      const queue = {
        sendEvents: async (e: readonly EnrichedEvent[]) => void sent.push(...sourced([...e], 'replay')),
        send: async (next: QueueMessage) => void steps.push(next as Extract<QueueMessage, { kind: 'replay' }>),
      };
      // Archived by the day they were received: the 11th (first batch) and the 13th.
      const runId = `r${Date.now()}`;
      let message: Extract<QueueMessage, { kind: 'replay' }> | undefined = {
        v: 1,
        kind: 'replay',
        runId,
        from: '2026-03-10',
        to: '2026-03-14',
        day: '2026-03-10',
      };
      // The run record is dated by the injected clock.
      const now = () => Date.parse('2026-03-20T08:00:00.000Z');
      while (message) {
        await replayStep(message, { catalog: stores.catalog, identities: stores.identities, archive: stores.objects, queue, now });
        message = steps.shift();
      }
      expect(await stores.catalog.getRun(REPLAY_SCOPE, runId)).toMatchObject({
        status: 'succeeded',
        startedAt: '2026-03-20T08:00:00.000Z',
        finishedAt: '2026-03-20T08:00:00.000Z',
      });
      expect(sent).toHaveLength(70);
      expect(sent.every((s) => s.event.replayed)).toBe(true);
      await processEvents(sent, archived);
    };

    // Into live profiles: they have seen every event, nothing is counted twice.
    await replay();
    expect((await stores.profiles.get(before.profileId))!.channels).toEqual({ store: 70 });
    expect((await stores.s3.send(new ListObjectsV2Command({ Bucket: stores.bucket, Prefix: 'archive/' }))).Contents).toHaveLength(2); // not archived again

    // Into emptied tables (the archive keys kept): the profile comes back as it was.
    await stores.dynamo.send(new DeleteCommand({ TableName: stores.tableOf('profiles'), Key: { profileId: before.profileId } }));
    await stores.dynamo.send(new DeleteCommand({ TableName: stores.tableOf('identities'), Key: { identifier: 'userId:rebuilt' } }));
    await replay();
    const rebuilt = (await stores.profiles.get((await ownerOf('userId', 'rebuilt'))!))!;
    expect(rebuilt.profileId).not.toBe(before.profileId);
    expect(rebuilt.channels).toEqual({ store: 70 });
    expect(rebuilt.aggregates).toEqual(before.aggregates);
  });

  it("backfills a new segment's aggregates from the archive: every event counted once, however often a step runs", async () => {
    const now = Date.parse('2026-03-15T12:00:00.000Z');
    const clock = () => now;
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
    const archived = { ...deps, writer, archive: stores.objects };
    const shoes = (userId: string, revenue: number, at: string, messageId: string) =>
      anEvent({ userId, messageId, at, properties: { category: 'shoes', revenue } });
    // Before the segment exists: one archive object per batch, more objects than one step reads.
    const history = [
      shoes('bf-1', 40, '2026-03-10T09:00:00.000Z', 'h1'),
      shoes('bf-1', 40, '2026-03-11T09:00:00.000Z', 'h2'),
      anEvent({ userId: 'bf-1', messageId: 'h3', at: '2026-03-11T10:00:00.000Z', properties: { category: 'hats', revenue: 500 } }),
      shoes('bf-2', 40, '2026-03-12T09:00:00.000Z', 'h4'),
      shoes('bf-1', 40, '2026-03-13T09:00:00.000Z', 'h5'),
      shoes('bf-3', 70, '2026-03-13T10:00:00.000Z', 'h6'),
      shoes('bf-3', 70, '2026-03-13T11:00:00.000Z', 'h7'),
    ];
    for (const [i, event] of history.entries()) await processEvents(sourced([event], `hist-${i}`), archived);

    const since = '2026-03-14T00:00:00.000Z';
    const condition: Condition = {
      type: 'event',
      event: 'Order Completed',
      where: [{ property: 'category', operator: 'eq', value: 'shoes' }],
      aggregate: { fn: 'sum', property: 'revenue', operator: 'gte', value: 150 },
      within: { days: 30 },
    };
    const spec = aggregateSpec('Order Completed', [{ property: 'category', operator: 'eq', value: 'shoes' }], 'revenue');
    await stores.catalog.segments.put({
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
    // After the save: one received before `since` but delivered late is folded live and noted (the
    // backfill skips it); one received after is live.
    await processEvents(sourced([shoes('bf-1', 15, '2026-03-13T23:59:00.000Z', 'late')], 'late'), archived);
    await processEvents(sourced([shoes('bf-1', 30, '2026-03-14T10:00:00.000Z', 'live')], 'live'), archived);
    await processEvents(sourced([shoes('bf-2', 30, '2026-03-14T10:00:00.000Z', 'live-2')], 'live-2'), archived);

    const shoeSum = async (userId: string) => {
      const profile = (await stores.profiles.get((await ownerOf('userId', userId))!))!;
      return readValues(profile.aggregates[specKey(spec, 'web')] ?? [], dayIndex(now) - 30, emptyWindow()).sum;
    };
    expect(await shoeSum('bf-1')).toBe(15 + 30); // the late one and the live one so far
    expect(own((await stores.profiles.get((await ownerOf('userId', 'bf-1'))!))!.segments)).not.toContain('shoe-fans');

    const runId = 'shoe-fans-r1';
    const first: BackfillMessage = { v: 1, kind: 'backfill', runId, segmentId: 'shoe-fans', revision: 1, specs: [spec.id], since };
    const runner = backfillRunner({ catalog: stores.catalog, identities: stores.identities, archive: stores.objects, writer, now: clock });
    const { sent } = runner;
    const steps = await runner.run(first);
    expect(steps.length).toBeGreaterThan(1);
    expect(await shoeSum('bf-1')).toBe(40 * 3 + 15 + 30);
    expect(await shoeSum('bf-2')).toBe(70);
    expect(await shoeSum('bf-3')).toBe(140);
    expect(sent.at(-1)).toEqual({ v: 1, kind: 'evaluate-segment', segmentId: 'shoe-fans', revision: 1 });
    const run = await stores.catalog.getRun(BACKFILL_SCOPE, runId);
    // Seven events read (the late one too), six written: the late one was folded already.
    expect(run).toMatchObject({ status: 'succeeded', progress: { objects: 10, events: 7, profileWrites: 6 } });
    expect(await stores.catalog.segments.get('shoe-fans')).not.toHaveProperty('specsSince');
    expect(await stores.catalog.segments.get('shoe-fans')).not.toHaveProperty('aggregatesSince');
    // Profiles were evaluated as they took their history: bf-1 is in, the others are not.
    expect(own((await stores.profiles.get((await ownerOf('userId', 'bf-1'))!))!.segments)).toContain('shoe-fans');
    expect(own((await stores.profiles.get((await ownerOf('userId', 'bf-3'))!))!.segments)).not.toContain('shoe-fans');

    // Every step delivered again (the queue is at least once): the profiles remember what they took.
    await stores.catalog.putRun(BACKFILL_SCOPE, { ...run!, status: 'running' });
    for (const step of steps) await backfillStep(step, runner.deps);
    expect([await shoeSum('bf-1'), await shoeSum('bf-2'), await shoeSum('bf-3')]).toEqual([165, 70, 140]);
  });
});
