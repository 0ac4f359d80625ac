/**
 * The processor handler over a batch that mixes several people's events with culprits: failures are
 * isolated per event and per person. Real SDK against dynalite, s3rver and the local durable queue.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProcessorHandler, type ProcessorHandler } from '#functions/processor/processor';
import { DurableQueue } from '#local/durable-queue';
import { SqsEmulator } from '#local/sqs-emulator';
import { DeadLetters } from '#shared/adapters/sqs/dead-letters';
import { SqsEventQueue } from '#shared/adapters/sqs/event-queue';
import type { QueueMessage } from '#shared/contracts/queue-messages';
import type { ArchivedEvent } from '#shared/domain/archive';
import type { EnrichedEvent } from '#shared/domain/events';
import { identifierKey } from '#shared/domain/identity';
import { emulatedStores, processEventsDeps, RecordingPublisher } from '../helpers/aws';
import { anEvent } from '../helpers/events';

let stores: Awaited<ReturnType<typeof emulatedStores>>;
let sqs: SqsEmulator;
let deadLetters: DeadLetters;
let handler: ProcessorHandler;
const MAX_RECEIVES = 5;

beforeAll(async () => {
  stores = await emulatedStores();
  const dir = mkdtempSync(join(tmpdir(), 'prisme-processor-'));
  const dlq = await DurableQueue.open('dlq', join(dir, 'dlq.journal'), { visibilityTimeoutMs: 60_000 });
  const events = await DurableQueue.open('events', join(dir, 'events.journal'), { visibilityTimeoutMs: 60_000 });
  sqs = new SqsEmulator(
    new Map([
      ['events', events],
      ['dlq', dlq],
    ]),
  );
  const endpoint = await sqs.start();
  const client = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  deadLetters = new DeadLetters(client, sqs.queueUrl('dlq'), sqs.queueUrl('events'));
  const publisher = new RecordingPublisher();
  handler = createProcessorHandler({
    ...stores,
    ...processEventsDeps(stores, publisher),
    publisher,
    now: Date.now,
    queue: new SqsEventQueue(client, sqs.queueUrl('events'), sqs.queueUrl('dlq'), 240_000),
    archive: stores.objects,
    maxReceiveCount: MAX_RECEIVES,
  });
});
afterAll(async () => {
  await sqs?.stop();
});

const record = (messageId: string, events: EnrichedEvent[], receives: number): SQSRecord =>
  ({
    messageId,
    body: JSON.stringify({ v: 1, kind: 'events', events } satisfies QueueMessage),
    attributes: { ApproximateReceiveCount: String(receives) },
  }) as unknown as SQSRecord;
const invoke = (...records: SQSRecord[]) => handler({ Records: records } as SQSEvent, {} as Context);
const ownerOf = async (type: string, value: string) =>
  (await stores.identities.owners([identifierKey({ type, value })])).get(identifierKey({ type, value }));
const archived = async () => {
  const listed = await stores.s3.send(new ListObjectsV2Command({ Bucket: stores.bucket, Prefix: 'archive/events/' }));
  const objects = await Promise.all(
    (listed.Contents ?? []).map(async (o) =>
      gunzipSync((await stores.objects.get(o.Key!))!)
        .toString()
        .trim()
        .split('\n'),
    ),
  );
  return objects
    .flat()
    .map((line) => (JSON.parse(line) as ArchivedEvent).messageId)
    .sort();
};

describe('processor: one bad event or person never fails the others', () => {
  it('parks only the culprits, each alone with its real reason; every other event is folded and archived once', async () => {
    // A person whose profile cannot be read (a corrupt item): every write for him fails the same way.
    await invoke(record('setup', [anEvent({ userId: 'broken-bob', messageId: 'bob-0' })], 1));
    await stores.dynamo.send(
      new PutCommand({
        TableName: stores.tableOf('profiles'),
        Item: { profileId: (await ownerOf('userId', 'broken-bob'))!, version: 7, body: new Uint8Array([1, 2, 3]) },
      }),
    );

    const alice = anEvent({ userId: 'alice', messageId: 'alice-1' });
    // An external id longer than a DynamoDB key can be: not used as an identifier (it once failed the batch's lookup whole).
    const tooLong = anEvent({ userId: 'dan', messageId: 'too-long', context: { externalIds: [{ type: 'crm_id', id: 'x'.repeat(2100) }] } });
    // One item in DynamoDB (UTF-8 turns lone surrogates into U+FFFD): one BatchGet holding both keys fails whole.
    const surrogateA = anEvent({ userId: 'eve\ud800', messageId: 'eve-1' });
    const surrogateB = anEvent({ userId: 'eve\udc00', messageId: 'eve-2' });
    const bob = anEvent({ userId: 'broken-bob', messageId: 'bob-1' });
    const carol = anEvent({ userId: 'carol', messageId: 'carol-1' });

    // Bob's write fails on a first receive: his message is retried whole, the other is done.
    const first = await invoke(record('m1', [alice, tooLong, surrogateA], 1), record('m2', [bob, carol, surrogateB], 1));
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm2' }]);
    // Carol's and Eve's events of m2 were folded, so archived now: the retry finds them folded.
    expect(await archived()).toEqual(['alice-1', 'bob-0', 'carol-1', 'eve-1', 'eve-2', 'too-long']);

    // The last receive: Bob's event is parked; the rest of m2 is not folded nor archived again.
    const last = await invoke(record('m2', [bob, carol, surrogateB], MAX_RECEIVES));
    expect(last.batchItemFailures).toEqual([]);

    const parked = await deadLetters.peek(10);
    const byEvent = new Map(
      parked.map((m) => [(JSON.parse(m.body) as { events: EnrichedEvent[] }).events.map((e) => e.messageId).join(','), m]),
    );
    expect([...byEvent.keys()].sort()).toEqual(['bob-1']);
    expect(byEvent.get('bob-1')!.reason).not.toMatch(/receive/);
    expect(byEvent.get('bob-1')!.reason).toMatch(/^Error: /);
    expect(byEvent.get('bob-1')!.receiveCount).toBe(MAX_RECEIVES);

    for (const [userId, count] of [
      ['alice', 1],
      ['carol', 1],
      ['dan', 1],
      ['eve\ufffd', 2],
    ] as const) {
      const profile = await stores.profiles.get((await ownerOf('userId', userId))!);
      expect(profile!.channels.web, userId).toBe(count);
    }
    expect(await archived()).toEqual(['alice-1', 'bob-0', 'carol-1', 'eve-1', 'eve-2', 'too-long']);
    expect((await stores.profiles.get((await ownerOf('userId', 'dan'))!))!.identifiers.crm_id).toBeUndefined();
  });
});

describe('processor: messages it cannot act on', () => {
  it('parks a message of an unknown kind or with a wrong field at once, naming the field; the events beside it are folded', async () => {
    const raw = (messageId: string, body: unknown): SQSRecord =>
      ({ messageId, body: JSON.stringify(body), attributes: { ApproximateReceiveCount: '1' } }) as unknown as SQSRecord;
    const before = new Set((await deadLetters.peek(10)).map((m) => m.body));
    const result = await invoke(
      raw('unknown', { v: 1, kind: 'rebuild-everything' }),
      raw('no-segment', { v: 1, kind: 'evaluate-segment', revision: 3 }),
      raw('bad-cursor', { v: 1, kind: 'replay', runId: 'r1', from: '2026-01-01', to: '2026-01-02', day: '2026-01-01', after: 42 }),
      raw('not-a-list', { v: 1, kind: 'events', events: 'alice' }),
      record('good', [anEvent({ userId: 'frank', messageId: 'frank-1' })], 1),
    );
    expect(result.batchItemFailures).toEqual([]);
    const parked = (await deadLetters.peek(10)).filter((m) => !before.has(m.body));
    const reasonOf = new Map(parked.map((m) => [(JSON.parse(m.body) as { kind: string }).kind, m.reason]));
    expect([...reasonOf.keys()].sort()).toEqual(['evaluate-segment', 'events', 'rebuild-everything', 'replay']);
    for (const reason of reasonOf.values()) expect(reason).toMatch(/^PoisonMessageError: not a message this processor knows/);
    expect(reasonOf.get('rebuild-everything')).toMatch(/kind: /);
    expect(reasonOf.get('evaluate-segment')).toMatch(/segmentId: /);
    expect(reasonOf.get('replay')).toMatch(/after: /);
    expect(reasonOf.get('events')).toMatch(/events: /);
    expect((await stores.profiles.get((await ownerOf('userId', 'frank'))!))!.channels.web).toBe(1);
  });

  it('parks alone, at once, what in an events message is not an event, and folds the events beside it', async () => {
    const before = new Set((await deadLetters.peek(10)).map((m) => m.body));
    const body = { v: 1, kind: 'events', events: [anEvent({ userId: 'gina', messageId: 'gina-1' }), 'gina', null, [1]] };
    const result = await invoke({
      messageId: 'strays',
      body: JSON.stringify(body),
      attributes: { ApproximateReceiveCount: '1' },
    } as unknown as SQSRecord);
    expect(result.batchItemFailures).toEqual([]);
    const parked = (await deadLetters.peek(10)).filter((m) => !before.has(m.body));
    expect(parked.map((m) => (JSON.parse(m.body) as { events: unknown[] }).events).sort()).toEqual([['gina'], [null], [[1]]].sort());
    for (const m of parked) expect(m.reason).toBe('PoisonMessageError: an event of the message is not a JSON object');
    expect((await stores.profiles.get((await ownerOf('userId', 'gina'))!))!.channels.web).toBe(1);
  });
});

describe('identity store', () => {
  it('finds the owner of keys that differ only by lone surrogates, which DynamoDB stores as one', async () => {
    await stores.identities.claim('userId:zoe\ud800', 'p-zoe', '2026-03-15T10:00:00.000Z');
    const owners = await stores.identities.owners(['userId:zoe\ud800', 'userId:zoe\udc00', 'userId:nobody']);
    expect([...owners]).toEqual([
      ['userId:zoe\ud800', 'p-zoe'],
      ['userId:zoe\udc00', 'p-zoe'],
    ]);
  });
});
