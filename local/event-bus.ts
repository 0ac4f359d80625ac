/**
 * A local EventBridge bus: PutEvents over the real JSON protocol (the handlers
 * use @aws-sdk/client-eventbridge pointed here by AWS_ENDPOINT_URL_EVENTBRIDGE),
 * every event appended to `events.jsonl`, observable in process, and routed to
 * local targets by detail-type like EventBridge rules, invoked asynchronously
 * with retries like EventBridge's Lambda targets.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { appendFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export type BusTarget = (event: BusEvent) => Promise<unknown>;

export interface BusOptions {
  /** Where every published event is appended, one JSON document per line. */
  logFile: string;
  onError: (error: Error, event: BusEvent) => void;
  retries?: number;
}

export class LocalEventBus extends EventEmitter<{ event: [BusEvent] }> {
  readonly published: BusEvent[] = [];
  private readonly rules: Array<{ detailTypes: Set<string>; target: BusTarget }> = [];
  private readonly running = new Set<Promise<unknown>>();
  private server?: Server;

  constructor(private readonly options: BusOptions) {
    super();
  }

  /** Like an EventBridge rule matching `detail-type`, with one target. */
  route(detailTypes: readonly string[], target: BusTarget): void {
    this.rules.push({ detailTypes: new Set(detailTypes), target });
  }

  async start(port = 0): Promise<string> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const target = String(req.headers['x-amz-target'] ?? '');
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (target !== 'AWSEvents.PutEvents') {
        res.writeHead(400).end(JSON.stringify({ __type: 'UnsupportedOperation', message: `local bus does not implement ${target}` }));
        return;
      }
      const input = JSON.parse(Buffer.concat(chunks).toString()) as {
        Entries: Array<{ Source: string; DetailType: string; Detail: string; Resources?: string[] }>;
      };
      const events = input.Entries.map((e) =>
        this.toEvent(e.Source, e.DetailType, JSON.parse(e.Detail) as Record<string, unknown>, e.Resources),
      );
      await this.record(events);
      res.writeHead(200).end(JSON.stringify({ FailedEntryCount: 0, Entries: events.map((e) => ({ EventId: e.id })) }));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Publishes from inside the runtime (the local schedules), through the same path as PutEvents. */
  async publishLocal(source: string, detailType: string, detail: Record<string, unknown>): Promise<BusEvent> {
    const event = this.toEvent(source, detailType, detail);
    await this.record([event]);
    return event;
  }

  private toEvent(source: string, detailType: string, detail: Record<string, unknown>, resources: string[] = []): BusEvent {
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source,
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'local',
      resources,
      detail,
    };
  }

  private async record(events: BusEvent[]): Promise<void> {
    await appendFile(this.options.logFile, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
    for (const event of events) {
      this.published.push(event);
      if (this.published.length > 10_000) this.published.shift();
      this.emit('event', event);
      for (const rule of this.rules) if (rule.detailTypes.has(event['detail-type'])) this.invoke(rule.target, event);
    }
  }

  private invoke(target: BusTarget, event: BusEvent): void {
    const attempts = (this.options.retries ?? 2) + 1;
    const run = (async () => {
      for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
          await target(event);
          return;
        } catch (error) {
          if (attempt === attempts) this.options.onError(error as Error, event);
          else await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
        }
      }
    })();
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** Target invocations running now (a snapshot being taken, a freeze). */
  get runningCount(): number {
    return this.running.size;
  }

  /** Resolves when every target invocation started so far has finished. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await this.idle();
  }
}
