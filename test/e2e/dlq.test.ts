/** The dead-letter queue from the operator's side: `npm run prisme -- dlq inspect | redrive` against a running Prisme. */

import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '#local/runtime';
import { adminClient, startTestRuntime } from '../helpers/local';

let runtime: LocalRuntime;
const cli = (...args: string[]) =>
  promisify(execFile)('npx', ['tsx', 'cli/prisme.ts', 'dlq', ...args, '--data-dir', runtime.dataDir], {
    cwd: resolve(import.meta.dirname, '../..'),
  }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout + error.stderr }),
  );

beforeAll(async () => {
  runtime = await startTestRuntime();
}, 120_000);
afterAll(async () => {
  await runtime?.stop();
});

describe('prisme dlq', () => {
  it('shows what is parked and why, then sends it back once the cause is fixed', async () => {
    expect((await cli('inspect')).stdout).toContain('The dead-letter queue is empty.');
    const sqs = new SQSClient({
      endpoint: runtime.endpoints.sqs,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const url = async (name: string) => (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;
    // A poison message, parked by the processor; and a good batch parked after a (since fixed) outage.
    await sqs.send(new SendMessageCommand({ QueueUrl: await url(runtime.queues.events.name), MessageBody: 'not json at all' }));
    await runtime.drain();
    const good = {
      v: 1,
      kind: 'events',
      events: [
        {
          messageId: 'm-parked-1',
          type: 'track',
          event: 'Order Completed',
          userId: 'parked-paul',
          properties: {},
          traits: {},
          context: {},
          timestamp: new Date().toISOString(),
          receivedAt: new Date().toISOString(),
          channel: 'store',
          sourceId: 'local',
        },
      ],
    };
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: await url(runtime.queues.deadLetter.name),
        MessageBody: JSON.stringify(good),
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: 'ProvisionedThroughputExceededException: (injected)' },
          receiveCount: { DataType: 'Number', StringValue: '5' },
        },
      }),
    );

    // The admin API (and the console's Jobs page) sees how many wait.
    expect((await adminClient(runtime).get('/v1/jobs/dlq')).body).toEqual({ messages: 2 });

    const listed = await cli('inspect', '--json');
    expect(listed.code).toBe(0);
    const parked = JSON.parse(listed.stdout) as Array<{ reason: string; body: string }>;
    expect(parked.map((m) => m.reason).sort()).toEqual([
      'PoisonMessageError: message body is not JSON',
      'ProvisionedThroughputExceededException: (injected)',
    ]);
    const text = (await cli('inspect')).stdout;
    expect(text).toContain('2 message(s) in the dead-letter queue');
    expect(text).toContain('holds:  1 event(s): track "Order Completed" m-parked-1');
    expect(text).not.toContain('parked-paul'); // no personal data on the operator's screen

    const redriven = await cli('redrive');
    expect(redriven).toMatchObject({ code: 0, stdout: expect.stringContaining('Sent 2 message(s) back to the events queue.') });
    await runtime.drain();
    // The good batch is now in a profile; the poison message failed again and is back, with its reason.
    const paul = await adminClient(runtime).get('/v1/profiles?userId=parked-paul');
    expect(paul.body.channels).toEqual({ store: 1 });
    const again = JSON.parse((await cli('inspect', '--json')).stdout) as Array<{ reason: string }>;
    expect(again.map((m) => m.reason)).toEqual(['PoisonMessageError: message body is not JSON']);
  });

  it('says when no Prisme runs there', async () => {
    const result = await promisify(execFile)('npx', ['tsx', 'cli/prisme.ts', 'dlq', 'inspect', '--data-dir', '/nonexistent'], {
      cwd: resolve(import.meta.dirname, '../..'),
      env: { ...process.env, EVENTS_QUEUE_URL: '', DEAD_LETTER_QUEUE_URL: '' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(result).toMatchObject({ code: 1, stderr: expect.stringContaining('no running Prisme in /nonexistent (no runtime.json)') });
  });
});
