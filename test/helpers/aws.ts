/**
 * Real AWS SDK clients and adapters against the emulators started by the
 * global setup, with tables and a bucket private to the calling test file.
 */

import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { createTables } from '#local/bootstrap';
import { documentClient } from '#shared/adapters/clients';
import { DynamoCatalogStore } from '#shared/adapters/dynamodb/catalog-store';
import { DynamoFrozenStore } from '#shared/adapters/dynamodb/frozen-store';
import { DynamoGroupStore } from '#shared/adapters/dynamodb/group-store';
import { DynamoIdentityStore } from '#shared/adapters/dynamodb/identity-store';
import { DynamoMembershipStore } from '#shared/adapters/dynamodb/membership-store';
import { DynamoProfileStore } from '#shared/adapters/dynamodb/profile-store';
import { DynamoSeenStore } from '#shared/adapters/dynamodb/seen-store';
import { S3ObjectStore } from '#shared/adapters/s3/object-store';
import type { DomainEvent, EventPublisher } from '#shared/ports/event-publisher';
import type { TableName } from '#shared/resources';
import { withManagedSegments } from '#shared/usecases/managed-segments';
import type { ProcessEventsDeps } from '#shared/usecases/process-events';
import { ProfileWriter } from '#shared/usecases/profile-writer';
import { RulesCache } from '#shared/usecases/rules-cache';
import { newProfileId } from '#shared/wiring';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export const silentLogger = () => new Logger({ serviceName: 'test', logLevel: 'SILENT' });

/** Records what would go to EventBridge; can be told to fail, to provoke the crash paths. */
export class RecordingPublisher implements EventPublisher {
  readonly events: DomainEvent[] = [];
  failuresLeft = 0;
  async publish(events: readonly DomainEvent[]): Promise<void> {
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new Error('EventBridge is unavailable (injected)');
    }
    this.events.push(...events);
  }
}

export async function emulatedStores() {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const raw = new DynamoDBClient({ endpoint: inject('dynamoEndpoint'), region: 'us-east-1', credentials });
  const nameOf = (table: TableName) => `${prefix}-${table}`;
  await createTables(raw, nameOf);
  const dynamo = documentClient(raw);
  const s3 = new S3Client({
    endpoint: inject('s3Endpoint'),
    region: 'us-east-1',
    credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  await s3.send(new CreateBucketCommand({ Bucket: prefix }));
  return {
    s3,
    bucket: prefix,
    /** For tests that must reach under the stores (emptying a table). */
    dynamo,
    tableOf: nameOf,
    profiles: new DynamoProfileStore(dynamo, nameOf('profiles')),
    identities: new DynamoIdentityStore(dynamo, nameOf('identities')),
    memberships: new DynamoMembershipStore(dynamo, nameOf('memberships')),
    frozen: new DynamoFrozenStore(dynamo, nameOf('frozen')),
    groups: new DynamoGroupStore(dynamo, nameOf('groups')),
    catalog: withManagedSegments(new DynamoCatalogStore(dynamo, nameOf('catalog'))),
    seenStore: new DynamoSeenStore(dynamo, nameOf('catalog')),
    objects: new S3ObjectStore(s3, prefix),
  };
}

/** The processor's use case wired to the emulated stores, as the processor wires it (segments read fresh). */
export function processEventsDeps(
  stores: Awaited<ReturnType<typeof emulatedStores>>,
  publisher: EventPublisher,
  logger = silentLogger(),
): ProcessEventsDeps {
  return {
    identities: stores.identities,
    profiles: stores.profiles,
    writer: new ProfileWriter({
      profiles: stores.profiles,
      identities: stores.identities,
      memberships: stores.memberships,
      groups: stores.groups,
      stats: stores.catalog,
      sizes: stores.catalog,
      publisher,
      logger,
      now: Date.now,
    }),
    rules: new RulesCache(stores.catalog, 0),
    groups: stores.groups,
    logger,
    newProfileId: () => newProfileId(),
    now: Date.now,
    concurrency: 4,
  };
}
