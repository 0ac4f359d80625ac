import { GetQueueAttributesCommand, SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { QueueMessage } from '../../contracts/queue-messages';
import { PrismeError } from '../../domain/errors';
import type { EnrichedEvent } from '../../domain/events';
import type { EventQueue } from '../../ports/event-queue';

export class QueueSendError extends PrismeError {}

/** Packs events greedily into messages under `maxBytes` (order kept). */
export function packEvents(events: readonly EnrichedEvent[], maxBytes: number): string[] {
  const bodies: string[] = [];
  let current: string[] = [];
  let size = 0;
  const overhead = '{"v":1,"kind":"events","events":[]}'.length;
  const flush = () => {
    if (current.length === 0) return;
    bodies.push(`{"v":1,"kind":"events","events":[${current.join(',')}]}`);
    current = [];
    size = 0;
  };
  for (const event of events) {
    const json = JSON.stringify(event);
    const bytes = Buffer.byteLength(json) + 1;
    if (size + bytes + overhead > maxBytes) flush();
    current.push(json);
    size += bytes;
  }
  flush();
  return bodies;
}

export class SqsEventQueue implements EventQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly deadLetterQueueUrl: string,
    private readonly maxMessageBytes: number,
  ) {}

  async sendEvents(events: readonly EnrichedEvent[]): Promise<void> {
    const bodies = packEvents(events, this.maxMessageBytes);
    const calls: Promise<void>[] = [];
    // SendMessageBatch takes 10 entries and 256 KB in all, whichever comes first.
    let entries: string[] = [];
    let bytes = 0;
    for (const body of bodies) {
      const size = Buffer.byteLength(body);
      if (entries.length === 10 || bytes + size > this.maxMessageBytes) {
        calls.push(this.sendBatch(entries));
        entries = [];
        bytes = 0;
      }
      entries.push(body);
      bytes += size;
    }
    if (entries.length > 0) calls.push(this.sendBatch(entries));
    await Promise.all(calls);
  }

  async send(message: QueueMessage, delaySeconds?: number): Promise<void> {
    await this.client.send(
      new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(message), DelaySeconds: delaySeconds }),
    );
  }

  async parked(): Promise<number> {
    const { Attributes } = await this.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.deadLetterQueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  }

  async deadLetter(body: string, reason: string, receiveCount: number): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.deadLetterQueueUrl,
        MessageBody: body,
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: reason.slice(0, 1000) },
          receiveCount: { DataType: 'Number', StringValue: String(receiveCount) },
        },
      }),
    );
  }

  private async sendBatch(bodies: string[], attempt = 0): Promise<void> {
    const { Failed } = await this.client.send(
      new SendMessageBatchCommand({
        QueueUrl: this.queueUrl,
        Entries: bodies.map((MessageBody, i) => ({ Id: String(i), MessageBody })),
      }),
    );
    if (!Failed || Failed.length === 0) return;
    const retriable = Failed.filter((f) => !f.SenderFault).map((f) => bodies[Number(f.Id)]!);
    if (retriable.length < Failed.length || attempt >= 3) {
      throw new QueueSendError(`SQS refused ${Failed.length} message(s): ${Failed[0]?.Code} ${Failed[0]?.Message ?? ''}`);
    }
    await this.sendBatch(retriable, attempt + 1);
  }
}
