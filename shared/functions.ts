/**
 * The one description of Prisme's functions: what each runs, its memory and timeout, what it may
 * touch and what starts it. The CDK stack (`infra/app-stack.ts`) and the local runtime
 * (`local/runtime.ts`) both loop over it, and `shared/config.ts` requires exactly the variables it
 * binds, so a function reaches on a laptop only what it may reach on AWS. Pure data: no CDK, no SDK.
 */

import type { DETAIL_TYPES } from './contracts/detail-types';
import {
  bucket,
  eventBus,
  functionMemoryMb,
  processorSettings,
  type QueueName,
  queues,
  type schedules,
  sweepSettings,
  type TableName,
  tables,
} from './resources';
import { IDENTITY_SETTINGS, type SettingName } from './settings';

export interface TableBinding {
  /** Item-level actions: reads, reads and deletes, or reads and writes. */
  readonly access: 'read' | 'readDelete' | 'readWrite';
  /** Indexes it may query; never an index wildcard. */
  readonly indexes?: readonly string[];
}

/** `send`: SendMessage. `url`: its URL only (the queue adapter takes both queues'). `attributes`: its size too, never its messages. */
export type QueueAccess = 'send' | 'url' | 'attributes';

/** Objects under one key prefix of the data bucket, nothing else of it. */
export interface BucketBinding {
  readonly prefix: `${string}/`;
  readonly access: 'read' | 'readWrite';
  /** ListBucket, for that prefix only. */
  readonly list?: boolean;
}

export type Trigger =
  /** HTTP API routes: `shared/routes.ts` says which paths are ingest's; everything else under /v1 is admin's. */
  | { readonly kind: 'http'; readonly api: 'ingest' | 'admin' }
  /** An SQS event source mapping with partial batch responses. */
  | { readonly kind: 'queue'; readonly queue: QueueName; readonly batchSize: number; readonly maxBatchingWindowSeconds: number }
  /** One of `schedules` (shared/resources.ts; the freeze's time is PRISME_FREEZE_CRON's). */
  | { readonly kind: 'schedule'; readonly schedule: keyof typeof schedules }
  /** A rule on the bus for one detail type. */
  | { readonly kind: 'event'; readonly detailType: keyof typeof DETAIL_TYPES };

export interface FunctionSpec {
  /** Its Lambda entry point, from the project root. */
  readonly entry: string;
  readonly description: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly tables: { readonly [T in TableName]?: TableBinding };
  readonly queues?: { readonly [Q in QueueName]?: QueueAccess };
  readonly bucket?: readonly BucketBinding[];
  /** PutEvents on the bus. */
  readonly bus?: boolean;
  readonly triggers: readonly Trigger[];
  /** Settings it reads beyond its resources: the stack forwards those given at deploy, the local runtime sets its own. */
  readonly settings?: readonly SettingName[];
  /** Files shipped beside the code on Lambda, found through `setting`; locally unset, so they are read where they are. */
  readonly bundleFiles?: { readonly from: string; readonly into: string; readonly setting: SettingName };
}

export const functions = {
  ingest: {
    entry: 'functions/ingest/handler.ts',
    description: 'Segment Tracking API: validate, authenticate, enqueue',
    memoryMb: functionMemoryMb.ingest,
    timeoutSeconds: 10,
    tables: { catalog: { access: 'read' } },
    queues: { events: 'send', deadLetter: 'url' },
    triggers: [{ kind: 'http', api: 'ingest' }],
    // It refuses events that would identify nobody, so it reads the processor's identity settings.
    settings: [
      'SOURCE_CACHE_TTL_MS',
      'INGEST_EVENTS_PER_SECOND_PER_SOURCE',
      'PRISME_PUBLIC_URL',
      'PRISME_BROWSER_LIBRARY_DIR',
      ...IDENTITY_SETTINGS,
    ],
    // Segment's browser library (its UMD build), served by ingest as Segment's CDN serves it.
    bundleFiles: { from: 'node_modules/@segment/analytics-next/dist/umd', into: 'browser-library', setting: 'PRISME_BROWSER_LIBRARY_DIR' },
  },
  processor: {
    entry: 'functions/processor/handler.ts',
    description: 'Resolve identities, fold events into profiles, evaluate segments',
    memoryMb: functionMemoryMb.processor,
    timeoutSeconds: processorSettings.timeoutSeconds,
    tables: {
      profiles: { access: 'readWrite' },
      identities: { access: 'readWrite', indexes: ['byProfile'] }, // erasure finds every identifier of a person
      memberships: { access: 'readWrite' },
      catalog: { access: 'readWrite' },
      frozen: { access: 'readDelete' }, // erasure removes a person's frozen values
      groups: { access: 'readWrite' }, // group calls' traits and member items; erasure removes a person's
    },
    queues: { events: 'send', deadLetter: 'send' },
    bucket: [{ prefix: 'archive/', access: 'readWrite', list: true }], // raw events, sealed per person; replay and backfill list them
    bus: true,
    triggers: [
      {
        kind: 'queue',
        queue: 'events',
        batchSize: processorSettings.batchSize,
        maxBatchingWindowSeconds: processorSettings.maxBatchingWindowSeconds,
      },
    ],
    settings: ['SEGMENT_CACHE_TTL_MS', 'PROFILE_WRITE_CONCURRENCY', ...IDENTITY_SETTINGS],
  },
  admin: {
    entry: 'functions/admin/handler.ts',
    description: 'Admin API: profiles, segments, audiences, jobs',
    memoryMb: functionMemoryMb.admin,
    timeoutSeconds: 29,
    tables: {
      catalog: { access: 'readWrite' },
      profiles: { access: 'read' },
      identities: { access: 'read' },
      memberships: { access: 'read' },
      frozen: { access: 'read' },
      groups: { access: 'read' }, // a profile's groups with their traits
    },
    queues: { events: 'send', deadLetter: 'attributes' }, // the DLQ's size, for the console; never its messages
    bucket: [
      { prefix: 'esp/', access: 'read' }, // presigned links to ESP files are signed with its role
      { prefix: 'audiences/', access: 'read' }, // run files, for the audience KPIs
      { prefix: 'holdouts/', access: 'read' },
    ],
    bus: true,
    triggers: [{ kind: 'http', api: 'admin' }],
    settings: ['SEGMENT_EVALUATION_DELAY_S', 'PREVIEW_BUDGET_MS', 'ADMIN_TOKEN', ...IDENTITY_SETTINGS],
  },
  snapshot: {
    entry: 'functions/snapshot/handler.ts',
    description: 'Audience snapshots to S3, on request and on schedule',
    memoryMb: functionMemoryMb.snapshot,
    timeoutSeconds: 15 * 60,
    tables: {
      catalog: { access: 'readWrite' },
      memberships: { access: 'read' },
      profiles: { access: 'read' },
      frozen: { access: 'read' },
      groups: { access: 'read' }, // groups.<trait> columns
    },
    bucket: [
      { prefix: 'audiences/', access: 'readWrite', list: true }, // an erasure's scrub lists the run folders
      { prefix: 'holdouts/', access: 'readWrite' },
      { prefix: 'esp/', access: 'readWrite' },
    ],
    bus: true,
    triggers: [
      { kind: 'event', detailType: 'snapshotRequested' },
      // Erasure: earlier runs are rewritten without the person here (15 minutes, handing off to itself), not in the processor (30 s).
      { kind: 'event', detailType: 'profileErased' },
      { kind: 'event', detailType: 'snapshotScrubRequested' },
      { kind: 'schedule', schedule: 'snapshots' },
    ],
  },
  freeze: {
    entry: 'functions/freeze/handler.ts',
    description: 'Daily freeze: RFM, clusters and churn risk, fanned out over scan segments; memberships as of now',
    memoryMb: functionMemoryMb.freeze,
    timeoutSeconds: 15 * 60,
    tables: {
      catalog: { access: 'readWrite' },
      profiles: { access: 'readWrite' },
      memberships: { access: 'readWrite' },
      frozen: { access: 'readWrite' },
      groups: { access: 'read' }, // segments comparing the traits of a profile's groups
    },
    bus: true,
    // Freeze Requested: POST /v1/jobs/freeze, the fan-out over scan segments, a worker's hand-off near its timeout.
    triggers: [
      { kind: 'event', detailType: 'freezeRequested' },
      { kind: 'schedule', schedule: 'freeze' },
    ],
    settings: ['FREEZE_SEGMENTS'],
  },
  sweep: {
    entry: 'functions/sweep/handler.ts',
    description: 'Every minute: re-evaluate the profiles whose memberships are due to change with time',
    memoryMb: functionMemoryMb.sweep,
    timeoutSeconds: sweepSettings.timeoutSeconds,
    tables: {
      catalog: { access: 'readWrite' },
      profiles: { access: 'readWrite', indexes: ['due'] }, // only the sweep queries the due index
      memberships: { access: 'readWrite' },
      frozen: { access: 'read' },
      groups: { access: 'read' }, // segments comparing the traits of a profile's groups
    },
    bus: true,
    triggers: [{ kind: 'schedule', schedule: 'sweep' }],
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof functions;

/** The functions with their names, in the table's order. */
export const functionEntries = (): Array<[FunctionName, FunctionSpec]> => Object.entries(functions) as Array<[FunctionName, FunctionSpec]>;

/** What one resource variable names. */
export type ResourceRef = { kind: 'table'; table: TableName } | { kind: 'queue'; queue: QueueName } | { kind: 'bucket' } | { kind: 'bus' };

/**
 * The environment variables naming the resources a function is bound to, and what each names: the
 * stack sets them (`PrismeFunction.bind*`), the local runtime sets them, the config requires them.
 */
export function resourceVariables(spec: FunctionSpec): Record<string, ResourceRef> {
  const variables: Record<string, ResourceRef> = {};
  for (const table of Object.keys(spec.tables) as TableName[]) variables[tables[table].envVar] = { kind: 'table', table };
  for (const queue of Object.keys(spec.queues ?? {}) as QueueName[]) variables[queues[queue].envVar] = { kind: 'queue', queue };
  if (spec.bucket?.length) variables[bucket.envVar] = { kind: 'bucket' };
  if (spec.bus) variables[eventBus.envVar] = { kind: 'bus' };
  return variables;
}
