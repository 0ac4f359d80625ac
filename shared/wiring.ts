/**
 * Default adapters built from the environment. Each is made on first use, so a
 * function only needs (and is only granted) the resources it actually touches;
 * handlers touch theirs at module scope to fail fast at cold start.
 */
import type { CounterBuffer } from './usecases/counter-buffer';
import { randomBytes } from 'node:crypto';
import { awsClients } from './adapters/clients';
import { DynamoCatalogStore } from './adapters/dynamodb/catalog-store';
import { DynamoFrozenStore } from './adapters/dynamodb/frozen-store';
import { DynamoGroupStore } from './adapters/dynamodb/group-store';
import { withManagedSegments } from './usecases/catalog-view';
import { DynamoIdentityStore } from './adapters/dynamodb/identity-store';
import { DynamoMembershipStore } from './adapters/dynamodb/membership-store';
import { DynamoProfileStore } from './adapters/dynamodb/profile-store';
import { EventBridgePublisher } from './adapters/eventbridge/event-publisher';
import { S3ObjectStore } from './adapters/s3/object-store';
import { SqsEventQueue } from './adapters/sqs/event-queue';
import { getStringFromEnv } from './env';
import type { CountryCode } from 'libphonenumber-js';
import { DEFAULT_IDENTITY_CONFIG, type IdentityConfig } from './domain/identity';
import type { Logger } from './logger';
import { ProfileWriter } from './usecases/profile-writer';
import { bucket, deadLetterQueue, eventBus, eventQueue, tables } from './resources';

const once = <T>(make: () => T): (() => T) => {
  let value: T | undefined;
  return () => (value ??= make());
};

export const fromEnv = {
  profiles: once(() => new DynamoProfileStore(awsClients().dynamo, getStringFromEnv(tables.profiles.envVar))),
  identities: once(() => new DynamoIdentityStore(awsClients().dynamo, getStringFromEnv(tables.identities.envVar))),
  memberships: once(() => new DynamoMembershipStore(awsClients().dynamo, getStringFromEnv(tables.memberships.envVar))),
  frozen: once(() => new DynamoFrozenStore(awsClients().dynamo, getStringFromEnv(tables.frozen.envVar))),
  groups: once(() => new DynamoGroupStore(awsClients().dynamo, getStringFromEnv(tables.groups.envVar))),
  catalog: once(() => withManagedSegments(new DynamoCatalogStore(awsClients().dynamo, getStringFromEnv(tables.catalog.envVar)))),
  queue: once(
    () =>
      new SqsEventQueue(
        awsClients().sqs,
        getStringFromEnv(eventQueue.envVar),
        getStringFromEnv(deadLetterQueue.envVar),
        eventQueue.maxMessageBytes,
      ),
  ),
  publisher: once(() => new EventBridgePublisher(awsClients().events, getStringFromEnv(eventBus.envVar))),
  objects: once(() => new S3ObjectStore(awsClients().s3, getStringFromEnv(bucket.envVar))),
};

/** The identity settings read from the environment; `cdk deploy` forwards those set in its shell. */
export const IDENTITY_SETTINGS = [
  'PRISME_PHONE_REGION',
  'PRISME_LOYALTY_TRAITS',
  'PRISME_BLOCKED_IDENTIFIERS',
  'PRISME_IDENTITY_LIMITS',
  'PRISME_IDENTITY_PRIORITY',
] as const;

/**
 * Identity settings, comma-separated lists: PRISME_PHONE_REGION (default FR), PRISME_LOYALTY_TRAITS,
 * PRISME_BLOCKED_IDENTIFIERS (regular expressions), PRISME_IDENTITY_LIMITS (`userId:1,email:3`, over
 * the defaults type by type) and PRISME_IDENTITY_PRIORITY (types, most trusted first).
 */
export function identityConfigFromEnv(): IdentityConfig {
  const list = (name: string) => (process.env[name] ?? '').split(',').map((v) => v.trim()).filter(Boolean);
  const loyaltyTraits = list('PRISME_LOYALTY_TRAITS');
  const priority = list('PRISME_IDENTITY_PRIORITY');
  return {
    phoneRegion: (process.env.PRISME_PHONE_REGION || DEFAULT_IDENTITY_CONFIG.phoneRegion) as CountryCode,
    loyaltyTraits: loyaltyTraits.length > 0 ? loyaltyTraits : DEFAULT_IDENTITY_CONFIG.loyaltyTraits,
    blockedPatterns: list('PRISME_BLOCKED_IDENTIFIERS').map((pattern) => new RegExp(pattern, 'i')),
    limits: {
      ...DEFAULT_IDENTITY_CONFIG.limits,
      ...Object.fromEntries(list('PRISME_IDENTITY_LIMITS').map((rule) => {
        const [type, limit] = rule.split(':').map((part) => part.trim());
        if (!type || !/^[1-9]\d*$/.test(limit ?? '')) {
          throw new Error(`PRISME_IDENTITY_LIMITS: "${rule}" should read type:limit, with a whole limit of at least 1 (e.g. email:3)`);
        }
        return [type, Number(limit)];
      })),
    },
    priority: priority.length > 0 ? priority : DEFAULT_IDENTITY_CONFIG.priority,
  };
}

/** Time-sortable profile ids: `p_` + milliseconds in base 36 + 80 random bits in hex. */
export function newProfileId(now = Date.now()): string {
  const time = now.toString(36).padStart(9, '0');
  return `p_${time}${randomBytes(10).toString('hex')}`;
}

export const profileWriter = (logger: Logger, options: { merges?: boolean; counters?: CounterBuffer } = {}): ProfileWriter =>
  new ProfileWriter({
    profiles: fromEnv.profiles(),
    // Only the processor merges profiles, and only it may write identities.
    identities: options.merges ? fromEnv.identities() : undefined,
    memberships: fromEnv.memberships(),
    stats: options.counters ?? fromEnv.catalog(),
    frozen: fromEnv.frozen(),
    groups: fromEnv.groups(),
    publisher: fromEnv.publisher(),
    logger,
    now: Date.now,
  });
