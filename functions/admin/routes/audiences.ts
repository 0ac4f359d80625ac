/** Audiences: drafts until approved, snapshots on demand or by schedule, their runs, KPIs and ESP links. */
import { z } from 'zod';
import { AUDIENCE_ID_PATTERN, audienceInputSchema } from '#shared/domain/audiences';
import { InvalidInputError, NotFoundError } from '#shared/errors';
import { json } from '#shared/http/api';
import { approvalPreview, approveAudience } from '#shared/usecases/approve-audience';
import { audienceKpis } from '#shared/usecases/audience-kpis';
import { espFileLink } from '#shared/usecases/esp-link';
import { requestSnapshot } from '#shared/usecases/request-job';
import { saveAudience } from '#shared/usecases/save-audience';
import { runScope } from '#shared/usecases/take-snapshot';
import { callerOf } from '../caller';
import { route } from '../deps';
import { kpiQuery, limitQuery, linkQuery } from '../queries';

/** Optional: on AWS the caller's identity names the approver. */
const approvalBody = z.strictObject({ approvedBy: z.string().trim().min(1).max(200).optional() }).optional();

export const audienceRoutes = [
  route({
    method: 'GET',
    path: '/v1/audiences',
    summary: 'Audiences',
    handle: async (_, deps) => json(200, { audiences: await deps.catalog.audiences.list() }),
  }),
  route({
    method: 'PUT',
    path: '/v1/audiences/{audienceId}',
    summary: 'Create or change an audience (a draft until approved)',
    status: [200, 201],
    body: audienceInputSchema,
    handle: async ({ params, body }, deps) => {
      if (!AUDIENCE_ID_PATTERN.test(params.audienceId))
        throw new InvalidInputError('audience id must be 1-64 of a-z, 0-9, _ and -', [{ path: 'audienceId', message: 'invalid id' }]);
      const { audience, created } = await saveAudience(params.audienceId, body, deps);
      return json(created ? 201 : 200, audience);
    },
  }),
  route({
    method: 'GET',
    path: '/v1/audiences/{audienceId}',
    summary: 'An audience',
    handle: async ({ params }, deps) => {
      const audience = await deps.catalog.audiences.get(params.audienceId);
      if (!audience) throw new NotFoundError(`audience ${params.audienceId}`);
      return json(200, audience);
    },
  }),
  route({
    method: 'DELETE',
    path: '/v1/audiences/{audienceId}',
    summary: 'Delete an audience',
    status: [204],
    handle: async ({ params }, deps) => {
      if (!(await deps.catalog.audiences.delete(params.audienceId))) throw new NotFoundError(`audience ${params.audienceId}`);
      return { statusCode: 204 };
    },
  }),
  route({
    method: 'GET',
    path: '/v1/audiences/{audienceId}/preview',
    summary: 'What approving would publish: size against the last approval, and the guard',
    handle: async ({ params }, deps) => json(200, await approvalPreview(params.audienceId, deps)),
  }),
  route({
    method: 'POST',
    path: '/v1/audiences/{audienceId}/approve',
    summary: 'Approve an audience as it is now',
    body: approvalBody,
    handle: async ({ event, params, body }, deps) =>
      json(200, await approveAudience(params.audienceId, callerOf(event, body?.approvedBy), deps)),
  }),
  route({
    method: 'POST',
    path: '/v1/audiences/{audienceId}/snapshots',
    summary: 'Take a snapshot now, as a job',
    status: [202],
    handle: async ({ params }, deps) => {
      const runId = await requestSnapshot(params.audienceId, deps);
      return json(202, {
        audienceId: params.audienceId,
        runId,
        status: 'requested',
        links: { run: `/v1/audiences/${params.audienceId}/snapshots/${runId}` },
      });
    },
  }),
  route({
    method: 'GET',
    path: '/v1/audiences/{audienceId}/snapshots',
    summary: 'Snapshot runs, newest first',
    query: limitQuery,
    handle: async ({ params, query }, deps) => json(200, { runs: await deps.catalog.listRuns(runScope(params.audienceId), query.limit) }),
  }),
  route({
    method: 'GET',
    path: '/v1/audiences/{audienceId}/snapshots/{runId}',
    summary: 'One snapshot run: status, counts, files',
    handle: async ({ params }, deps) => {
      const run = await deps.catalog.getRun(runScope(params.audienceId), params.runId);
      if (!run) throw new NotFoundError(`snapshot run ${params.runId}`);
      return json(200, run);
    },
  }),
  route({
    method: 'GET',
    path: '/v1/audiences/{audienceId}/kpis',
    summary: 'Audience KPIs over its runs',
    query: kpiQuery,
    handle: async ({ params, query }, deps) => json(200, await audienceKpis(params.audienceId, query, deps)),
  }),
  route({
    method: 'GET',
    path: '/v1/audiences/{audienceId}/snapshots/{runId}/esp-url',
    summary: "A presigned link to a run's ESP file",
    query: linkQuery,
    handle: async ({ params, query }, deps) => json(200, await espFileLink(params.audienceId, params.runId, query, deps)),
  }),
];
