/**
 * The embedded runtime: Prisme's own Lambda handlers on one machine, with
 * dynalite for DynamoDB, s3rver for S3, durable local queues behind an SQS
 * emulator, a local EventBridge bus and croner schedules. Resources are made
 * from `shared/resources.ts`, the same definitions the CDK stack uses.
 */

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Cron } from 'croner';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import type { ProcessorHandler } from '#functions/processor/processor';
import { documentClient, resetAwsClients } from '#shared/adapters/clients';
import { DynamoCatalogStore } from '#shared/adapters/dynamodb/catalog-store';
import { DynamoIdentityStore } from '#shared/adapters/dynamodb/identity-store';
import { DETAIL_TYPES } from '#shared/contracts/detail-types';
import { assertUnreachable } from '#shared/domain/assert-unreachable';
import { PrismeError } from '#shared/domain/errors';
import { hashWriteKey } from '#shared/domain/sources';
import { functionEntries, type ResourceRef } from '#shared/functions';
import type { HttpHandler } from '#shared/http/api';
import { eventQueue, tables } from '#shared/resources';
import { configuredSchedules } from '#shared/schedule-settings';
import { identityConfigFrom } from '#shared/settings';
import { withoutErasedEvents } from '#shared/usecases/erased-events';
import { createTables } from './bootstrap';
import { DurableQueue } from './durable-queue';
import { type BusEvent, LocalEventBus } from './event-bus';
import { loadHandlers, localEnvironment } from './functions';
import { LocalGateway } from './gateway';
import { lambdaContext } from './lambda-context';
import { QueuePoller } from './poller';
import { type Credentials, saveCredentials, savedCredentials, writeRuntimeFile } from './runtime-file';
import { SqsEmulator } from './sqs-emulator';
import type { UsageMeter } from './usage-meter';

export interface LocalOptions {
  /** Where everything is kept between runs. */
  dataDir: string;
  port: number;
  host?: string;
  writeKey?: string;
  adminToken?: string;
  /** Browser origins the default source accepts (CORS); when absent, those it was given before (none at first). */
  allowedOrigins?: string[];
  /** Visibility timeout of the local event queue: how long a failed batch waits before its retry. */
  visibilityTimeoutMs?: number;
  /** Run the freeze and snapshot schedules (default true). */
  schedules?: boolean;
  segmentCacheTtlMs?: number;
  /** How long ingest trusts a write key lookup: a revoked key stops working after this. */
  sourceCacheTtlMs?: number;
  /** Concurrent processor invocations (default 2; 0 leaves events in the queue, to measure ingest alone). */
  pollers?: number;
  /** How long the local event source mapping waits for a fuller batch (default: the stack's, 1 s). */
  batchingWindowMs?: number;
  logLevel?: string;
  /** Counts the handlers' AWS calls and invocations, served at `GET /local/usage` (the cost bench). */
  usageMeter?: UsageMeter;
}

export interface LocalRuntime {
  url: string;
  writeKey: string;
  adminToken: string;
  /** Browser origins the default write key accepts at start. */
  allowedOrigins: string[];
  dataDir: string;
  bucket: string;
  bus: LocalEventBus;
  queues: { events: DurableQueue; deadLetter: DurableQueue };
  endpoints: { dynamodb: string; s3: string; sqs: string; eventbridge: string };
  /** Resolves once the event queue is empty and no handler is running. */
  drain(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export const LOCAL_NAMES = {
  table: (logicalName: string) => `prisme-${logicalName.toLowerCase()}`,
  bucket: 'prisme-local',
  bus: 'prisme-local',
  eventsQueue: 'prisme-events',
  deadLetterQueue: 'prisme-events-dlq',
} as const;

/** Keys made on first start are kept, so the printed key keeps working across restarts. */
function loadCredentials(dataDir: string, options: LocalOptions): Credentials {
  const saved = savedCredentials(dataDir);
  const credentials = {
    writeKey: options.writeKey || saved.writeKey || `wk_${randomBytes(16).toString('hex')}`,
    adminToken: options.adminToken || saved.adminToken || `adm_${randomBytes(24).toString('hex')}`,
  };
  saveCredentials(dataDir, credentials);
  return credentials;
}

async function listen(server: {
  listen: (port: number, host: string, cb: () => void) => unknown;
  address: () => unknown;
}): Promise<number> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return (server.address() as AddressInfo).port;
}

export class DataDirInUseError extends PrismeError {
  constructor(dataDir: string, pid: number) {
    super(`The data folder ${dataDir} is in use by another Prisme (process ${pid}). Stop it, or set PRISME_DATA_DIR to another folder.`);
  }
}

/** One runtime per data folder: LevelDB allows a single process, and so do the queue journals. */
function lockDataDir(dataDir: string): () => Promise<void> {
  const file = join(dataDir, 'prisme.pid');
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8'));
    if (pid !== process.pid && isAlive(pid)) throw new DataDirInUseError(dataDir, pid);
  }
  writeFileSync(file, String(process.pid));
  return async () => rmSync(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function startLocal(options: LocalOptions): Promise<LocalRuntime> {
  const dataDir = resolve(options.dataDir);
  for (const dir of ['dynamodb', 's3', 'queues']) mkdirSync(join(dataDir, dir), { recursive: true });
  const stops: Array<() => Promise<void>> = [lockDataDir(dataDir)];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };

  try {
    const dynamo = dynalite({ path: join(dataDir, 'dynamodb'), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    const dynamoPort = await listen(dynamo);
    stops.push(() => new Promise((done) => dynamo.close(() => done())));

    const s3 = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: join(dataDir, 's3'),
      configureBuckets: [{ name: LOCAL_NAMES.bucket }],
    });
    const { port: s3Port } = (await s3.run()) as AddressInfo;
    stops.push(() => s3.close());

    const deadLetter = await DurableQueue.open(LOCAL_NAMES.deadLetterQueue, join(dataDir, 'queues', 'dead-letter.journal'), {
      visibilityTimeoutMs: 30_000,
    });
    const events = await DurableQueue.open(LOCAL_NAMES.eventsQueue, join(dataDir, 'queues', 'events.journal'), {
      visibilityTimeoutMs: options.visibilityTimeoutMs ?? 30_000,
      maxReceiveCount: eventQueue.maxReceiveCount,
      deadLetter,
    });
    stops.push(() => deadLetter.close());
    stops.push(() => events.close());
    const sqs = new SqsEmulator(
      new Map([
        [events.name, events],
        [deadLetter.name, deadLetter],
      ]),
    );
    const sqsUrl = await sqs.start();
    stops.push(() => sqs.stop());

    const bus = new LocalEventBus({
      logFile: join(dataDir, 'events.jsonl'),
      onError: (error, event) => logError(`local bus target failed for "${event['detail-type']}"`, error),
    });
    const busUrl = await bus.start();
    stops.push(() => bus.stop());

    const endpoints = {
      dynamodb: `http://127.0.0.1:${dynamoPort}`,
      s3: `http://127.0.0.1:${s3Port}`,
      sqs: sqsUrl,
      eventbridge: busUrl,
    };
    const credentials = loadCredentials(dataDir, options);
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_S3: endpoints.s3,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
      AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventbridge,
      // s3rver predates S3's flexible checksums.
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      S3_FORCE_PATH_STYLE: 'true',
      PRISME_METRICS_FILE: join(dataDir, 'metrics.jsonl'),
      POWERTOOLS_LOG_LEVEL: options.logLevel ?? process.env.LOG_LEVEL ?? 'INFO',
    });
    const meter = options.usageMeter;
    resetAwsClients(meter && ((client, service) => meter.instrument(client, service)));
    const timed = <A extends unknown[], R>(name: string, handler: (...args: A) => Promise<R>, polled = false) =>
      meter ? meter.wrap(name, handler, { polled }) : handler;
    const bootstrapClient = new DynamoDBClient({ endpoint: endpoints.dynamodb });
    await createTables(bootstrapClient, (table) => LOCAL_NAMES.table(tables[table].logicalName), {
      rebuildDir: dataDir,
      log: (message) => console.log(JSON.stringify({ level: 'INFO', service: 'local-runtime', message })),
    });
    bootstrapClient.destroy();

    const catalog = new DynamoCatalogStore(documentClient(new DynamoDBClient({})), LOCAL_NAMES.table(tables.catalog.logicalName));
    const keyHash = hashWriteKey(credentials.writeKey);
    const previous = await catalog.findSource(keyHash);
    const allowedOrigins = options.allowedOrigins ?? previous?.allowedOrigins ?? [];
    await catalog.putSource({
      sourceId: 'local',
      name: 'Local default source',
      defaultChannel: 'web',
      keyHash,
      allowedOrigins,
      createdAt: previous?.createdAt ?? new Date().toISOString(),
    });

    // Loaded only now, each with its own variables: a handler reads its configuration as it loads, as on a cold start.
    const localQueues = { events, deadLetter };
    const nameOf = (ref: ResourceRef): string => {
      switch (ref.kind) {
        case 'table':
          return LOCAL_NAMES.table(tables[ref.table].logicalName);
        case 'queue':
          return sqs.queueUrl(localQueues[ref.queue].name);
        case 'bucket':
          return LOCAL_NAMES.bucket;
        case 'bus':
          return LOCAL_NAMES.bus;
        default:
          return assertUnreachable(ref);
      }
    };
    const localSettings = {
      ADMIN_TOKEN: credentials.adminToken,
      SEGMENT_CACHE_TTL_MS: String(options.segmentCacheTtlMs ?? 2_000),
      SOURCE_CACHE_TTL_MS: String(options.sourceCacheTtlMs ?? 60_000),
      // Local batches take milliseconds, not a Lambda timeout: the cache TTL plus a second is enough.
      SEGMENT_EVALUATION_DELAY_S: String(Math.ceil((options.segmentCacheTtlMs ?? 2_000) / 1000) + 1),
    };
    const handlers = await loadHandlers((spec) => localEnvironment(spec, nameOf, localSettings));

    // Each function's triggers, as the stack wires them: routes, the event source mapping, bus rules, schedules.
    const http: Partial<Record<'ingest' | 'admin', HttpHandler>> = {};
    const pollers: QueuePoller[] = [];
    const crons: Cron[] = [];
    stops.push(async () => {
      for (const cron of crons) cron.stop();
    });
    const scheduleTimes = options.schedules === false ? undefined : configuredSchedules();
    for (const [name, spec] of functionEntries()) {
      const handler = handlers[name];
      const invoke = timed(name, (event: BusEvent) => handler(event as never, lambdaContext(`prisme-${name}`, spec.timeoutSeconds * 1000)));
      for (const trigger of spec.triggers) {
        switch (trigger.kind) {
          case 'http':
            http[trigger.api] = timed(name, handler as HttpHandler);
            break;
          case 'queue':
            pollers.push(
              new QueuePoller(localQueues[trigger.queue], timed(name, handler as ProcessorHandler, true), {
                batchSize: trigger.batchSize,
                concurrency: options.pollers ?? 2,
                batchingWindowMs: options.batchingWindowMs ?? trigger.maxBatchingWindowSeconds * 1000,
                timeoutMs: spec.timeoutSeconds * 1000,
                onError: (error) => logError(`${name} invocation failed`, error),
              }),
            );
            break;
          case 'event':
            bus.route([DETAIL_TYPES[trigger.detailType]], invoke);
            break;
          case 'schedule': {
            const { schedule } = trigger;
            if (scheduleTimes)
              crons.push(
                new Cron(scheduleTimes[schedule].cron, { timezone: 'UTC', protect: true }, () => scheduled(bus, schedule, invoke)),
              );
            break;
          }
          default:
            assertUnreachable(trigger);
        }
      }
    }
    // SQS deletes messages for good; these journals would keep an erased person's events on disk until
    // their next compaction. Queued events of the person go (the processor would drop them anyway).
    const identities = new DynamoIdentityStore(documentClient(new DynamoDBClient({})), LOCAL_NAMES.table(tables.identities.logicalName));
    const identity = identityConfigFrom(process.env);
    bus.route([DETAIL_TYPES.profileErased], async (event) => {
      const { at } = event.detail as { at: string };
      for (const queue of [events, deadLetter]) await queue.rewrite((body) => withoutErasedEvents(body, at, { identities, identity }));
    });
    for (const poller of pollers) {
      poller.start();
      stops.push(() => poller.stop());
    }

    if (!http.ingest || !http.admin) throw new Error('shared/functions.ts routes no function to the ingest or the admin API');
    const gateway = new LocalGateway({
      ingest: http.ingest,
      admin: http.admin,
      health: () => ({
        status: 'ok',
        queue: events.stats(),
        deadLetter: deadLetter.stats(),
        // Handler invocations under way: pollers' batches, and what the bus started (a snapshot, the freeze).
        running: pollers.filter((poller) => poller.active).length + bus.runningCount,
      }),
      usage: meter,
      consoleDir: join(import.meta.dirname, '..', 'console', 'dist'),
    });
    const url = await gateway.start(options.port, options.host);
    stops.push(() => gateway.stop());

    // Where the command line and the demo find this runtime; removed on stop.
    const removeRuntimeFile = writeRuntimeFile(dataDir, {
      pid: process.pid,
      url,
      endpoints,
      bucket: LOCAL_NAMES.bucket,
      queues: { events: sqs.queueUrl(events.name), deadLetter: sqs.queueUrl(deadLetter.name) },
    });
    stops.push(async () => removeRuntimeFile());

    return {
      url,
      ...credentials,
      allowedOrigins,
      dataDir,
      bucket: LOCAL_NAMES.bucket,
      bus,
      queues: { events, deadLetter },
      endpoints,
      async drain(timeoutMs = 30_000) {
        const deadline = Date.now() + timeoutMs;
        for (let quiet = 0; quiet < 3; ) {
          if (Date.now() > deadline) throw new Error(`local runtime did not drain in ${timeoutMs} ms: ${JSON.stringify(events.stats())}`);
          await new Promise((done) => setTimeout(done, 50));
          await bus.idle();
          quiet = events.stats().messages === 0 && !pollers.some((poller) => poller.active) ? quiet + 1 : 0;
        }
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** What an EventBridge schedule sends: a `Scheduled Event`, recorded on the bus like any other. */
async function scheduled(bus: LocalEventBus, name: string, invoke: (event: BusEvent) => Promise<unknown>): Promise<void> {
  const event = await bus.publishLocal('aws.events', 'Scheduled Event', { schedule: name });
  await invoke(event).catch((error: Error) => logError(`scheduled ${name} failed`, error));
}

function logError(message: string, error: Error): void {
  console.error(
    JSON.stringify({
      level: 'ERROR',
      service: 'local-runtime',
      message,
      error: { name: error.name, message: error.message, stack: error.stack },
    }),
  );
}
