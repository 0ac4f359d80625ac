/**
 * The metrics Prisme emits (CloudWatch embedded metric format, namespace `Prisme`), each with its unit
 * and the dimensions it is split by besides the emitting function's `service`. The handlers record
 * them, the stack's alarms and dashboard read them, `npm run prisme -- stats` sums them locally: one
 * list, so a name cannot differ between the code that writes it and the alarm that watches it.
 */
export const METRICS_NAMESPACE = 'Prisme';

type Unit = 'Count' | 'Milliseconds' | 'Seconds';
interface MetricDefinition {
  readonly name: string;
  readonly unit: Unit;
  /** Dimensions besides `service`, each with a small set of values Prisme chooses (never a client's). */
  readonly dimensions: readonly string[];
  readonly description: string;
}

export const METRICS = {
  eventsAccepted: {
    name: 'EventsAccepted',
    unit: 'Count',
    dimensions: ['source'],
    description: 'events durable in the queue, by source id',
  },
  eventsRejected: {
    name: 'EventsRejected',
    unit: 'Count',
    dimensions: ['reason'],
    description: 'events refused one by one (invalid) or with their request (rate_limited)',
  },
  requestsRefused: {
    name: 'RequestsRefused',
    unit: 'Count',
    dimensions: ['code'],
    description: 'ingest requests answered 4xx as a whole, by error code',
  },
  eventsProcessed: { name: 'EventsProcessed', unit: 'Count', dimensions: [], description: 'events folded into profiles' },
  processingLag: {
    name: 'ProcessingLag',
    unit: 'Milliseconds',
    dimensions: [],
    description: 'from ingest receiving the oldest event of a queue message to the processor taking it, one value per message',
  },
  membershipChanges: { name: 'MembershipChanges', unit: 'Count', dimensions: [], description: 'segments entered or exited' },
  profilesMerged: { name: 'ProfilesMerged', unit: 'Count', dimensions: [], description: 'profiles found to be one person' },
  profilesErased: { name: 'ProfilesErased', unit: 'Count', dimensions: [], description: 'erasures completed' },
  parked: {
    name: 'Parked',
    unit: 'Count',
    dimensions: ['reason'],
    description: 'messages put in the dead-letter queue, by the error class that parked them',
  },
  snapshotRuns: {
    name: 'SnapshotRuns',
    unit: 'Count',
    dimensions: ['status'],
    description: 'audience snapshot runs ended: published, held or failed',
  },
  snapshotRows: { name: 'SnapshotRows', unit: 'Count', dimensions: [], description: 'member rows written by published runs' },
  freezeRuns: { name: 'FreezeRuns', unit: 'Count', dimensions: ['status'], description: 'daily freeze runs ended: succeeded or failed' },
  freezeDuration: { name: 'FreezeDuration', unit: 'Milliseconds', dimensions: [], description: 'a freeze run, from start to close' },
  freezeProfiles: { name: 'FreezeProfiles', unit: 'Count', dimensions: [], description: 'profiles a freeze run scored' },
  sweepDueProfiles: { name: 'SweepDueProfiles', unit: 'Count', dimensions: [], description: 'profiles the time sweep re-evaluated' },
  sweepLag: {
    name: 'SweepLag',
    unit: 'Seconds',
    dimensions: [],
    description: 'how far behind now the time sweep has got, when a run ends',
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricId = keyof typeof METRICS;
export type DimensionsOf<M extends MetricId> = { readonly [D in (typeof METRICS)[M]['dimensions'][number]]: string };
