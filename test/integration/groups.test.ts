/**
 * Groups against dynalite, through the processor and the local queue: traits kept on the group under
 * concurrent writers, the B2B segment, and the re-evaluation of every member when a group changes.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProcessorHandler } from '#functions/processor/processor';
import { DurableQueue } from '#local/durable-queue';
import { QueuePoller } from '#local/poller';
import { SqsEmulator } from '#local/sqs-emulator';
import { SqsEventQueue } from '#shared/adapters/sqs/event-queue';
import type { EnrichedEvent } from '#shared/domain/events';
import { identifierKey } from '#shared/domain/identity';
import type { Condition, Segment } from '#shared/domain/segment-definition';
import { eraseProfile } from '#shared/usecases/erase-profile';
import { writeGroupCalls } from '#shared/usecases/group-writer';
import { emulatedStores, processEventsDeps, RecordingPublisher, silentLogger } from '../helpers/aws';
import { anEvent } from '../helpers/events';

let stores: Awaited<ReturnType<typeof emulatedStores>>;
let sqs: SqsEmulator;
let events: DurableQueue;
let queue: SqsEventQueue;
let poller: QueuePoller;
const publisher = new RecordingPublisher();

/** "People whose company has more than 50 employees visited the pricing page." */
const b2b: Condition = {
  type: 'and',
  conditions: [
    { type: 'group', trait: 'employees', operator: 'gt', value: 50 },
    { type: 'event', event: 'Page Viewed', where: [{ property: 'name', operator: 'eq', value: 'pricing' }] },
  ],
};
const segment: Segment = {
  id: 'big-company-pricing',
  name: 'Big company, pricing page',
  condition: b2b,
  revision: 1,
  languageVersion: 1,
  status: 'ready',
  createdAt: '2026-03-01T00:00:00.000Z',
  updatedAt: '2026-03-01T00:00:00.000Z',
};

beforeAll(async () => {
  stores = await emulatedStores();
  const dir = mkdtempSync(join(tmpdir(), 'prisme-groups-'));
  const dlq = await DurableQueue.open('dlq', join(dir, 'dlq.journal'), { visibilityTimeoutMs: 60_000 });
  events = await DurableQueue.open('events', join(dir, 'events.journal'), { visibilityTimeoutMs: 1_000 });
  sqs = new SqsEmulator(
    new Map([
      ['events', events],
      ['dlq', dlq],
    ]),
  );
  const client = new SQSClient({
    endpoint: await sqs.start(),
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  queue = new SqsEventQueue(client, sqs.queueUrl('events'), sqs.queueUrl('dlq'), 240_000);
  const handler = createProcessorHandler({
    ...stores,
    ...processEventsDeps(stores, publisher),
    publisher,
    now: Date.now,
    queue,
    maxReceiveCount: 5,
  });
  poller = new QueuePoller(events, handler, { batchSize: 10, concurrency: 2, timeoutMs: 30_000, onError: (error) => console.error(error) });
  poller.start();
  await stores.catalog.segments.put(segment);
});
afterAll(async () => {
  await poller?.stop();
  await sqs?.stop();
});

const groupCall = (userId: string, groupId: string, traits: Record<string, unknown>, at: string) =>
  anEvent({ type: 'group', event: undefined, userId, groupId, traits, at, receivedAt: at });
const pricingView = (userId: string, at: string) =>
  anEvent({ type: 'page', event: undefined, userId, properties: { name: 'pricing' }, at, receivedAt: at });
const profileOf = async (userId: string) => {
  const key = identifierKey({ type: 'userId', value: userId });
  const owner = (await stores.identities.owners([key])).get(key);
  return owner ? stores.profiles.get(owner) : undefined;
};
const members = async () => (await stores.memberships.members(segment.id, undefined, 100)).items.map((m) => m.profileId).sort();
async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
const send = (batch: EnrichedEvent[]) => queue.sendEvents(batch);

describe('group writes', () => {
  it('keep every trait when processors write one group concurrently, the latest value of each winning', async () => {
    const deps = { groups: stores.groups, queue, logger: silentLogger(), now: Date.now };
    // Ten writers at once, each setting its own trait and a shared one at its own time.
    const writers = Array.from({ length: 10 }, (_, i) =>
      writeGroupCalls(
        'race-co',
        [groupCall('u', 'race-co', { [`t${i}`]: i, shared: i }, new Date(Date.UTC(2026, 2, 1, i)).toISOString())],
        deps,
        false,
      ),
    );
    await Promise.all(writers);
    const [group] = await stores.groups.getMany(['race-co']);
    expect(group!.traits).toEqual({ ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`t${i}`, i])), shared: 9 });
    expect(group!.version).toBe(10);
    // Again, in another order: nothing changes, nothing is written.
    await Promise.all(
      [...writers]
        .reverse()
        .map((_, i) =>
          writeGroupCalls(
            'race-co',
            [groupCall('u', 'race-co', { [`t${i}`]: i }, new Date(Date.UTC(2026, 2, 1, i)).toISOString())],
            deps,
            false,
          ),
        ),
    );
    expect((await stores.groups.getMany(['race-co']))[0]!.version).toBe(10);
  });
});

describe('the B2B segment, end to end through the processor', () => {
  it("selects the people of big companies who viewed pricing, and moves every member when a group's traits change", async () => {
    await send([
      anEvent({
        type: 'identify',
        event: undefined,
        userId: 'ada',
        traits: { name: 'Ada', employees: 3 },
        at: '2026-03-10T09:00:00.000Z',
        receivedAt: '2026-03-10T09:00:00.000Z',
      }),
      groupCall('ada', 'acme', { name: 'Acme', employees: 120 }, '2026-03-10T10:00:00.000Z'),
      pricingView('ada', '2026-03-10T11:00:00.000Z'),
      // Bob's group call names no traits: Acme's, set by Ada, are his company's.
      groupCall('bob', 'acme', {}, '2026-03-10T10:00:00.000Z'),
      pricingView('bob', '2026-03-10T11:00:00.000Z'),
      groupCall('cy', 'tinyco', { name: 'Tiny', employees: 10 }, '2026-03-10T10:00:00.000Z'),
      pricingView('cy', '2026-03-10T11:00:00.000Z'),
      groupCall('dee', 'tinyco', {}, '2026-03-10T10:00:00.000Z'), // no pricing view: never in
    ]);
    await until(async () => (await members()).length === 2);
    const [ada, bob, cy, dee] = await Promise.all(['ada', 'bob', 'cy', 'dee'].map(profileOf));
    expect(await members()).toEqual([ada!.profileId, bob!.profileId].sort());
    // The group call left the person's traits as they were; the group has its own.
    expect(ada!.traits).toEqual({ name: 'Ada', employees: 3 });
    expect(Object.keys(ada!.groups!)).toEqual(['acme']);
    expect((await stores.groups.getMany(['acme']))[0]!.traits).toEqual({ name: 'Acme', employees: 120 });
    expect((await stores.groups.members('acme', undefined, 10)).items.sort()).toEqual([ada!.profileId, bob!.profileId].sort());

    // Dee reports that Tiny grew: Cy, who viewed pricing, is re-evaluated without an event of his own.
    await send([groupCall('dee', 'tinyco', { employees: 80 }, '2026-03-12T10:00:00.000Z')]);
    await until(async () => (await members()).includes(cy!.profileId));
    // Bob reports that Acme shrank: Ada leaves with him.
    await send([groupCall('bob', 'acme', { employees: 30 }, '2026-03-12T10:00:00.000Z')]);
    await until(async () => !(await members()).includes(ada!.profileId));
    expect(await members()).toEqual([cy!.profileId]);
    expect(dee!.traits).toEqual({});
  });

  it("takes an erased person off their groups' member lists", async () => {
    await send([groupCall('eve', 'erasable-co', { employees: 5 }, '2026-03-10T10:00:00.000Z')]);
    await until(async () => (await stores.groups.members('erasable-co', undefined, 10)).items.length === 1);
    const eve = (await profileOf('eve'))!;
    await eraseProfile(eve.profileId, 'er_eve', { ...stores, publisher, logger: silentLogger(), now: Date.now });
    expect((await stores.groups.members('erasable-co', undefined, 10)).items).toEqual([]);
  });
});
