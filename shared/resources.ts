/**
 * The one description of Prisme's stateful resources. The CDK stack and the
 * local runtime bootstrap both build from it, so a key or a queue setting can
 * never differ between AWS and a laptop.
 */

export type KeyType = 'S' | 'N';
export interface KeyDefinition {
  readonly name: string;
  readonly type: KeyType;
}
export interface IndexDefinition {
  readonly name: string;
  readonly partitionKey: KeyDefinition;
  readonly sortKey: KeyDefinition;
}
export interface TableDefinition {
  /** Logical name; also the suffix of the environment variable naming the table. */
  readonly logicalName: string;
  readonly envVar: string;
  readonly partitionKey: KeyDefinition;
  readonly sortKey?: KeyDefinition;
  /** Global secondary indexes, keys only. */
  readonly indexes?: readonly IndexDefinition[];
}

export const tables = {
  /** One small item per person: traits, bucketed aggregates, memberships, version. */
  profiles: {
    logicalName: 'Profiles',
    envVar: 'PROFILES_TABLE',
    partitionKey: { name: 'profileId', type: 'S' },
    /** Sparse: profiles whose memberships can change with time, by the minute (and shard) they are due. */
    indexes: [{ name: 'due', partitionKey: { name: 'due', type: 'S' }, sortKey: { name: 'profileId', type: 'S' } }],
  },
  /** `type:value` (e.g. `email:ada@example.com`) -> profileId; claimed by conditional put. */
  identities: {
    logicalName: 'Identities',
    envVar: 'IDENTITIES_TABLE',
    partitionKey: { name: 'identifier', type: 'S' },
    /**
     * Sparse (only items with a profileId): every identifier a profile owns, beyond the 10 per type its
     * item lists, so an erasure tombstones them all. Only the processor (erasure) may query it.
     */
    indexes: [{ name: 'byProfile', partitionKey: { name: 'profileId', type: 'S' }, sortKey: { name: 'identifier', type: 'S' } }],
  },
  /** Current members of each segment, queried page by page for listings and snapshots. */
  memberships: {
    logicalName: 'Memberships',
    envVar: 'MEMBERSHIPS_TABLE',
    partitionKey: { name: 'segmentId', type: 'S' },
    sortKey: { name: 'profileId', type: 'S' },
  },
  /** Frozen indicators (RFM, cluster, churn risk) per profile, written by the daily freeze: kept out of the hot item. */
  frozen: {
    logicalName: 'Frozen',
    envVar: 'FROZEN_TABLE',
    partitionKey: { name: 'profileId', type: 'S' },
  },
  /**
   * Groups (accounts) of Segment's `group` calls: per groupId, the `group` item (traits, version) and a
   * `member#<profileId>` item per person in it, paged through when the group's traits change.
   */
  groups: {
    logicalName: 'Groups',
    envVar: 'GROUPS_TABLE',
    partitionKey: { name: 'groupId', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
  },
  /** Control plane: segments, audiences, sources (hashed write keys), job and snapshot runs. */
  catalog: {
    logicalName: 'Catalog',
    envVar: 'CATALOG_TABLE',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
  },
} as const satisfies Record<string, TableDefinition>;

export type TableName = keyof typeof tables;

export const processorSettings = {
  timeoutSeconds: 30,
  memoryMb: 1024,
  /** Messages per invocation; each message packs many events. */
  batchSize: 10,
  maxBatchingWindowSeconds: 1,
  /** How long a processor may evaluate with a segment catalog read before a change. */
  segmentCacheSeconds: 10,
} as const;

/**
 * A new segment's first evaluation over stored profiles waits until no processor can still be
 * working with a catalog that predates it: longer than the cache plus one invocation. Profiles
 * written before then are found by the evaluation's scan; those written after see the segment.
 */
export const segmentEvaluationDelaySeconds = processorSettings.segmentCacheSeconds + processorSettings.timeoutSeconds + 5;

/** Memory of each function, MB: `shared/functions.ts` deploys them so, and the cost bench prices their GB-seconds so. */
export const functionMemoryMb = {
  ingest: 1024,
  processor: processorSettings.memoryMb,
  admin: 512,
  snapshot: 1024,
  freeze: 1024,
  sweep: 1024,
} as const;

/** The time sweep runs every minute (`schedules.sweep`); a run that cannot finish leaves the rest to the next. */
export const sweepSettings = {
  timeoutSeconds: 120,
  /** How long one run works before it records where it stopped: under the minute, so runs rarely overlap. */
  budgetSeconds: 45,
  /** After an outage, how far back the sweep catches up; the daily freeze re-evaluates anything older. */
  catchUpHours: 48,
  /** Profiles of a page re-evaluated at once: each write is conditional on its own version. */
  concurrency: 10,
} as const;

export const freezeSettings = {
  /** Parallel scan segments of the daily freeze, one worker (invocation) each. */
  scanSegments: 4,
} as const;

export const eventQueue = {
  envVar: 'EVENTS_QUEUE_URL',
  /** AWS guidance: at least six times the consumer's timeout, so retries never overlap. */
  visibilityTimeoutSeconds: processorSettings.timeoutSeconds * 6,
  /** Receives before a message goes to the DLQ; the processor moves it itself, with the reason, on the last one. */
  maxReceiveCount: 5,
  retentionDays: 4,
  /** SQS's message size limit, with room for attributes. */
  maxMessageBytes: 240 * 1024,
} as const;

export const deadLetterQueue = {
  envVar: 'DEAD_LETTER_QUEUE_URL',
  retentionDays: 14,
} as const;

/** The queues by the names functions bind them with (`shared/functions.ts`). */
export const queues = { events: eventQueue, deadLetter: deadLetterQueue } as const;
export type QueueName = keyof typeof queues;

export const bucket = {
  logicalName: 'Data',
  envVar: 'DATA_BUCKET',
} as const;

export const eventBus = {
  logicalName: 'Bus',
  envVar: 'EVENT_BUS_NAME',
  /** EventBridge `source` of every event Prisme publishes. */
  source: 'prisme',
} as const;

/** Schedules, in croner / EventBridge-compatible six-field-free cron syntax (minute hour dom month dow). */
export const schedules = {
  /** Daily freeze of slow indicators and re-evaluation of time-dependent memberships. */
  freeze: { cron: '0 3 * * *', description: 'Daily freeze' },
  /** Re-evaluates the profiles whose memberships are due to change with time, minute by minute. */
  sweep: { cron: '* * * * *', description: 'Time sweep of due profiles' },
  /** Audience snapshots due by their own cron are taken by this sweep. */
  snapshots: { cron: '*/15 * * * *', description: 'Audience snapshot sweep' },
} as const;
