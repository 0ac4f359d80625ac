/**
 * What the handlers ask of AWS, counted on the local runtime so the cost bench can price it: every
 * SDK call by service and operation, DynamoDB capacity as DynamoDB reports it (ReturnConsumedCapacity,
 * which dynalite computes from item sizes the same way), SQS messages and EventBridge entries in the
 * 64 KB chunks they are billed by, S3 requests by price tier, and each handler invocation with its
 * duration. Switched on with `PRISME_USAGE_METER=1` (`npm start`), read at `GET /local/usage`.
 */
import type { MiddlewareStack } from '@smithy/types';

export interface FunctionUsage {
  invocations: number;
  /** Sum of the invocations' durations, each rounded up to the millisecond as Lambda bills. */
  billedMs: number;
}

export interface Usage {
  since: string;
  /** `Service.Operation` -> calls, e.g. `DynamoDB.PutItem`. */
  calls: Record<string, number>;
  /** Per table: request units as DynamoDB bills them; `indexWrites` estimates the keys-only `due` index. */
  dynamodb: Record<string, { readUnits: number; writeUnits: number; indexWrites: number }>;
  /** Messages sent by the handlers, and the 64 KB chunks SQS bills them as. */
  sqs: { sendRequests: number; sendChunks: number };
  /** Receives and deletes of the event source mapping (AWS's poller), one each per processor invocation. */
  sqsPolling: { requests: number };
  eventbridge: { entries: number; chunks: number };
  /** S3: PUT, COPY, POST, LIST (tier 1) and GET (tier 2) requests, and bytes put. */
  s3: { tier1: number; tier2: number; bytesPut: number };
  functions: Record<string, FunctionUsage>;
  /** HTTP requests through the gateway, by route kind. */
  http: Record<string, number>;
}

const CHUNK = 64 * 1024;
const chunks = (bytes: number) => Math.max(1, Math.ceil(bytes / CHUNK));
const S3_TIER2 = new Set(['GetObject', 'HeadObject']);
/** Operations that accept ReturnConsumedCapacity. */
const DYNAMO_CAPACITY = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactWriteItems',
  'TransactGetItems',
]);

interface Capacity {
  TableName?: string;
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

/** Nothing counted yet, since now. */
export const emptyUsage = (): Usage => ({
  since: new Date().toISOString(),
  calls: {},
  dynamodb: {},
  sqs: { sendRequests: 0, sendChunks: 0 },
  sqsPolling: { requests: 0 },
  eventbridge: { entries: 0, chunks: 0 },
  s3: { tier1: 0, tier2: 0, bytesPut: 0 },
  functions: {},
  http: {},
});

export class UsageMeter {
  private usage: Usage = emptyUsage();

  read(): Usage {
    return structuredClone(this.usage);
  }

  reset(): void {
    this.usage = emptyUsage();
  }

  /** Times a handler invocation; `polled` adds the receive and delete AWS's event source mapping makes. */
  wrap<A extends unknown[], R>(
    name: string,
    handler: (...args: A) => Promise<R>,
    options: { polled?: boolean } = {},
  ): (...args: A) => Promise<R> {
    return async (...args: A) => {
      const started = performance.now();
      try {
        return await handler(...args);
      } finally {
        const f = (this.usage.functions[name] ??= { invocations: 0, billedMs: 0 });
        f.invocations++;
        f.billedMs += Math.ceil(performance.now() - started);
        if (options.polled) this.usage.sqsPolling.requests += 2;
      }
    };
  }

  countHttp(kind: string): void {
    this.usage.http[kind] = (this.usage.http[kind] ?? 0) + 1;
  }

  /** Adds the counting middleware to an SDK client of `service` (DynamoDB, S3, SQS, EventBridge). */
  // biome-ignore lint/suspicious/noExplicitAny: any SDK client's stack: each service has its own input and output types
  instrument(client: { middlewareStack: MiddlewareStack<any, any> }, service: string): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
        const input = args.input as Record<string, unknown>;
        if (service === 'DynamoDB' && DYNAMO_CAPACITY.has(operation)) input.ReturnConsumedCapacity = 'TOTAL';
        const result = await next(args);
        this.count(service, operation, input, result.output as Record<string, unknown>);
        return result;
      },
      { step: 'initialize', name: 'prismeUsageMeter' },
    );
  }

  private table(name: string): Usage['dynamodb'][string] {
    return (this.usage.dynamodb[name] ??= { readUnits: 0, writeUnits: 0, indexWrites: 0 });
  }

  private count(service: string, operation: string, input: Record<string, unknown>, output: Record<string, unknown>): void {
    const key = `${service}.${operation}`;
    this.usage.calls[key] = (this.usage.calls[key] ?? 0) + 1;
    if (service === 'DynamoDB') {
      const consumed = output.ConsumedCapacity as Capacity | Capacity[] | undefined;
      for (const capacity of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
        const table = this.table(capacity.TableName ?? '?');
        const units = capacity.CapacityUnits ?? 0;
        if (/^(Get|Query|Scan|BatchGet|TransactGet)/.test(operation)) table.readUnits += capacity.ReadCapacityUnits ?? units;
        else table.writeUnits += capacity.WriteCapacityUnits ?? units;
      }
      // dynalite leaves index writes out. Estimated: a new item carrying the keys-only index's key adds
      // one entry (later moves of that key, an hour boundary crossed, are not counted).
      const item = input.Item as Record<string, unknown> | undefined;
      if (operation === 'PutItem' && item && 'due' in item && String(input.ConditionExpression ?? '').includes('attribute_not_exists')) {
        this.table(String(input.TableName)).indexWrites++;
      }
    } else if (service === 'SQS') {
      const bodies =
        operation === 'SendMessageBatch'
          ? ((input.Entries as Array<{ MessageBody?: string }>) ?? []).map((e) => e.MessageBody ?? '')
          : operation === 'SendMessage'
            ? [String(input.MessageBody ?? '')]
            : [];
      if (bodies.length > 0) {
        this.usage.sqs.sendRequests++;
        // A batch is billed by its total payload, 64 KB a request.
        this.usage.sqs.sendChunks += chunks(bodies.reduce((sum, body) => sum + Buffer.byteLength(body), 0));
      }
    } else if (service === 'EventBridge' && operation === 'PutEvents') {
      for (const entry of (input.Entries as Array<{ Detail?: string }>) ?? []) {
        this.usage.eventbridge.entries++;
        this.usage.eventbridge.chunks += chunks(Buffer.byteLength(entry.Detail ?? ''));
      }
    } else if (service === 'S3') {
      if (S3_TIER2.has(operation)) this.usage.s3.tier2++;
      else this.usage.s3.tier1++;
      const body = input.Body;
      if (typeof body === 'string' || Buffer.isBuffer(body)) this.usage.s3.bytesPut += Buffer.byteLength(body);
    }
  }
}
