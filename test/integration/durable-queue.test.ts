/** The local queue's SQS semantics, on a real file system. */
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DurableQueue } from '#local/durable-queue';
import { type PollerOptions, QueuePoller } from '#local/poller';

const dir = () => mkdtempSync(join(tmpdir(), 'prisme-queue-'));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A poller as the tests drive it: batches of 10, two at once, a failure of the poller itself fails the test. */
const pollerOf = (queue: DurableQueue, handler: ConstructorParameters<typeof QueuePoller>[1], options: Partial<PollerOptions> = {}) =>
  new QueuePoller(queue, handler, {
    batchSize: 10,
    concurrency: 2,
    timeoutMs: 5000,
    onError: (error) => {
      throw error;
    },
    ...options,
  });

describe('DurableQueue', () => {
  it('delivers each message, hides it while in flight, and redelivers it after the visibility timeout', async () => {
    const queue = await DurableQueue.open('q', join(dir(), 'q.journal'), { visibilityTimeoutMs: 100 });
    await queue.send([{ body: 'a' }, { body: 'b' }]);
    const first = queue.receive(10);
    expect(first.map((m) => m.body)).toEqual(['a', 'b']);
    expect(queue.receive(10)).toEqual([]);
    queue.delete(first[0]!.receiptHandle);
    await sleep(150);
    const again = queue.receive(10);
    expect(again.map((m) => [m.body, m.receiveCount])).toEqual([['b', 2]]);
    expect(queue.delete(first[1]!.receiptHandle)).toBe(false); // a stale receipt handle deletes nothing
    await queue.close();
  });

  it('holds a delayed message back until its delay has passed (SQS DelaySeconds)', async () => {
    const queue = await DurableQueue.open('q', join(dir(), 'q.journal'), { visibilityTimeoutMs: 1000 });
    await queue.send([{ body: 'later', delayMs: 80 }, { body: 'now' }]);
    expect(queue.receive(10).map((m) => m.body)).toEqual(['now']);
    await sleep(100);
    expect(queue.receive(10).map((m) => m.body)).toEqual(['later']);
    await queue.close();
  });

  it('keeps every acknowledged, undeleted message across a restart, with its receive count', async () => {
    const file = join(dir(), 'q.journal');
    const queue = await DurableQueue.open('q', file, { visibilityTimeoutMs: 60_000 });
    await queue.send([{ body: 'kept' }, { body: 'done' }, { body: 'in flight' }]);
    const [kept, done, inFlight] = queue.receive(3);
    queue.delete(done!.receiptHandle);
    void kept;
    void inFlight;
    await queue.close();
    appendFileSync(file, '{"s":{"id":"torn'); // a write cut short by a crash

    const reopened = await DurableQueue.open('q', file, { visibilityTimeoutMs: 60_000 });
    expect(reopened.receive(10).map((m) => [m.body, m.receiveCount])).toEqual([
      ['kept', 2],
      ['in flight', 2],
    ]);
    await reopened.close();
  });

  it('moves a message to the dead-letter queue after too many receives, saying why', async () => {
    const folder = dir();
    const dlq = await DurableQueue.open('dlq', join(folder, 'dlq.journal'), { visibilityTimeoutMs: 1000 });
    const queue = await DurableQueue.open('q', join(folder, 'q.journal'), { visibilityTimeoutMs: 1, maxReceiveCount: 2, deadLetter: dlq });
    await queue.send([{ body: 'poison' }]);
    for (let i = 0; i < 2; i++) {
      expect(queue.receive(1)).toHaveLength(1);
      await sleep(5);
    }
    expect(queue.receive(1)).toEqual([]);
    await sleep(20);
    const [parked] = dlq.receive(1);
    expect(parked!.body).toBe('poison');
    expect(parked!.attributes.reason!.StringValue).toBe('exceeded 2 receives');
    expect(queue.stats().messages).toBe(0);
    await queue.close();
    await dlq.close();
  });

  it('compacts its journal and still replays to the same state', async () => {
    const file = join(dir(), 'q.journal');
    const queue = await DurableQueue.open('q', file, { visibilityTimeoutMs: 60_000 });
    await queue.send(Array.from({ length: 25_000 }, (_, i) => ({ body: `m${i}` })));
    for (const m of queue.receive(24_990)) queue.delete(m.receiptHandle);
    await queue.send([{ body: 'last' }]);
    await queue.close();
    const reopened = await DurableQueue.open('q', file, { visibilityTimeoutMs: 60_000 });
    expect(reopened.stats().messages).toBe(11);
    expect(
      reopened
        .receive(20)
        .map((m) => m.body)
        .at(-1),
    ).toBe('last');
    await reopened.close();
  });

  it('never delivers a batch again while its invocation may still run, and retries a failure after the visibility timeout', async () => {
    const queue = await DurableQueue.open('q', join(dir(), 'q.journal'), { visibilityTimeoutMs: 100 });
    const deliveries: Array<[string, number]> = [];
    const poller = pollerOf(queue, async (event) => {
      for (const r of event.Records) deliveries.push([r.body, Number(r.attributes.ApproximateReceiveCount)]);
      // Slower than three visibility timeouts: on AWS the timeout outlasts the function's, so no one else gets the batch.
      if (event.Records.some((r) => r.body === 'slow')) await sleep(350);
      return {
        batchItemFailures: event.Records.filter((r) => r.body === 'fails once' && r.attributes.ApproximateReceiveCount === '1').map(
          (r) => ({ itemIdentifier: r.messageId }),
        ),
      };
    });
    poller.start();
    await queue.send([{ body: 'slow' }, { body: 'fails once' }]);
    await sleep(900);
    await poller.stop();
    expect(deliveries).toEqual([
      ['slow', 1],
      ['fails once', 1],
      ['fails once', 2],
    ]);
    expect(queue.stats()).toEqual({ messages: 0, inFlight: 0 });
    await queue.close();
  });

  it('keeps the first messages of a batch hidden while its batching window fills, longer than the visibility timeout', async () => {
    const queue = await DurableQueue.open('q', join(dir(), 'q.journal'), { visibilityTimeoutMs: 100 });
    const deliveries: Array<[string, number]> = [];
    const poller = pollerOf(
      queue,
      async (event) => {
        for (const r of event.Records) deliveries.push([r.body, Number(r.attributes.ApproximateReceiveCount)]);
        await sleep(150);
        return { batchItemFailures: [] };
      },
      { batchingWindowMs: 400 },
    );
    poller.start();
    await queue.send([{ body: 'early' }]);
    await sleep(250); // past the visibility timeout, inside the window
    await queue.send([{ body: 'late' }]);
    await sleep(900);
    await poller.stop();
    expect(deliveries).toEqual([
      ['early', 1],
      ['late', 1],
    ]);
    expect(queue.stats()).toEqual({ messages: 0, inFlight: 0 });
    await queue.close();
  });

  it('lets a batch whose invocation outlived its timeout be delivered again, as Lambda does after a timeout', async () => {
    const queue = await DurableQueue.open('q', join(dir(), 'q.journal'), { visibilityTimeoutMs: 100 });
    const deliveries: number[] = [];
    const poller = pollerOf(
      queue,
      async (event) => {
        deliveries.push(Number(event.Records[0]!.attributes.ApproximateReceiveCount));
        if (deliveries.length === 1) await sleep(600); // hangs past its 200 ms timeout
        return { batchItemFailures: [] };
      },
      { timeoutMs: 200 },
    );
    poller.start();
    await queue.send([{ body: 'hangs' }]);
    await sleep(800);
    await poller.stop();
    expect(deliveries).toEqual([1, 2]);
    await queue.close();
  });

  it('waits up to its batching window for a fuller batch, like the event source mapping', async () => {
    const run = async (batchingWindowMs: number) => {
      const queue = await DurableQueue.open('q', join(dir(), 'q.journal'), { visibilityTimeoutMs: 5000 });
      const batches: string[][] = [];
      const poller = pollerOf(
        queue,
        async (event) => {
          batches.push(event.Records.map((r) => r.body));
          return { batchItemFailures: [] };
        },
        { batchSize: 3, concurrency: 1, timeoutMs: 1000, batchingWindowMs },
      );
      poller.start();
      await queue.send([{ body: 'a' }]);
      await sleep(30);
      await queue.send([{ body: 'b' }]);
      await sleep(30);
      await queue.send([{ body: 'c' }, { body: 'd' }]);
      await sleep(batchingWindowMs + 300);
      await poller.stop();
      await queue.close();
      return batches;
    };
    // Full at three: a, b and c together, then d alone once the window has passed.
    expect(await run(500)).toEqual([['a', 'b', 'c'], ['d']]);
    expect((await run(0))[0]).toEqual(['a']);
  });
});
