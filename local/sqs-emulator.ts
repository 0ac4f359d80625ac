/**
 * Just enough of the SQS JSON protocol for Prisme's own code and the AWS CLI
 * habits of an operator: the handlers use the real @aws-sdk/client-sqs, pointed
 * here by AWS_ENDPOINT_URL_SQS, and the messages land in DurableQueues.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DurableQueue, MessageAttribute } from './durable-queue';

const ACCOUNT = '000000000000';
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

interface SendEntry {
  Id?: string;
  MessageBody: string;
  DelaySeconds?: number;
  MessageAttributes?: Record<string, MessageAttribute>;
}

export class SqsEmulator {
  private server?: Server;
  private baseUrl = '';

  constructor(private readonly queues: ReadonlyMap<string, DurableQueue>) {}

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  queueUrl(name: string): string {
    return `${this.baseUrl}/${ACCOUNT}/${name}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(body));
    };
    const fault = (type: string, message: string, status = 400) => reply(status, { __type: `com.amazonaws.sqs#${type}`, message });

    const operation = String(req.headers['x-amz-target'] ?? '').replace('AmazonSQS.', '');
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
    } catch {
      return fault('InvalidParameterValue', 'body is not JSON');
    }
    if (operation === 'GetQueueUrl') {
      const name = String(input.QueueName);
      return this.queues.has(name) ? reply(200, { QueueUrl: this.queueUrl(name) }) : fault('QueueDoesNotExist', `no queue ${name}`);
    }
    if (operation === 'ListQueues') return reply(200, { QueueUrls: [...this.queues.keys()].map((n) => this.queueUrl(n)) });

    const name =
      String(input.QueueUrl ?? '')
        .split('/')
        .pop() ?? '';
    const queue = this.queues.get(name);
    if (!queue) return fault('QueueDoesNotExist', `The specified queue does not exist: ${String(input.QueueUrl)}`);

    try {
      switch (operation) {
        case 'SendMessage': {
          const entry = input as unknown as SendEntry;
          const [id] = await queue.send([
            { body: entry.MessageBody, attributes: entry.MessageAttributes, delayMs: (entry.DelaySeconds ?? 0) * 1000 },
          ]);
          return reply(200, { MessageId: id, MD5OfMessageBody: md5(entry.MessageBody) });
        }
        case 'SendMessageBatch': {
          const entries = (input.Entries ?? []) as SendEntry[];
          if (entries.length === 0 || entries.length > 10) return fault('TooManyEntriesInBatchRequest', 'a batch holds 1 to 10 entries');
          const ids = await queue.send(
            entries.map((e) => ({ body: e.MessageBody, attributes: e.MessageAttributes, delayMs: (e.DelaySeconds ?? 0) * 1000 })),
          );
          return reply(200, {
            Successful: entries.map((e, i) => ({ Id: e.Id, MessageId: ids[i], MD5OfMessageBody: md5(e.MessageBody) })),
            Failed: [],
          });
        }
        case 'ReceiveMessage': {
          const max = Number(input.MaxNumberOfMessages ?? 1);
          const visibility = input.VisibilityTimeout === undefined ? undefined : Number(input.VisibilityTimeout) * 1000;
          const messages = queue.receive(Math.min(Math.max(max, 1), 10), visibility);
          return reply(200, {
            Messages: messages.map((m) => ({
              MessageId: m.id,
              ReceiptHandle: m.receiptHandle,
              MD5OfBody: md5(m.body),
              Body: m.body,
              Attributes: {
                ApproximateReceiveCount: String(m.receiveCount),
                SentTimestamp: String(m.sentAt),
                ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt ?? m.sentAt),
              },
              MessageAttributes: m.attributes,
            })),
          });
        }
        case 'DeleteMessage':
          queue.delete(String(input.ReceiptHandle));
          return reply(200, {});
        case 'DeleteMessageBatch': {
          const entries = (input.Entries ?? []) as Array<{ Id: string; ReceiptHandle: string }>;
          for (const e of entries) queue.delete(e.ReceiptHandle);
          return reply(200, { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] });
        }
        case 'ChangeMessageVisibility':
          queue.changeVisibility(String(input.ReceiptHandle), Number(input.VisibilityTimeout) * 1000);
          return reply(200, {});
        case 'GetQueueAttributes': {
          const { messages, inFlight } = queue.stats();
          return reply(200, {
            Attributes: {
              ApproximateNumberOfMessages: String(messages - inFlight),
              ApproximateNumberOfMessagesNotVisible: String(inFlight),
              QueueArn: `arn:aws:sqs:local:${ACCOUNT}:${name}`,
            },
          });
        }
        default:
          return fault('UnsupportedOperation', `the local SQS emulator does not implement ${operation}`);
      }
    } catch (error) {
      return fault('InternalError', (error as Error).message, 500);
    }
  }
}
