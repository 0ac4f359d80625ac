/**
 * The local event source mapping: receives batches from a DurableQueue, invokes
 * the processor with an SQS event, and deletes what the handler did not report
 * as failed (`reportBatchItemFailures`). Failed messages reappear after their
 * visibility timeout, as on AWS. And as on AWS, where the visibility timeout is set to outlast the
 * function's timeout, a batch is never delivered again while its invocation may still be running:
 * a short local timeout (fast retries in tests) then never turns a slow batch into duplicates.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { ProcessorHandler } from '#functions/processor/processor';
import type { DurableQueue, ReceivedMessage } from './durable-queue';
import { lambdaContext } from './lambda-context';

export interface PollerOptions {
  batchSize: number;
  /** Concurrent invocations, like Lambda's concurrent pollers. */
  concurrency: number;
  timeoutMs: number;
  /** Like the event source mapping's MaximumBatchingWindowInSeconds: wait this long for a fuller batch. */
  batchingWindowMs?: number;
  onError: (error: Error) => void;
}

export class QueuePoller {
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly sleepers = new Set<() => void>();
  private busy = 0;

  constructor(
    private readonly queue: DurableQueue,
    private readonly handler: ProcessorHandler,
    private readonly options: PollerOptions,
  ) {}

  start(): void {
    this.running = true;
    this.queue.onMessage(() => this.wakeAll());
    this.loops = Array.from({ length: this.options.concurrency }, () => this.loop());
  }

  /** True while a batch is being processed. */
  get active(): boolean {
    return this.busy > 0;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeAll();
    await Promise.all(this.loops);
  }

  private wakeAll(): void {
    for (const wake of [...this.sleepers]) wake();
  }

  /** What is visible now, topped up until the batch is full or the batching window has passed. */
  private async receiveBatch(): Promise<ReceivedMessage[]> {
    const window = this.options.batchingWindowMs ?? 0;
    // Hidden for the window too: the first messages wait in the batch while it fills.
    const hidden = window + this.queue.visibilityTimeoutMs;
    const messages = this.queue.receive(this.options.batchSize, hidden);
    if (messages.length === 0 || window === 0) return messages;
    const end = Date.now() + window;
    while (this.running && messages.length < this.options.batchSize && Date.now() < end) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.sleepers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(0, end - Date.now()));
        this.sleepers.add(wake);
      });
      messages.push(...this.queue.receive(this.options.batchSize - messages.length, hidden));
    }
    return messages;
  }

  /**
   * Keeps the batch invisible until the invocation ends or its timeout has passed, when Lambda would
   * have stopped it (locally nothing stops it: a batch past its timeout may come back while it runs).
   * Renewed at once and every third of the visibility timeout: the handler shares this event loop,
   * and a busy stretch of it may delay a renewal.
   */
  private hideWhileRunning(messages: readonly ReceivedMessage[]): () => void {
    const visibility = this.queue.visibilityTimeoutMs;
    const deadline = Date.now() + this.options.timeoutMs;
    const renew = () => {
      if (Date.now() >= deadline) {
        clearInterval(timer);
        return;
      }
      for (const message of messages) this.queue.changeVisibility(message.receiptHandle, visibility);
    };
    const timer = setInterval(renew, Math.max(20, visibility / 3));
    renew();
    return () => clearInterval(timer);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const messages = await this.receiveBatch();
      if (messages.length === 0) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            this.sleepers.delete(wake);
            resolve();
          };
          // Also polls, so messages whose visibility timeout expired are picked up again.
          const timer = setTimeout(wake, 250);
          this.sleepers.add(wake);
        });
        continue;
      }
      this.busy++;
      const release = this.hideWhileRunning(messages);
      try {
        const response: SQSBatchResponse = await this.handler(
          { Records: messages.map((m) => toRecord(this.queue.name, m)) } satisfies SQSEvent,
          lambdaContext('prisme-processor', this.options.timeoutMs),
        );
        const failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        for (const message of messages) if (!failed.has(message.id)) this.queue.delete(message.receiptHandle);
      } catch (error) {
        // A crashed invocation fails the whole batch: every message comes back after its visibility timeout.
        this.options.onError(error as Error);
      } finally {
        release();
        this.busy--;
      }
    }
  }
}

function toRecord(queueName: string, message: ReceivedMessage): SQSRecord {
  return {
    messageId: message.id,
    receiptHandle: message.receiptHandle,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentAt),
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.attributes).map(([k, v]) => [k, { dataType: v.DataType, stringValue: v.StringValue }]),
    ),
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:local:000000000000:${queueName}`,
    awsRegion: 'local',
  };
}
