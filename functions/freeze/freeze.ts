/**
 * Daily freeze: walks every profile and re-evaluates its memberships as of now,
 * so memberships whose time windows have passed end without a new event.
 * (Frozen indicators such as RFM and clusters join this job with issue 6.)
 * A run that nears the function's timeout hands its cursor to a fresh invocation.
 */
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import type { CatalogStore, RunRecord } from '../../shared/adapters/dynamodb/catalog-store';
import { DETAIL_TYPES, type EventPublisher } from '../../shared/adapters/eventbridge/event-publisher';
import { newRunId } from '../../shared/domain/audiences';
import type { Logger } from '../../shared/logger';
import { FREEZE_SCOPE, loadSegments, reevaluatePage, type ReevaluateDeps } from '../../shared/usecases/reevaluate';

export interface FreezeDeps extends ReevaluateDeps {
  catalog: CatalogStore;
  publisher: EventPublisher;
  logger: Logger;
  now: () => number;
}

interface FreezeDetail {
  runId?: string;
  cursor?: string;
  profiles?: number;
  transitions?: number;
}
export type FreezeEvent = EventBridgeEvent<string, FreezeDetail>;

/** Leave this much of the invocation for the hand-off. */
const SAFETY_MS = 60_000;

export function createFreezeHandler(deps: FreezeDeps) {
  const handle = async (event: FreezeEvent, context: Context): Promise<RunRecord> => {
    const requested = event['detail-type'] === DETAIL_TYPES.freezeRequested;
    const runId = (requested && event.detail.runId) || newRunId(deps.now());
    const existing = await deps.catalog.getRun(FREEZE_SCOPE, runId);
    const run: RunRecord = {
      runId,
      status: 'running',
      startedAt: existing?.status === 'running' ? existing.startedAt : new Date(deps.now()).toISOString(),
    };
    let cursor = requested ? event.detail.cursor : undefined;
    let profiles = (requested && event.detail.profiles) || 0;
    let transitions = (requested && event.detail.transitions) || 0;
    const catalog = await loadSegments(deps.catalog);
    deps.logger.info('freeze started', { runId, resumedAt: profiles, segments: catalog.segments.length });

    try {
      do {
        const page = await reevaluatePage(cursor, catalog, deps, 'time');
        profiles += page.profiles;
        transitions += page.transitions;
        cursor = page.cursor;
        await deps.catalog.putRun(FREEZE_SCOPE, { ...run, progress: { profiles, transitions } });
        if (cursor && context.getRemainingTimeInMillis() < SAFETY_MS) {
          await deps.publisher.publish([
            { detailType: DETAIL_TYPES.freezeRequested, detail: { version: 1, runId, cursor, profiles, transitions } },
          ]);
          deps.logger.info('freeze continues in a new invocation', { runId, profiles });
          return { ...run, progress: { profiles, transitions } };
        }
      } while (cursor);
    } catch (error) {
      const failed: RunRecord = { ...run, status: 'failed', finishedAt: new Date(deps.now()).toISOString(), progress: { profiles, transitions }, error: (error as Error).message };
      await deps.catalog.putRun(FREEZE_SCOPE, failed);
      throw error;
    }
    const finishedAt = new Date(deps.now()).toISOString();
    const done: RunRecord = {
      ...run,
      status: 'succeeded',
      finishedAt,
      progress: { profiles, transitions, durationMs: Date.parse(finishedAt) - Date.parse(run.startedAt) },
    };
    await deps.catalog.putRun(FREEZE_SCOPE, done);
    deps.logger.info('freeze finished', { runId, profiles, transitions });
    return done;
  };
  return middy<FreezeEvent, RunRecord>().handler(handle);
}
