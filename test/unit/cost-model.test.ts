import { describe, expect, it } from 'vitest';
import { AWS_PRICES } from '#bench/aws-prices';
import { costPerMillionEvents, monitoringPerMonth } from '#bench/cost-model';
import { emptyUsage, type Usage } from '#local/usage-meter';
import { ALARMS } from '#shared/alarms';

const usage = (overrides: Partial<Usage> = {}): Usage => ({ ...emptyUsage(), ...overrides });
const line = (breakdown: ReturnType<typeof costPerMillionEvents>, prefix: string) =>
  breakdown.lines.find((l) => l.item.startsWith(prefix))!;

describe('cost model', () => {
  it('prices each AWS call at the list price, per million events', () => {
    const million = 1_000_000;
    const breakdown = costPerMillionEvents(
      usage({
        http: { ingest: 50_000, admin: 999 },
        sqs: { sendRequests: 50_000, sendChunks: 60_000 },
        sqsPolling: { requests: 10_000 },
        dynamodb: {
          profiles: { readUnits: 200_000, writeUnits: 300_000, indexWrites: 20_000 },
          memberships: { readUnits: 0, writeUnits: 80_000, indexWrites: 0 },
        },
        eventbridge: { entries: 100_000, chunks: 100_000 },
        s3: { tier1: 5_000, tier2: 0, bytesPut: 1024 ** 3 },
        // 1 GB-s of a 1,024 MB processor per 1,000 ms; the admin function is not per event.
        functions: {
          ingest: { invocations: 50_000, billedMs: 1_000_000 },
          processor: { invocations: 5_000, billedMs: 2_000_000 },
          admin: { invocations: 9, billedMs: 99 },
        },
      }),
      million,
      0,
    );
    expect(line(breakdown, 'API Gateway').dollarsPerMillion).toBeCloseTo(0.05);
    expect(line(breakdown, 'Lambda requests').dollarsPerMillion).toBeCloseTo(55_000 * AWS_PRICES.lambdaRequest);
    expect(line(breakdown, 'Lambda processor').dollarsPerMillion).toBeCloseTo(2_000 * AWS_PRICES.lambdaArmGbSecond);
    expect(line(breakdown, 'SQS').dollarsPerMillion).toBeCloseTo(70_000 * 0.4e-6);
    expect(line(breakdown, 'DynamoDB write').dollarsPerMillion).toBeCloseTo(400_000 * 0.625e-6);
    expect(line(breakdown, 'DynamoDB read').dollarsPerMillion).toBeCloseTo(200_000 * 0.125e-6);
    expect(line(breakdown, 'EventBridge').dollarsPerMillion).toBeCloseTo(0.1);
    expect(line(breakdown, 'S3 archive storage').dollarsPerMillion).toBeCloseTo(0.023);
    // Lambda's START/END/REPORT lines are logged even when the handlers say nothing.
    expect(line(breakdown, 'CloudWatch').dollarsPerMillion).toBeGreaterThan(0);
    expect(breakdown.dollarsPerMillion).toBeCloseTo(breakdown.lines.reduce((sum, l) => sum + l.dollarsPerMillion, 0));
  });

  it('tells the part membership changes make: membership items, history counters, their events on the bus', () => {
    const breakdown = costPerMillionEvents(
      usage({
        dynamodb: {
          'prisme-profiles': { readUnits: 200_000, writeUnits: 300_000, indexWrites: 0 },
          'prisme-memberships': { readUnits: 40_000, writeUnits: 80_000, indexWrites: 0 },
          'prisme-catalog': { readUnits: 10, writeUnits: 20_000, indexWrites: 0 },
        },
        eventbridge: { entries: 50_000, chunks: 50_000 },
      }),
      1_000_000,
      0,
    );
    expect(breakdown.membershipChanges).toBeCloseTo(100_000 * 0.625e-6 + 40_000 * 0.125e-6 + 50_000 * 1e-6);
    expect(breakdown.dollarsPerMillion - breakdown.membershipChanges).toBeCloseTo(300_000 * 0.625e-6 + 200_010 * 0.125e-6);
  });

  it('prices watching Prisme by the month: each alarm, the dashboard, each metric series', () => {
    const month = monitoringPerMonth(30);
    expect(month.alarms).toBeCloseTo(Object.keys(ALARMS).length * 0.1);
    expect(month.dashboard).toBe(3);
    expect(month.metrics).toBeCloseTo(9);
    expect(month.total).toBeCloseTo(month.alarms + 3 + 9);
  });

  it('scales with the events the usage was measured over', () => {
    const measured = usage({ http: { ingest: 10 } });
    expect(line(costPerMillionEvents(measured, 200, 0), 'API Gateway').dollarsPerMillion).toBeCloseTo(0.05);
    expect(line(costPerMillionEvents(measured, 10, 0), 'API Gateway').dollarsPerMillion).toBeCloseTo(1);
  });
});
