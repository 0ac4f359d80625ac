/**
 * Jobs the admin API starts and the workers finish: each is recorded as a run first (so it can be
 * followed at once), then handed over through the queue or the bus, where it is retried until done.
 */

import { DETAIL_TYPES } from '../contracts/detail-types';
import { newRunId } from '../domain/audiences';
import { ConflictError, NotFoundError } from '../errors';
import type { Logger } from '../logger';
import type { DefinitionStore, RunStore } from '../ports/catalog';
import type { EventPublisher } from '../ports/event-publisher';
import type { EventQueue } from '../ports/event-queue';
import { ERASURES_SCOPE, newErasureId } from './erase-profile';
import { FREEZE_SCOPE } from './reevaluate';
import { REPLAY_SCOPE } from './replay';
import { runScope } from './take-snapshot';

export interface RequestJobDeps {
  catalog: Pick<RunStore, 'putRun'>;
  queue: Pick<EventQueue, 'send'>;
  publisher: EventPublisher;
  logger: Logger;
  now: () => number;
}

const startedNow = (deps: Pick<RequestJobDeps, 'now'>) => ({ status: 'requested' as const, startedAt: new Date(deps.now()).toISOString() });

/** The right to erasure (GDPR art. 17): done by the processor, through the queue, retried until complete. */
export async function requestErasure(profileId: string, deps: RequestJobDeps): Promise<string> {
  const erasureId = newErasureId(deps.now());
  await deps.catalog.putRun(ERASURES_SCOPE, { runId: erasureId, ...startedNow(deps) });
  await deps.queue.send({ v: 1, kind: 'erase-profile', profileId, erasureId });
  deps.logger.info('erasure requested', { erasureId });
  return erasureId;
}

/**
 * The daily freeze, now: its workers fan out from the `Freeze Requested` event. `asOf` (epoch ms, in
 * the past) computes the indicators as of then, for a history imported up to that day.
 */
export async function requestFreeze(deps: RequestJobDeps, asOf?: number): Promise<string> {
  const runId = newRunId(deps.now());
  const progress = asOf === undefined ? {} : { progress: { asOf: new Date(asOf).toISOString() } };
  await deps.catalog.putRun(FREEZE_SCOPE, { runId, ...startedNow(deps), ...progress });
  await deps.publisher.publish([
    { detailType: DETAIL_TYPES.freezeRequested, detail: { version: 1, runId, ...(asOf !== undefined && { asOf }) } },
  ]);
  return runId;
}

/** Archived events of the days `from` to `to` through the processor again, a day per step. */
export async function requestReplay(from: string, to: string, deps: RequestJobDeps): Promise<string> {
  const runId = newRunId(deps.now());
  await deps.catalog.putRun(REPLAY_SCOPE, { runId, ...startedNow(deps), progress: { from, to } });
  await deps.queue.send({ v: 1, kind: 'replay', runId, from, to, day: from });
  deps.logger.info('replay requested', { runId, from, to });
  return runId;
}

/** A snapshot of an approved audience now, taken by the snapshot function. */
export async function requestSnapshot(
  audienceId: string,
  deps: RequestJobDeps & { catalog: Pick<DefinitionStore, 'audiences'> },
): Promise<string> {
  const audience = await deps.catalog.audiences.get(audienceId);
  if (!audience) throw new NotFoundError(`audience ${audienceId}`);
  if (audience.status !== 'approved')
    throw new ConflictError(`audience ${audience.id} is a draft: approve it first (POST /v1/audiences/${audience.id}/approve)`);
  const runId = newRunId(deps.now());
  await deps.catalog.putRun(runScope(audience.id), { runId, ...startedNow(deps) });
  await deps.publisher.publish([{ detailType: DETAIL_TYPES.snapshotRequested, detail: { version: 1, audienceId: audience.id, runId } }]);
  return runId;
}
