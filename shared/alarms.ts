/**
 * The alarms of a deployed Prisme: what needs a person, each with its threshold and the reason for it,
 * and the runbook section in docs/operations.md (same id) that says how to look and what to do. The
 * stack builds an alarm and a dashboard widget from each row. Pure data: no CDK.
 */
import type { DimensionsOf, MetricId } from './contracts/metrics';
import type { FunctionName } from './functions';
import type { QueueName } from './resources';

/** Where an alarm's metric comes from: Prisme's own (EMF) or one AWS publishes for a resource. */
export type AlarmSource =
  | {
      readonly kind: 'prisme';
      readonly metric: MetricId;
      readonly service: FunctionName;
      readonly dimensions?: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: 'queue';
      readonly queue: QueueName;
      readonly metric: 'ApproximateNumberOfMessagesVisible' | 'ApproximateAgeOfOldestMessage';
    }
  | { readonly kind: 'function'; readonly function: FunctionName; readonly metric: 'Errors' | 'Throttles' }
  | { readonly kind: 'api'; readonly metric: '5xx' };

export interface AlarmDefinition {
  readonly title: string;
  readonly source: AlarmSource;
  readonly statistic: 'Sum' | 'Maximum';
  readonly comparison: 'atLeast' | 'below';
  readonly threshold: number;
  readonly periodMinutes: number;
  /** Periods that must breach in a row. */
  readonly periods: number;
  /** No data at all is a breach: the thing that should report has stopped. */
  readonly missingIsBreaching?: true;
  /** Why this threshold. */
  readonly reason: string;
}

const prisme = <M extends MetricId>(metric: M, service: FunctionName, dimensions?: DimensionsOf<M>): AlarmSource => ({
  kind: 'prisme',
  metric,
  service,
  ...(dimensions && { dimensions }),
});

export const ALARMS = {
  deadLetters: {
    title: 'Messages wait in the dead-letter queue',
    source: { kind: 'queue', queue: 'deadLetter', metric: 'ApproximateNumberOfMessagesVisible' },
    statistic: 'Maximum',
    comparison: 'atLeast',
    threshold: 1,
    periodMinutes: 5,
    periods: 1,
    reason: 'A parked message is an event (or a job) that will not happen until someone looks: one is enough.',
  },
  queueBehind: {
    title: 'Events wait in the queue',
    source: { kind: 'queue', queue: 'events', metric: 'ApproximateAgeOfOldestMessage' },
    statistic: 'Maximum',
    comparison: 'atLeast',
    threshold: 300,
    periodMinutes: 5,
    periods: 2,
    reason:
      'Memberships should follow events within a second; an event 5 minutes old for 10 minutes means the processor is stuck or far too slow.',
  },
  processorErrors: {
    title: 'The processor fails',
    source: { kind: 'function', function: 'processor', metric: 'Errors' },
    statistic: 'Sum',
    comparison: 'atLeast',
    threshold: 5,
    periodMinutes: 5,
    periods: 2,
    reason: 'One bad event is parked, not an error; whole invocations failing for 10 minutes is a store, a permission or a bug.',
  },
  processorThrottles: {
    title: 'The processor is throttled',
    source: { kind: 'function', function: 'processor', metric: 'Throttles' },
    statistic: 'Sum',
    comparison: 'atLeast',
    threshold: 1,
    periodMinutes: 5,
    periods: 3,
    reason: "Throttled for 15 minutes: the account's concurrency is spent elsewhere, and the queue grows.",
  },
  ingest5xx: {
    title: 'Ingest answers 5xx',
    source: { kind: 'api', metric: '5xx' },
    statistic: 'Sum',
    comparison: 'atLeast',
    threshold: 5,
    periodMinutes: 5,
    periods: 1,
    reason: 'A 5xx means nothing was kept and the client retries; a few in 5 minutes means the queue or the catalog is out of reach.',
  },
  snapshotHeld: {
    title: 'A snapshot was held',
    source: prisme('snapshotRuns', 'snapshot', { status: 'held' }),
    statistic: 'Sum',
    comparison: 'atLeast',
    threshold: 1,
    periodMinutes: 15,
    periods: 1,
    reason: 'A held snapshot reached no ESP: a person has to approve the new size, or find why the audience moved.',
  },
  snapshotFailed: {
    title: 'A snapshot failed',
    source: prisme('snapshotRuns', 'snapshot', { status: 'failed' }),
    statistic: 'Sum',
    comparison: 'atLeast',
    threshold: 1,
    periodMinutes: 15,
    periods: 1,
    reason: 'The ESP keeps reading the last published run: one failure is worth a look before the next is due.',
  },
  freezeFailed: {
    title: 'The daily freeze failed',
    source: prisme('freezeRuns', 'freeze', { status: 'failed' }),
    statistic: 'Sum',
    comparison: 'atLeast',
    threshold: 1,
    periodMinutes: 60,
    periods: 1,
    reason: 'RFM, clusters and churn risk stay as of the last run that succeeded, and so do the segments on them.',
  },
  freezeOverdue: {
    title: 'No freeze has succeeded for 30 hours',
    source: prisme('freezeRuns', 'freeze', { status: 'succeeded' }),
    statistic: 'Sum',
    comparison: 'below',
    threshold: 1,
    periodMinutes: 360,
    periods: 5,
    missingIsBreaching: true,
    reason: 'The freeze runs daily: none in 30 hours means its schedule or its runs stopped, whatever they report.',
  },
  sweepBehind: {
    title: 'The time sweep falls behind',
    source: prisme('sweepLag', 'sweep'),
    statistic: 'Maximum',
    comparison: 'atLeast',
    threshold: 600,
    periodMinutes: 5,
    periods: 3,
    missingIsBreaching: true,
    reason: 'Time-window memberships end within a minute of their end; 10 minutes behind for 15 minutes (or no run at all) is late.',
  },
} as const satisfies Record<string, AlarmDefinition>;

export type AlarmId = keyof typeof ALARMS;
