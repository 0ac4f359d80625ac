/** The local runtime's usage meter: what the handlers asked of AWS, as the cost bench prices it. */
import { Analytics } from '@segment/analytics-node';
import { describe, expect, it } from 'vitest';
import { costPerMillionEvents } from '../../bench/cost-model';
import type { Usage } from '../../local/usage-meter';
import { UsageMeter } from '../../local/usage-meter';
import { adminClient, useTestRuntime } from '../helpers/local';

const local = useTestRuntime({ usageMeter: new UsageMeter() });

describe('usage meter', () => {
  it('counts invocations, DynamoDB units, SQS chunks, S3 and EventBridge requests, and starts afresh', async () => {
    const runtime = local();
    const admin = adminClient(runtime);
    expect((await admin.put('/v1/segments/metered', { name: 'metered', condition: { type: 'event', event: 'Order Completed' } })).status).toBe(201);
    const usageUrl = `${runtime.url}/local/usage`;
    await fetch(usageUrl, { method: 'DELETE' });

    const analytics = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 20 });
    for (let i = 0; i < 20; i++) analytics.track({ userId: `meter-${i % 4}`, event: 'Order Completed', properties: { revenue: i } });
    await analytics.closeAndFlush();
    await runtime.drain();

    const usage = (await (await fetch(usageUrl)).json()) as Usage;
    expect(usage.http).toEqual({ ingest: 1 });
    expect(usage.functions.ingest).toMatchObject({ invocations: 1 });
    expect(usage.functions.processor!.invocations).toBeGreaterThanOrEqual(1);
    expect(usage.functions.processor!.billedMs).toBeGreaterThan(0);
    expect(usage.sqs).toEqual({ sendRequests: 1, sendChunks: 1 });
    // Four new people: their identifiers claimed, their profiles written, each entering the segment.
    expect(usage.dynamodb['prisme-identities']!.writeUnits).toBeGreaterThanOrEqual(4);
    expect(usage.dynamodb['prisme-profiles']!.writeUnits).toBeGreaterThanOrEqual(4);
    expect(usage.dynamodb['prisme-memberships']!.writeUnits).toBeGreaterThanOrEqual(4);
    expect(usage.eventbridge.entries).toBeGreaterThanOrEqual(4);
    expect(usage.s3.tier1).toBeGreaterThanOrEqual(1); // the raw event archive
    expect(usage.calls['DynamoDB.PutItem']).toBeGreaterThan(0);

    const cost = costPerMillionEvents(usage, 20, 0);
    expect(cost.dollarsPerMillion).toBeGreaterThan(0);
    expect(cost.lines.find((l) => l.item.startsWith('API Gateway'))!.perEvent).toBeCloseTo(1 / 20);

    const reset = (await (await fetch(usageUrl, { method: 'DELETE' })).json()) as Usage;
    expect(reset.http).toEqual({});
    expect(reset.functions).toEqual({});
  });
});
