/** The local runtime's usage meter: what the handlers asked of AWS, as the cost bench prices it. */
import { Analytics } from '@segment/analytics-node';
import { describe, expect, it } from 'vitest';
import { costPerMillionEvents } from '#bench/cost-model';
import type { Usage } from '#local/usage-meter';
import { UsageMeter } from '#local/usage-meter';
import { adminClient, eventually, useTestRuntime } from '../helpers/local';

// The local default visibility timeout, not the helper's 1 s: a processor invocation slowed past a second on a
// busy machine would be delivered again, and every count below would double.
const local = useTestRuntime({ usageMeter: new UsageMeter(), visibilityTimeoutMs: 30_000 });

describe('usage meter', () => {
  it('counts invocations, DynamoDB units, SQS chunks, S3 and EventBridge requests, and starts afresh', async () => {
    const runtime = local();
    const admin = adminClient(runtime);
    expect(
      (await admin.put('/v1/segments/metered', { name: 'metered', condition: { type: 'event', event: 'Order Completed' } })).status,
    ).toBe(201);
    // Saving a segment queues its evaluation of the stored profiles, delayed past the catalog cache: let it
    // run first, or it would land in the metered window at a moment that depends on the machine's speed.
    await eventually(
      async () => (await admin.get('/v1/segments/metered')).body,
      (segment) => segment.status === 'ready',
    );
    await runtime.drain();
    const usageUrl = `${runtime.url}/local/usage`;
    await fetch(usageUrl, { method: 'DELETE' });

    const analytics = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 20 });
    for (let i = 0; i < 20; i++) analytics.track({ userId: `meter-${i % 4}`, event: 'Order Completed', properties: { revenue: i } });
    await analytics.closeAndFlush();
    await runtime.drain();

    const usage = (await (await fetch(usageUrl)).json()) as Usage;
    // One request of 20 events (flushAt 20), one ingest invocation, one SendMessageBatch of one message
    // (the 20 events packed together, far under 64 KB), taken by one processor invocation, which the
    // event source mapping pays one receive and one delete for.
    expect(usage.http).toEqual({ ingest: 1 });
    expect(usage.functions).toEqual({
      ingest: { invocations: 1, billedMs: expect.any(Number) },
      processor: { invocations: 1, billedMs: expect.any(Number) },
    });
    // Durations are wall-clock time: only known to be some.
    expect(usage.functions.ingest!.billedMs).toBeGreaterThan(0);
    expect(usage.functions.processor!.billedMs).toBeGreaterThan(0);
    expect(usage.sqs).toEqual({ sendRequests: 1, sendChunks: 1 });
    expect(usage.sqsPolling).toEqual({ requests: 2 });
    // Four new people (meter-0..3, five orders each), each entering two segments (metered, and the
    // lifecycle stage "customer"): one Membership Changed entry per person, each under 64 KB.
    expect(usage.eventbridge).toEqual({ entries: 4, chunks: 4 });
    // Items are under 1 KB: a write is one unit, a strongly consistent read one, an eventual read a half.
    expect(usage.dynamodb).toEqual({
      // Reads: the write key at ingest (one eventual GetItem) and the processor's catalog (two consistent
      // Queries, one of them empty); writes: the day's entry counters of the two segments, "Order
      // Completed" seen for the first time (what the processor has seen, for autocomplete), and a size
      // counter update per membership entered (8), written as the membership is, not buffered.
      'prisme-catalog': { readUnits: 1.5, writeUnits: 11, indexWrites: 0 },
      // Reads, one BatchGetItem each: the owners of the 4 userIds (consistent), their erasure tombstones and
      // the profiles' archive keys (eventual); writes, per person: the profile's holdings, the userId claimed
      // and the archive key made.
      'prisme-identities': { readUnits: 8, writeUnits: 12, indexWrites: 0 },
      // Each new profile looked for (a consistent GetItem), then written once (its 5 events folded together).
      'prisme-profiles': { readUnits: 4, writeUnits: 4, indexWrites: 0 },
      // 4 people x 2 segments entered; nothing to read for new people.
      'prisme-memberships': { readUnits: 0, writeUnits: 8, indexWrites: 0 },
    });
    expect(usage.calls).toEqual({
      'DynamoDB.GetItem': 5, // the write key + the 4 profiles
      'DynamoDB.BatchGetItem': 3, // owners, tombstones, archive keys
      'DynamoDB.Query': 2, // the catalog
      'DynamoDB.PutItem': 24, // 12 identities + 4 profiles + 8 memberships
      'DynamoDB.UpdateItem': 11, // the daily entry counters of the two segments, coalesced over the batch, the name seen, and 8 size counter updates
      'SQS.SendMessageBatch': 1,
      'EventBridge.PutEvents': 4,
      'S3.PutObject': 1, // the raw event archive, one object for the batch
    });
    expect(usage.s3).toEqual({ tier1: 1, tier2: 0, bytesPut: expect.any(Number) });
    // The archive holds the 20 events, each sealed (AES-GCM with a random IV) so gzip cannot shrink it
    // the same way twice: its size moves by some bytes from run to run. About 300 bytes an event.
    expect(usage.s3.bytesPut).toBeGreaterThan(20 * 200);
    expect(usage.s3.bytesPut).toBeLessThan(20 * 500);

    const cost = costPerMillionEvents(usage, 20, 0);
    expect(cost.dollarsPerMillion).toBeGreaterThan(0);
    expect(cost.lines.find((l) => l.item.startsWith('API Gateway'))!.perEvent).toBeCloseTo(1 / 20);

    const reset = (await (await fetch(usageUrl, { method: 'DELETE' })).json()) as Usage;
    expect(reset.http).toEqual({});
    expect(reset.functions).toEqual({});
  });
});
