import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** A message parked in the dead-letter queue, and why. */
export interface DeadLetter {
  messageId: string;
  receiptHandle: string;
  body: string;
  reason: string;
  receiveCount: number | null;
  sentAt: string | null;
}

const toDeadLetter = (m: Message): DeadLetter => ({
  messageId: m.MessageId!,
  receiptHandle: m.ReceiptHandle!,
  body: m.Body ?? '',
  reason: m.MessageAttributes?.reason?.StringValue ?? 'no reason recorded',
  receiveCount: m.MessageAttributes?.receiveCount?.StringValue ? Number(m.MessageAttributes.receiveCount.StringValue) : null,
  sentAt: m.Attributes?.SentTimestamp ? new Date(Number(m.Attributes.SentTimestamp)).toISOString() : null,
});

/** The operator's side of the dead-letter queue: look at what is parked, send it back once fixed. */
export class DeadLetters {
  constructor(
    private readonly client: SQSClient,
    private readonly deadLetterQueueUrl: string,
    private readonly eventsQueueUrl: string,
  ) {}

  /** Up to `limit` messages, left in the queue (made visible again at once). */
  async peek(limit: number): Promise<DeadLetter[]> {
    const seen = await this.receive(limit, 30);
    for (const message of seen) {
      await this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.deadLetterQueueUrl,
          ReceiptHandle: message.receiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    }
    return seen;
  }

  /**
   * Moves up to `limit` messages back to the events queue: each is sent there first, then deleted
   * here, so a crash in between duplicates a message (which the processor recognises) but never loses one.
   */
  async redrive(limit: number, onMessage: (message: DeadLetter) => void = () => undefined): Promise<number> {
    // Only what was parked before this started: a message that fails again comes back newer, and stays.
    const startedAt = Date.now();
    let moved = 0;
    while (moved < limit) {
      const batch = await this.receive(Math.min(10, limit - moved), 60);
      const older = batch.filter((m) => m.sentAt === null || Date.parse(m.sentAt) <= startedAt);
      for (const message of batch.filter((m) => !older.includes(m))) {
        await this.client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: this.deadLetterQueueUrl,
            ReceiptHandle: message.receiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      }
      if (older.length === 0) break;
      for (const message of older) {
        await this.client.send(new SendMessageCommand({ QueueUrl: this.eventsQueueUrl, MessageBody: message.body }));
        await this.client.send(new DeleteMessageCommand({ QueueUrl: this.deadLetterQueueUrl, ReceiptHandle: message.receiptHandle }));
        onMessage(message);
        moved++;
      }
    }
    return moved;
  }

  private async receive(limit: number, visibilityTimeout: number): Promise<DeadLetter[]> {
    const found: DeadLetter[] = [];
    while (found.length < limit) {
      const { Messages } = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.deadLetterQueueUrl,
          MaxNumberOfMessages: Math.min(10, limit - found.length),
          VisibilityTimeout: visibilityTimeout,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['SentTimestamp'],
        }),
      );
      if (!Messages || Messages.length === 0) break;
      found.push(...Messages.map(toDeadLetter));
    }
    return found;
  }
}

/** What a parked message holds, without personal data: its kind, how many events, their ids and types. */
export function describeBody(body: string): string {
  try {
    const message = JSON.parse(body) as { kind?: string; events?: Array<{ messageId?: string; type?: string; event?: string }> };
    if (message.kind === 'events' && Array.isArray(message.events)) {
      const sample = message.events.slice(0, 3).map((e) => `${e.type ?? '?'}${e.event ? ` "${e.event}"` : ''} ${e.messageId ?? ''}`.trim());
      return `${message.events.length} event(s): ${sample.join(', ')}${message.events.length > 3 ? ', ...' : ''}`;
    }
    return `kind ${JSON.stringify(message.kind)}`;
  } catch {
    return `not JSON (${Buffer.byteLength(body)} bytes)`;
  }
}
