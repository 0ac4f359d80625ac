/**
 * Dollars per million events from what the handlers asked of AWS during a run (the local runtime's
 * usage meter), at the list prices of aws-prices.ts. Pure. Counted per event: the ingest API, the
 * ingest and processor functions (requests and GB-seconds from measured durations), SQS sends and the
 * event source mapping's receives and deletes, DynamoDB request units, S3 requests and a month of
 * archive storage, EventBridge events, and CloudWatch Logs ingestion of what the handlers logged.
 * Left out: the admin API and the daily jobs (per day, not per event), storage of the tables
 * (per profile), and the pollers' idle receives (a fixed ~$0.26 a month).
 */
import type { Usage } from '#local/usage-meter';
import { ALARMS } from '#shared/alarms';
import { functionMemoryMb } from '#shared/resources';
import { AWS_PRICES, type AwsPrices } from './aws-prices';

export interface CostLine {
  item: string;
  /** Billed units per event, in the line's unit. */
  perEvent: number;
  unit: string;
  /** Dollars per million events. */
  dollarsPerMillion: number;
}

export interface CostBreakdown {
  events: number;
  lines: CostLine[];
  dollarsPerMillion: number;
  /**
   * The part of `dollarsPerMillion` that membership changes made, whatever the events: membership
   * items (their writes, and the next write's check of them), segment history counters, and the
   * changes' events on the bus (the only events processing publishes, merges aside). It grows with
   * how often people move between segments, which the segment catalog decides, not with events.
   */
  membershipChanges: number;
}

/** A table's usage, whether keyed by its logical name or by a deployed name ending in it (`prisme-memberships`). */
const tableUsage = (usage: Usage, logical: string) =>
  Object.entries(usage.dynamodb).find(([name]) => name === logical || name.endsWith(`-${logical}`))?.[1] ?? {
    readUnits: 0,
    writeUnits: 0,
    indexWrites: 0,
  };

/** What Lambda adds to each invocation's log stream (START, END, REPORT lines), bytes. */
export const PLATFORM_LOG_BYTES = 350;
const EVENT_FUNCTIONS = ['ingest', 'processor'] as const;

export function costPerMillionEvents(usage: Usage, events: number, logBytes: number, prices: AwsPrices = AWS_PRICES): CostBreakdown {
  const lines: CostLine[] = [];
  const add = (item: string, total: number, unit: string, unitPrice: number) =>
    lines.push({ item, perEvent: total / events, unit, dollarsPerMillion: (total * unitPrice * 1e6) / events });

  add('API Gateway HTTP API requests', usage.http.ingest ?? 0, 'requests', prices.httpApiRequest);
  let invocations = 0;
  for (const name of EVENT_FUNCTIONS) {
    const f = usage.functions[name];
    if (!f) continue;
    invocations += f.invocations;
    add(`Lambda ${name} GB-seconds`, (f.billedMs / 1000) * (functionMemoryMb[name] / 1024), 'GB-s', prices.lambdaArmGbSecond);
  }
  add('Lambda requests', invocations, 'requests', prices.lambdaRequest);
  add('SQS requests (64 KB chunks)', usage.sqs.sendChunks + usage.sqsPolling.requests, 'requests', prices.sqsRequest);
  const dynamo = Object.values(usage.dynamodb);
  add(
    'DynamoDB write request units',
    dynamo.reduce((sum, t) => sum + t.writeUnits + t.indexWrites, 0),
    'WRU',
    prices.dynamoWriteUnit,
  );
  add(
    'DynamoDB read request units',
    dynamo.reduce((sum, t) => sum + t.readUnits, 0),
    'RRU',
    prices.dynamoReadUnit,
  );
  add('S3 PUT/LIST requests', usage.s3.tier1, 'requests', prices.s3Tier1Request);
  add('S3 GET requests', usage.s3.tier2, 'requests', prices.s3Tier2Request);
  add('S3 archive storage, one month', usage.s3.bytesPut / 1024 ** 3, 'GB-month', prices.s3GbMonth);
  add('EventBridge events (64 KB chunks)', usage.eventbridge.chunks, 'events', prices.eventBridgeEvent);
  add('CloudWatch Logs ingestion', (logBytes + invocations * PLATFORM_LOG_BYTES) / 1024 ** 3, 'GB', prices.logsIngestGb);
  const memberships = tableUsage(usage, 'memberships');
  const counters = tableUsage(usage, 'catalog');
  const changeDollars =
    (memberships.writeUnits + memberships.indexWrites + counters.writeUnits) * prices.dynamoWriteUnit +
    memberships.readUnits * prices.dynamoReadUnit +
    usage.eventbridge.chunks * prices.eventBridgeEvent;
  return {
    events,
    lines,
    dollarsPerMillion: lines.reduce((sum, line) => sum + line.dollarsPerMillion, 0),
    membershipChanges: (changeDollars * 1e6) / events,
  };
}

/**
 * What watching Prisme costs a month, whatever the traffic: its alarms, its dashboard, and the custom
 * metrics CloudWatch extracts from the EMF lines (one per name and set of dimension values: `series`).
 * The EMF lines themselves are log bytes, in the CloudWatch Logs line of each event's cost.
 */
export function monitoringPerMonth(series: number, prices: AwsPrices = AWS_PRICES, alarms = Object.keys(ALARMS).length, dashboards = 1) {
  const lines = {
    alarms: alarms * prices.alarmMonth,
    dashboard: dashboards * prices.dashboardMonth,
    metrics: series * prices.customMetricMonth,
  };
  return { ...lines, total: lines.alarms + lines.dashboard + lines.metrics };
}
