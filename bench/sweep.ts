/**
 * The time sweep, through the real handler on dynalite with a fake clock, its DynamoDB calls and
 * request units counted on the client: what an idle minute costs (the price of sweeping every minute,
 * a month of it priced at aws-prices.ts), and what each due profile costs when many are due at once
 * (a crowd that visited at the same minute leaving "visited in the last 3 days" together), with the
 * rate one run re-evaluates them at. The peer is the hourly sweep this one replaced: the same queries,
 * a sixtieth as often.
 *
 * Run alone: npx tsx bench/sweep.ts [--due 2000] [--minutes 120]
 */

import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { createSweepHandler } from '#functions/sweep/sweep';
import { lambdaContext } from '#local/lambda-context';
import { DynamoCatalogStore } from '#shared/adapters/dynamodb/catalog-store';
import { DynamoFrozenStore } from '#shared/adapters/dynamodb/frozen-store';
import { DynamoMembershipStore } from '#shared/adapters/dynamodb/membership-store';
import { DynamoProfileStore } from '#shared/adapters/dynamodb/profile-store';
import { DETAIL_TYPES } from '#shared/contracts/detail-types';
import { DAY_MS } from '#shared/domain/time';
import type { DomainEvent } from '#shared/ports/event-publisher';
import { functionMemoryMb } from '#shared/resources';
import { loadRules } from '#shared/usecases/managed-segments';
import { ProfileWriter } from '#shared/usecases/profile-writer';
import { AWS_PRICES } from './aws-prices';
import { PLATFORM_LOG_BYTES } from './cost-model';
import { benchDynamo } from './dynalite';
import { type BenchResult, formatRate } from './harness';

const VISIT = Date.parse('2026-06-12T09:00:00.000Z');
const MINUTES_A_MONTH = 30 * 24 * 60;

export async function run(options: { due?: number; minutes?: number } = {}): Promise<BenchResult> {
  const dueCount = options.due ?? 2_000;
  const idleMinutes = options.minutes ?? 120;
  const { dynamo, cost, reset, stop } = await benchDynamo();
  const stores = {
    profiles: new DynamoProfileStore(dynamo, 'bench-profiles'),
    frozen: new DynamoFrozenStore(dynamo, 'bench-frozen'),
    catalog: new DynamoCatalogStore(dynamo, 'bench-catalog'),
    memberships: new DynamoMembershipStore(dynamo, 'bench-memberships'),
  };
  await stores.catalog.segments.put({
    id: 'recent-visitors',
    name: 'Visited in the last 3 days',
    condition: { type: 'event', within: { days: 3 } },
    revision: 1,
    languageVersion: 1,
    status: 'ready',
    createdAt: '2026-06-01T00:00:00.000Z',
    updatedAt: '2026-06-01T00:00:00.000Z',
  });
  let now = VISIT;
  const published: DomainEvent[] = [];
  const logger = new Logger({ serviceName: 'bench', logLevel: 'SILENT' });
  const publisher = { publish: async (events: readonly DomainEvent[]) => void published.push(...events) };
  const writer = new ProfileWriter({ ...stores, stats: stores.catalog, sizes: stores.catalog, publisher, logger, now: () => now });
  const sweep = createSweepHandler({ ...stores, writer, logger, now: () => now });
  const sweepAt = async (at: number) => {
    now = at;
    reset();
    const start = process.hrtime.bigint();
    const record = await sweep({ 'detail-type': 'Scheduled Event', detail: {} } as never, lambdaContext('sweep', 120_000));
    return { record, ms: Number(process.hrtime.bigint() - start) / 1e6, used: cost() };
  };

  // The crowd: one visit each, at the same minute, so all leave the window 72 hours later.
  const rules = await loadRules(stores.catalog);
  for (let i = 0; i < dueCount; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, dueCount - i) }, (_, k) => {
        const profileId = `p_${String(i + k).padStart(8, '0')}`;
        const event = {
          messageId: `v${i + k}`,
          type: 'page' as const,
          properties: {},
          traits: {},
          context: {},
          timestamp: new Date(VISIT).toISOString(),
          receivedAt: new Date(VISIT).toISOString(),
          channel: 'web' as const,
          sourceId: 'bench',
        };
        return writer.apply({ profileId, events: [event], identifiers: [], reason: 'events' }, rules);
      }),
    );
  }
  const leaves = VISIT + 3 * DAY_MS;
  await sweepAt(leaves - (idleMinutes + 1) * 60_000); // the sweep's state, before the idle minutes

  // Idle minutes first (the crowd is not due yet), each a run of its own, across an hour's boundary.
  let idleMs = 0;
  const idle = { reads: 0, writes: 0, readUnits: 0, writeUnits: 0 };
  for (let minute = 0; minute < idleMinutes; minute++) {
    const { ms, used } = await sweepAt(leaves - (idleMinutes - minute) * 60_000 + 5_000);
    idleMs += ms;
    for (const key of Object.keys(idle) as Array<keyof typeof idle>) idle[key] += used[key];
  }
  const perIdle = Object.fromEntries(Object.entries(idle).map(([key, value]) => [key, value / idleMinutes])) as typeof idle;
  const idleRunMs = idleMs / idleMinutes;

  // The crowd's minute: one run, the default budget.
  const publishedBefore = published.length;
  const due = await sweepAt(leaves + 5_000);
  if (due.record.status !== 'succeeded' || due.record.progress?.transitions !== dueCount) {
    throw new Error(`the sweep ended ${due.record.status} with ${String(due.record.progress?.transitions)} exits of ${dueCount}`);
  }
  const exits = published.slice(publishedBefore).filter((e) => e.detailType === DETAIL_TYPES.membershipChanged).length;
  await stop();

  const gbSeconds = (ms: number) => (ms / 1000) * (functionMemoryMb.sweep / 1024);
  // dynalite bills a query of an empty partition nothing; DynamoDB bills at least part of a unit. Priced at a whole one.
  const idleReadUnits = Math.max(perIdle.readUnits, perIdle.reads);
  const idleMonth = {
    dynamo: MINUTES_A_MONTH * (idleReadUnits * AWS_PRICES.dynamoReadUnit + perIdle.writeUnits * AWS_PRICES.dynamoWriteUnit),
    lambda: MINUTES_A_MONTH * (AWS_PRICES.lambdaRequest + gbSeconds(idleRunMs) * AWS_PRICES.lambdaArmGbSecond),
    logs: (MINUTES_A_MONTH * PLATFORM_LOG_BYTES * AWS_PRICES.logsIngestGb) / 1024 ** 3,
  };
  const idleMonthTotal = idleMonth.dynamo + idleMonth.lambda + idleMonth.logs;
  const perDue = {
    reads: due.used.reads / dueCount,
    writes: due.used.writes / dueCount,
    readUnits: due.used.readUnits / dueCount,
    writeUnits: due.used.writeUnits / dueCount,
  };
  const dueDollarsPerMillion =
    1e6 *
    (perDue.readUnits * AWS_PRICES.dynamoReadUnit +
      perDue.writeUnits * AWS_PRICES.dynamoWriteUnit +
      gbSeconds(due.ms / dueCount) * AWS_PRICES.lambdaArmGbSecond +
      (exits / dueCount) * AWS_PRICES.eventBridgeEvent);
  return {
    name: 'sweep',
    description: `time sweep every minute on dynalite: ${idleMinutes} idle minutes, then ${formatRate(dueCount)} profiles due in one minute`,
    unit: 'profiles/s',
    figures: {
      'due profiles re-evaluated/s': dueCount / (due.ms / 1000),
      'idle run (ms)': idleRunMs,
      'idle month, every minute ($)': idleMonthTotal,
      'idle month, hourly as before ($)': idleMonthTotal / 60,
      '$ per million due profiles': dueDollarsPerMillion,
    },
    units: {
      'idle run (ms)': 'ms',
      'idle month, every minute ($)': '$',
      'idle month, hourly as before ($)': '$',
      '$ per million due profiles': '$',
    },
    ratios: {},
    table: [
      `an idle minute: ${perIdle.reads.toFixed(1)} reads (${perIdle.readUnits.toFixed(1)} RRU on dynalite, priced as ${idleReadUnits.toFixed(1)}), ${perIdle.writes.toFixed(1)} writes (${perIdle.writeUnits.toFixed(1)} WRU), ${idleRunMs.toFixed(0)} ms`,
      `a month of idle minutes (${formatRate(MINUTES_A_MONTH)} runs): DynamoDB $${idleMonth.dynamo.toFixed(3)}, Lambda $${idleMonth.lambda.toFixed(3)} (${formatRate(MINUTES_A_MONTH)} requests, ${functionMemoryMb.sweep} MB x ${idleRunMs.toFixed(0)} ms), logs $${idleMonth.logs.toFixed(3)}: $${idleMonthTotal.toFixed(2)}`,
      `a due profile: ${perDue.reads.toFixed(2)} reads (${perDue.readUnits.toFixed(2)} RRU), ${perDue.writes.toFixed(2)} writes (${perDue.writeUnits.toFixed(2)} WRU), ${(exits / dueCount).toFixed(2)} bus events, ${(due.ms / dueCount).toFixed(1)} ms`,
      `durations are dynalite's on this machine; on AWS each call takes a few ms more: at 100 ms an idle run, Lambda is $${(MINUTES_A_MONTH * (AWS_PRICES.lambdaRequest + gbSeconds(100) * AWS_PRICES.lambdaArmGbSecond)).toFixed(3)} a month`,
    ],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printResult } = await import('./harness');
  const { values } = parseArgs({ options: { due: { type: 'string' }, minutes: { type: 'string' } } });
  printResult(
    await run({ due: values.due ? Number(values.due) : undefined, minutes: values.minutes ? Number(values.minutes) : undefined }),
  );
}
