/**
 * Time sweep: every hour, re-evaluates exactly the profiles whose memberships
 * can change with time by now (the sparse `due` index), so a membership that
 * depended on "the last 7 days" ends on time without a new event. Each run
 * records the last hour it swept; the next one resumes after it.
 */
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import type { CatalogStore, RunRecord } from '../../shared/adapters/dynamodb/catalog-store';
import type { ProfileStore } from '../../shared/adapters/dynamodb/profile-store';
import { DUE_SHARDS } from '../../shared/domain/next-change';
import type { Logger } from '../../shared/logger';
import type { ProfileWriter } from '../../shared/usecases/profile-writer';
import { loadSegments } from '../../shared/usecases/reevaluate';

export const SWEEP_SCOPE = 'job#sweep';
const HOUR_MS = 3_600_000;
/** How far back a first run (or one after an outage) looks; the daily freeze covers anything older. */
const LOOK_BACK_HOURS = 48;

export interface SweepDeps {
  catalog: CatalogStore;
  profiles: ProfileStore;
  writer: ProfileWriter;
  logger: Logger;
  now: () => number;
}

const hourOf = (ms: number) => new Date(Math.floor(ms / HOUR_MS) * HOUR_MS).toISOString().slice(0, 13);

export function createSweepHandler(deps: SweepDeps) {
  const handle = async (): Promise<RunRecord> => {
    const now = deps.now();
    const until = Math.floor(now / HOUR_MS) * HOUR_MS;
    const [last] = await deps.catalog.listRuns(SWEEP_SCOPE, 1);
    const lastSwept = last ? Date.parse(`${last.runId}:00:00.000Z`) : until - LOOK_BACK_HOURS * HOUR_MS;
    const from = Math.max(lastSwept + HOUR_MS, until - LOOK_BACK_HOURS * HOUR_MS);
    const startedAt = new Date(now).toISOString();
    const catalog = await loadSegments(deps.catalog);
    let profiles = 0;
    let transitions = 0;
    for (let hour = from; hour <= until; hour += HOUR_MS) {
      for (let shard = 0; shard < DUE_SHARDS; shard++) {
        let cursor: string | undefined;
        do {
          const page = await deps.profiles.due(`${hourOf(hour)}#${shard}`, cursor, 100);
          for (const profile of await deps.profiles.getMany(page.items)) {
            // A profile re-scheduled since it was indexed is only re-evaluated early: harmless.
            const outcome = await deps.writer.apply({ profileId: profile.profileId, events: [], identifiers: [], reason: 'time' }, catalog, profile);
            profiles++;
            transitions += outcome.transitions.length;
          }
          cursor = page.cursor;
        } while (cursor);
      }
    }
    const run: RunRecord = {
      runId: hourOf(until),
      status: 'succeeded',
      startedAt,
      finishedAt: new Date(deps.now()).toISOString(),
      progress: { fromHour: hourOf(from), profiles, transitions },
    };
    await deps.catalog.putRun(SWEEP_SCOPE, run);
    deps.logger.info('time sweep done', { runId: run.runId, profiles, transitions });
    return run;
  };
  return middy<EventBridgeEvent<string, unknown>, RunRecord, Error, Context>().handler(handle);
}
