/** Jobs: replay and the freeze on demand, the runs of every job, and what waits in the DLQ. */
import { z } from 'zod';
import { DAY_MS } from '#shared/domain/time';
import { badRequest, NotFoundError } from '#shared/errors';
import { json } from '#shared/http/api';
import { BACKFILL_SCOPE } from '#shared/usecases/backfill';
import { FREEZE_SCOPE } from '#shared/usecases/reevaluate';
import { REPLAY_SCOPE } from '#shared/usecases/replay';
import { requestFreeze, requestReplay } from '#shared/usecases/request-job';
import { route } from '../deps';
import { day, limitQuery } from '../queries';

const replayBody = z
  .strictObject({ from: day, to: day })
  .refine((r) => r.from <= r.to, { path: ['to'], message: 'must not be before from' })
  .refine((r) => Date.parse(r.to) - Date.parse(r.from) <= 400 * DAY_MS, { path: ['to'], message: 'at most 400 days after from' });

/** No body, or an instant in the past the indicators are computed as of (a history imported up to then). */
const freezeBody = z.strictObject({ asOf: z.iso.datetime({ offset: true }).optional() }).optional();

/** The runs of each job: newest first, and one by id. */
const runRoutes = (job: string, scope: string) => [
  route({
    method: 'GET',
    path: `/v1/jobs/${job}/runs`,
    summary: `Runs of the ${job} job, newest first`,
    query: limitQuery,
    handle: async ({ query }, deps) => json(200, { runs: await deps.catalog.listRuns(scope, query.limit) }),
  }),
  route({
    method: 'GET',
    path: `/v1/jobs/${job}/runs/{runId}`,
    summary: `One run of the ${job} job and its progress`,
    handle: async ({ params }, deps) => {
      const run = await deps.catalog.getRun(scope, params.runId);
      if (!run) throw new NotFoundError(`${job} run ${params.runId}`);
      return json(200, run);
    },
  }),
];

export const jobRoutes = [
  route({
    method: 'POST',
    path: '/v1/jobs/replay',
    summary: 'Send archived events of some days through the processor again, as a job',
    status: [202],
    body: replayBody,
    handle: async ({ body }, deps) => {
      const runId = await requestReplay(body.from, body.to, deps);
      return json(202, { runId, status: 'requested', links: { run: `/v1/jobs/replay/runs/${runId}` } });
    },
  }),
  route({
    method: 'POST',
    path: '/v1/jobs/freeze',
    summary: 'Run the daily freeze now (or as of an earlier instant), as a job',
    status: [202],
    body: freezeBody,
    handle: async ({ body }, deps) => {
      const asOf = body?.asOf === undefined ? undefined : Date.parse(body.asOf);
      if (asOf !== undefined && asOf > deps.now())
        throw badRequest('asOf is in the future', [{ path: 'asOf', message: 'must not be in the future' }]);
      const runId = await requestFreeze(deps, asOf);
      return json(202, { runId, status: 'requested', links: { run: `/v1/jobs/freeze/runs/${runId}` } });
    },
  }),
  // What waits for an operator; inspected and redriven with `npm run prisme -- dlq`.
  route({
    method: 'GET',
    path: '/v1/jobs/dlq',
    summary: 'About how many messages wait in the dead-letter queue',
    handle: async (_, deps) => json(200, { messages: await deps.queue.parked() }),
  }),
  ...runRoutes('replay', REPLAY_SCOPE),
  ...runRoutes('freeze', FREEZE_SCOPE),
  ...runRoutes('backfill', BACKFILL_SCOPE),
];
