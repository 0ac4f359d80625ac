/** The freeze function: each `Freeze Requested` event (or the daily schedule) is one step of a run. */
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { flushMetrics } from '#shared/adapters/metrics/flush-metrics';
import { DETAIL_TYPES } from '#shared/contracts/detail-types';
import { NO_METRICS } from '#shared/ports/metrics';
import { type FreezeDeps, type FreezeDetail, freezeStep } from '#shared/usecases/freeze';

export type FreezeEvent = EventBridgeEvent<string, FreezeDetail>;

export function createFreezeHandler(deps: FreezeDeps) {
  return middy<FreezeEvent, void>()
    .use(flushMetrics(deps.metrics ?? NO_METRICS, deps.logger))
    .handler(async (event: FreezeEvent, context: Context) => {
      // The schedule's event starts a run; a request or a worker's hand-off carries its detail.
      const detail = event['detail-type'] === DETAIL_TYPES.freezeRequested ? event.detail : {};
      await freezeStep(detail, () => context.getRemainingTimeInMillis(), deps);
    });
}
