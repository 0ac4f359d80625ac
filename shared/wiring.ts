/**
 * The adapters a function's configuration names. Each is made on first use, so a function only
 * needs (and is only granted) the resources it actually touches; handlers touch theirs at module
 * scope, so one its entry in `shared/functions.ts` does not bind fails the cold start.
 */

import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { awsClients } from './adapters/clients';
import { DynamoCatalogStore } from './adapters/dynamodb/catalog-store';
import { DynamoFrozenStore } from './adapters/dynamodb/frozen-store';
import { DynamoGroupStore } from './adapters/dynamodb/group-store';
import { DynamoIdentityStore } from './adapters/dynamodb/identity-store';
import { DynamoMembershipStore } from './adapters/dynamodb/membership-store';
import { DynamoProfileStore } from './adapters/dynamodb/profile-store';
import { DynamoSeenStore } from './adapters/dynamodb/seen-store';
import { EventBridgePublisher } from './adapters/eventbridge/event-publisher';
import { EmfRecorder } from './adapters/metrics/emf-recorder';
import { S3ObjectStore } from './adapters/s3/object-store';
import { SqsEventQueue } from './adapters/sqs/event-queue';
import type { FunctionConfig } from './config';
import type { Logger } from './logger';
import type { MetricsRecorder } from './ports/metrics';
import { bucket, deadLetterQueue, eventBus, eventQueue, tables } from './resources';
import { ConfigError } from './settings';
import type { CounterBuffer } from './usecases/counter-buffer';
import { withManagedSegments } from './usecases/managed-segments';
import { ProfileWriter } from './usecases/profile-writer';

const once = <T>(make: () => T): (() => T) => {
  let value: T | undefined;
  return () => (value ??= make());
};

/** What the adapters need of a function's configuration. */
export type WiringConfig = Pick<FunctionConfig, 'function' | 'resources'> & {
  settings: Pick<FunctionConfig['settings'], 'S3_FORCE_PATH_STYLE' | 'PRISME_TRACING'>;
};

export function adaptersOf(config: WiringConfig) {
  const named = (variable: string) => {
    const value = config.resources[variable];
    if (value === undefined)
      throw new ConfigError(`${variable}: the ${config.function} function is not bound to it; bind it in shared/functions.ts`);
    return value;
  };
  const clients = () => awsClients({ s3ForcePathStyle: config.settings.S3_FORCE_PATH_STYLE, tracing: config.settings.PRISME_TRACING });
  return {
    profiles: once(() => new DynamoProfileStore(clients().dynamo, named(tables.profiles.envVar))),
    identities: once(() => new DynamoIdentityStore(clients().dynamo, named(tables.identities.envVar))),
    memberships: once(() => new DynamoMembershipStore(clients().dynamo, named(tables.memberships.envVar))),
    frozen: once(() => new DynamoFrozenStore(clients().dynamo, named(tables.frozen.envVar))),
    groups: once(() => new DynamoGroupStore(clients().dynamo, named(tables.groups.envVar))),
    catalog: once(() => withManagedSegments(new DynamoCatalogStore(clients().dynamo, named(tables.catalog.envVar)))),
    seen: once(() => new DynamoSeenStore(clients().dynamo, named(tables.catalog.envVar))),
    queue: once(
      () => new SqsEventQueue(clients().sqs, named(eventQueue.envVar), named(deadLetterQueue.envVar), eventQueue.maxMessageBytes),
    ),
    publisher: once(() => new EventBridgePublisher(clients().events, named(eventBus.envVar))),
    objects: once(() => new S3ObjectStore(clients().s3, named(bucket.envVar))),
  };
}
export type Adapters = ReturnType<typeof adaptersOf>;

/** The function's metrics: EMF on stdout for CloudWatch, or JSON lines in `PRISME_METRICS_FILE` (locally). */
export function metricsOf(
  config: Pick<FunctionConfig, 'function'> & { settings: Pick<FunctionConfig['settings'], 'PRISME_METRICS_FILE'> },
) {
  const file = config.settings.PRISME_METRICS_FILE;
  return new EmfRecorder(config.function, file ? (line) => appendFileSync(file, `${line}\n`) : undefined);
}

/** Time-sortable profile ids: `p_` + milliseconds in base 36 + 80 random bits in hex. */
export function newProfileId(now = Date.now()): string {
  const time = now.toString(36).padStart(9, '0');
  return `p_${time}${randomBytes(10).toString('hex')}`;
}

export const profileWriter = (
  adapters: Adapters,
  logger: Logger,
  options: { merges?: boolean; counters?: CounterBuffer; metrics?: MetricsRecorder } = {},
): ProfileWriter =>
  new ProfileWriter({
    profiles: adapters.profiles(),
    // Only the processor merges profiles, and only it may write identities.
    identities: options.merges ? adapters.identities() : undefined,
    memberships: adapters.memberships(),
    stats: options.counters ?? adapters.catalog(),
    // Unbuffered: a size counter lands milliseconds after its membership write, so a reconciliation's count rarely falls between.
    sizes: adapters.catalog(),
    frozen: adapters.frozen(),
    groups: adapters.groups(),
    publisher: adapters.publisher(),
    logger,
    now: Date.now,
    ...(options.metrics && { metrics: options.metrics }),
  });
