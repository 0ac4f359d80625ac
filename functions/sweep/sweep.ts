/**
 * Time sweep: every minute, re-evaluates exactly the profiles whose memberships can change with time
 * by now (the sparse `due` index, by minute and shard), so "visited in the last 30 minutes" ends within
 * a minute of its exact end without a new event. One state record says where the sweep stands; a run
 * catches up the minutes since (after an outage, up to `sweepSettings.catchUpHours`), works for at most
 * `sweepSettings.budgetSeconds` and, with profiles left, records its position for the next minute's run.
 */
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { flushMetrics } from '#shared/adapters/metrics/flush-metrics';
import { eachConcurrently } from '#shared/concurrency';
import { dueKeysAt, floorMinute, MINUTE_MS, minuteOf, nextPosition, parseMinute, type SweepPosition } from '#shared/domain/due-index';
import type { Logger } from '#shared/logger';
import type { CatalogStore, RunRecord } from '#shared/ports/catalog';
import { type MetricsRecorder, NO_METRICS } from '#shared/ports/metrics';
import type { ProfileStore } from '#shared/ports/profiles';
import { sweepSettings } from '#shared/resources';
import { loadRules } from '#shared/usecases/managed-segments';
import type { ProfileWriter } from '#shared/usecases/profile-writer';

export const SWEEP_SCOPE = 'job#sweep';
/** The run id of the sweep's state record (earlier versions kept one record per hour, `2026-03-18T09`). */
export const SWEEP_STATE = 'latest';
const HOUR_MS = 3_600_000;
/** Leave this much of the invocation for the state write. */
const SAFETY_MS = 10_000;
const PAGE = 100;

export interface SweepDeps {
  catalog: CatalogStore;
  profiles: ProfileStore;
  writer: ProfileWriter;
  logger: Logger;
  now: () => number;
  /** Work budget of one run, ms of real time (default `sweepSettings.budgetSeconds`). */
  budgetMs?: number;
  /** Profiles per page of the due index (default 100). */
  pageSize?: number;
  /** Profiles re-evaluated, and how far behind now a run ends: written at the end of each run. */
  metrics?: MetricsRecorder;
}

/** Where this run starts: where the last one left off, not before the catch-up horizon. */
async function startingPosition(catalog: CatalogStore, until: number): Promise<SweepPosition> {
  const earliest = until - sweepSettings.catchUpHours * HOUR_MS;
  const state = await catalog.getRun(SWEEP_SCOPE, SWEEP_STATE);
  const saved = state?.progress?.next as { minute: string; key: number; cursor?: string } | undefined;
  let position: SweepPosition;
  if (saved) position = { minute: parseMinute(saved.minute), key: saved.key, cursor: saved.cursor };
  else {
    // An hourly record of an earlier version swept the hour keys up to its hour; none: a first run,
    // whose profiles were all filed at or after their write, so an hour back is plenty.
    const [hourly] = await catalog.listRuns(SWEEP_SCOPE, 1);
    const hour = hourly ? Date.parse(`${hourly.runId}:00:00.000Z`) : NaN;
    position = { minute: Number.isFinite(hour) ? hour + MINUTE_MS : until - HOUR_MS + MINUTE_MS, key: 0 };
  }
  return !(position.minute >= earliest) ? { minute: earliest, key: 0 } : position;
}

export function createSweepHandler(deps: SweepDeps) {
  const handle = async (_event: unknown, context: Context): Promise<RunRecord> => {
    const started = Date.now();
    const deadline =
      started + Math.min(deps.budgetMs ?? sweepSettings.budgetSeconds * 1000, context.getRemainingTimeInMillis() - SAFETY_MS);
    const until = floorMinute(deps.now());
    const startedAt = new Date(deps.now()).toISOString();
    const from = await startingPosition(deps.catalog, until);
    let position = from;
    let profiles = 0;
    let transitions = 0;
    let failed = 0;
    if (position.minute <= until) {
      const rules = await loadRules(deps.catalog);
      // At least one page per run, so a budget too small for more still moves on.
      do {
        const page = await deps.profiles.due(dueKeysAt(position.minute)[position.key]!, position.cursor, deps.pageSize ?? PAGE);
        await eachConcurrently(await deps.profiles.getMany(page.items), sweepSettings.concurrency, async (profile) => {
          // A profile re-scheduled since it was indexed is only re-evaluated early: harmless. One that
          // fails is left to the next event or the daily freeze, not allowed to stop everyone else's exits.
          try {
            const outcome = await deps.writer.apply(
              { profileId: profile.profileId, events: [], identifiers: [], reason: 'time' },
              rules,
              profile,
            );
            transitions += outcome.transitions.length;
          } catch (error) {
            failed++;
            deps.logger.error('time sweep could not re-evaluate a profile', { profileId: profile.profileId, error: error as Error });
          }
          profiles++;
        });
        position = nextPosition(position, page.cursor);
      } while (position.minute <= until && Date.now() < deadline);
    }
    const caughtUp = position.minute > until;
    const run: RunRecord = {
      runId: SWEEP_STATE,
      status: caughtUp ? 'succeeded' : 'running',
      startedAt,
      finishedAt: new Date(deps.now()).toISOString(),
      progress: {
        from: minuteOf(from.minute),
        sweptTo: minuteOf(caughtUp ? until : position.minute - MINUTE_MS),
        next: { minute: minuteOf(position.minute), key: position.key, ...(position.cursor && { cursor: position.cursor }) },
        profiles,
        transitions,
        failed,
      },
    };
    await deps.catalog.putRun(SWEEP_SCOPE, run);
    const metrics = deps.metrics ?? NO_METRICS;
    if (profiles > 0) metrics.add('sweepDueProfiles', profiles, {});
    // Every run says how far behind it ends (0 when caught up), so a sweep that stops running shows too.
    metrics.add('sweepLag', caughtUp ? 0 : (until - position.minute) / 1000 + 60, {});
    const summary = { from: run.progress!.from, sweptTo: run.progress!.sweptTo, profiles, transitions, failed, ms: Date.now() - started };
    // A line a minute when there was nothing to do would drown the log.
    if (caughtUp && profiles === 0) deps.logger.debug('time sweep done', summary);
    else if (caughtUp) deps.logger.info('time sweep done', summary);
    // Behind: many profiles due at once, or an outage to catch up on. The next minute's run goes on.
    else deps.logger.warn('time sweep continues at the next run', { ...summary, behindMinutes: (until - position.minute) / MINUTE_MS + 1 });
    return run;
  };
  return middy<EventBridgeEvent<string, unknown>, RunRecord, Error, Context>()
    .use(flushMetrics(deps.metrics ?? NO_METRICS, deps.logger))
    .handler(handle);
}
