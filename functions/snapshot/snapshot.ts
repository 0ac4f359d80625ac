/**
 * Snapshot: takes audience snapshots on request (an EventBridge event from the
 * admin API) and on schedule (a sweep that takes those whose cron is due), and
 * rewrites earlier runs without an erased person (`Profile Erased`, then its own
 * `Snapshot Scrub Requested` hand-offs).
 */
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { flushMetrics } from '#shared/adapters/metrics/flush-metrics';
import { DETAIL_TYPES } from '#shared/contracts/detail-types';
import { isSnapshotDue, newRunId } from '#shared/domain/audiences';
import { NO_METRICS } from '#shared/ports/metrics';
import { scrubSnapshotsStep } from '#shared/usecases/scrub-snapshots';
import { runScope, type SnapshotDeps, takeSnapshot } from '#shared/usecases/take-snapshot';

export type SnapshotEvent = EventBridgeEvent<string, { audienceId?: string; runId?: string; erasureId?: string; step?: number }>;
export type SnapshotHandler = (event: SnapshotEvent, context: Context) => Promise<{ runs: string[] }>;

export function createSnapshotHandler(deps: SnapshotDeps & { scrubSafetyMs?: number }): SnapshotHandler {
  const handle = async (event: SnapshotEvent, context: Context) => {
    const detailType = event['detail-type'];
    if (detailType === DETAIL_TYPES.profileErased || detailType === DETAIL_TYPES.snapshotScrubRequested) {
      const { erasureId, step = 0 } = event.detail;
      if (!erasureId) throw new Error(`${detailType} without erasureId`);
      const outcome = await scrubSnapshotsStep(erasureId, step, deps, () => context.getRemainingTimeInMillis(), deps.scrubSafetyMs);
      deps.logger.info('erasure scrub step', { erasureId, step, outcome });
      return { runs: [] };
    }
    if (event['detail-type'] === DETAIL_TYPES.snapshotRequested) {
      const { audienceId, runId } = event.detail;
      if (!audienceId || !runId) throw new Error('snapshot request without audienceId and runId');
      await takeSnapshot(audienceId, runId, deps);
      return { runs: [runId] };
    }
    // Scheduled sweep: every audience whose own cron fired since its last run.
    const runs: string[] = [];
    const failed: string[] = [];
    for (const audience of await deps.catalog.audiences.list()) {
      if (audience.status !== 'approved') continue; // a draft exports nothing, on schedule or not
      const [last] = await deps.catalog.listRuns(runScope(audience.id), 1);
      if (!isSnapshotDue(audience, last?.startedAt, deps.now())) continue;
      const runId = newRunId(deps.now());
      try {
        await takeSnapshot(audience.id, runId, deps);
        runs.push(runId);
      } catch (error) {
        failed.push(audience.id);
        deps.logger.error('scheduled snapshot failed', { audienceId: audience.id, runId, error: error as Error });
      }
    }
    deps.logger.info('snapshot sweep done', { taken: runs.length, failed: failed.length });
    if (failed.length > 0) throw new Error(`scheduled snapshots failed for ${failed.join(', ')}`);
    return { runs };
  };
  return middy<SnapshotEvent, { runs: string[] }>()
    .use(flushMetrics(deps.metrics ?? NO_METRICS, deps.logger))
    .handler(handle);
}
