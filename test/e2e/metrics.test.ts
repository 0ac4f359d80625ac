/**
 * Operations on the local runtime: what an operator would be alarmed about on AWS shows in the same
 * metrics here (`<data dir>/metrics.jsonl`, EMF documents as CloudWatch reads them): events accepted,
 * rejected and processed with their lag, membership changes, a poison message parked, a snapshot
 * held, a freeze that ran, the time sweep; and `npm run prisme -- stats` sums them.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MetricLine, summariseMetrics } from '#local/metrics-summary';
import type { LocalRuntime } from '#local/runtime';
import { adminClient, eventually, startTestRuntime } from '../helpers/local';

let runtime: LocalRuntime;
beforeAll(async () => {
  runtime = await startTestRuntime();
}, 120_000);
afterAll(async () => {
  await runtime?.stop();
});

const metricsFile = () => join(runtime.dataDir, 'metrics.jsonl');
const find = (lines: readonly MetricLine[], metric: string, dimensions: string) =>
  lines.find((l) => l.metric === metric && l.dimensions === dimensions);
const sumOf = (lines: readonly MetricLine[], metric: string, dimensions: string) => find(lines, metric, dimensions)?.sum ?? 0;

describe('metrics of the local runtime', () => {
  it('count what came in, what was done with it and what went wrong, as CloudWatch would', async () => {
    const admin = adminClient(runtime);
    expect(
      (await admin.put('/v1/segments/buyers', { name: 'Buyers', condition: { type: 'event', event: 'Order Completed' } })).status,
    ).toBe(201);
    await eventually(
      async () => (await admin.get('/v1/segments/buyers')).body.status,
      (status) => status === 'ready',
    );
    const sourceId = (await admin.get('/v1/sources')).body.sources[0].sourceId as string;

    // Accepted through the official library: 6 orders by 3 people.
    const analytics = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 6 });
    for (const userId of ['mia', 'noa', 'oli']) {
      for (const revenue of [10, 20]) analytics.track({ userId, event: 'Order Completed', properties: { revenue } });
    }
    await analytics.closeAndFlush();
    // One invalid event beside a valid one, and a request without a write key.
    const post = (body: unknown, authorised = true) =>
      fetch(`${runtime.url}/v1/batch`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(authorised && { authorization: `Basic ${Buffer.from(`${runtime.writeKey}:`).toString('base64')}` }),
        },
        body: JSON.stringify(body),
      });
    expect(
      (
        await post({
          batch: [
            { type: 'track', userId: 'pia', event: 'Page Viewed' },
            { type: 'track', userId: 'pia' },
          ],
        })
      ).status,
    ).toBe(400);
    expect((await post({ batch: [{ type: 'track', userId: 'pia', event: 'Page Viewed' }] }, false)).status).toBe(401);

    // A poison message straight into the queue.
    const sqs = new SQSClient({
      endpoint: runtime.endpoints.sqs,
      region: 'us-east-1',
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    const queueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: runtime.queues.events.name }))).QueueUrl!;
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'not json at all' }));
    await runtime.drain();

    // A snapshot held by governance (3 members, under the default minimum of 50), and a freeze.
    expect((await admin.put('/v1/audiences/buyers-email', { name: 'Buyers', segmentId: 'buyers', fields: ['email'] })).status).toBe(201);
    expect((await admin.post('/v1/audiences/buyers-email/approve', {})).status).toBe(200);
    const { runId } = (await admin.post('/v1/audiences/buyers-email/snapshots', {})).body;
    await eventually(
      async () => (await admin.get(`/v1/audiences/buyers-email/snapshots/${runId}`)).body.status,
      (s) => s === 'held',
    );
    const freeze = (await admin.post('/v1/jobs/freeze', {})).body.runId as string;
    await eventually(
      async () => (await admin.get(`/v1/jobs/freeze/runs/${freeze}`)).body.status,
      (s) => s === 'succeeded',
      60_000,
    );
    await runtime.drain();

    const lines = await summariseMetrics(metricsFile());
    expect(sumOf(lines, 'EventsAccepted', `service=ingest source=${sourceId}`)).toBe(7);
    expect(sumOf(lines, 'EventsRejected', 'service=ingest reason=invalid')).toBe(1);
    expect(sumOf(lines, 'RequestsRefused', 'service=ingest code=unauthorized')).toBe(1);
    expect(sumOf(lines, 'EventsProcessed', 'service=processor')).toBe(7);
    const lag = find(lines, 'ProcessingLag', 'service=processor')!;
    expect(lag.samples).toBeGreaterThanOrEqual(2); // a message per request: the library's batch and the batch of one
    expect(lag.max).toBeLessThan(60_000);
    // Three people entered Buyers, and the lifecycle stage of customers (stages are segments too).
    expect(sumOf(lines, 'MembershipChanges', 'service=processor')).toBe(6);
    expect(sumOf(lines, 'Parked', 'service=processor reason=PoisonMessageError')).toBe(1);
    expect(sumOf(lines, 'SnapshotRuns', 'service=snapshot status=held')).toBe(1);
    expect(sumOf(lines, 'SnapshotRuns', 'service=snapshot status=published')).toBe(0);
    expect(sumOf(lines, 'FreezeRuns', 'service=freeze status=succeeded')).toBe(1);
    expect(sumOf(lines, 'FreezeProfiles', 'service=freeze')).toBe(4);
    expect(find(lines, 'FreezeDuration', 'service=freeze')!.samples).toBe(1);

    // Each line is an EMF document CloudWatch would turn into metrics.
    for (const line of readFileSync(metricsFile(), 'utf8').trim().split('\n')) {
      const document = JSON.parse(line) as { _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][] }> } };
      expect(document._aws.CloudWatchMetrics[0]!.Namespace).toBe('Prisme');
      for (const name of document._aws.CloudWatchMetrics[0]!.Dimensions[0]!)
        expect(typeof (document as Record<string, unknown>)[name]).toBe('string');
    }

    // The operator's summary.
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'cli/prisme.ts', 'stats', '--data-dir', runtime.dataDir], {
      cwd: resolve(import.meta.dirname, '../..'),
    });
    expect(stdout).toMatch(new RegExp(`EventsAccepted\\s+service=ingest source=${sourceId}\\s+7`));
    expect(stdout).toMatch(/Parked\s+service=processor reason=PoisonMessageError\s+1/);
    expect(stdout).toMatch(/ProcessingLag\s+service=processor\s+\d+ samples\s+p50 \d+ p95 \d+ max \d+ ms/);
  }, 120_000);
});
