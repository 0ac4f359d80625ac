/** Segments: save (then evaluated by a job), preview before saving, sizes, members, history, migrations and their forecast. */

import { z } from 'zod';
import { conditionSchema, SEGMENT_ID_PATTERN, segmentInputSchema, segmentJsonSchema } from '#shared/domain/segment-definition';
import { dependenciesOf } from '#shared/domain/segment-dependencies';
import { segmentHistory } from '#shared/domain/segment-history';
import { DAY_MS } from '#shared/domain/time';
import { InvalidInputError, NotFoundError } from '#shared/errors';
import { json } from '#shared/http/api';
import { deleteSegment } from '#shared/usecases/delete-segment';
import { migrationForecast } from '#shared/usecases/migration-forecast';
import { previewSegment } from '#shared/usecases/preview-segment';
import { saveSegment } from '#shared/usecases/save-segment';
import { segmentMigrations } from '#shared/usecases/segment-migrations';
import { segmentSizes } from '#shared/usecases/segment-sizes';
import { type AdminDeps, route } from '../deps';
import { forecastQuery, historyQuery, pageQuery, periodQuery } from '../queries';

const previewBody = z.strictObject({
  condition: conditionSchema,
  sampleSize: z.number().int().min(0).max(100).optional(),
  /** A shorter scan than the server's budget: a quick lower bound while someone is still typing. */
  budgetMs: z.number().int().min(100).max(60_000).optional(),
});

const segmentOf = async (segmentId: string, deps: AdminDeps) => {
  const segment = await deps.catalog.segments.get(segmentId);
  if (!segment) throw new NotFoundError(`segment ${segmentId}`);
  return segment;
};

export const segmentRoutes = [
  route({
    method: 'POST',
    path: '/v1/segments/preview',
    summary: 'The size and a sample of a condition before saving it',
    body: previewBody,
    handle: async ({ body }, deps) => json(200, await previewSegment(body, deps)),
  }),
  route({
    method: 'GET',
    path: '/v1/migrations',
    summary: 'Moves between segments over a period',
    query: periodQuery,
    handle: async ({ query }, deps) => json(200, await segmentMigrations(query, deps)),
  }),
  route({
    method: 'GET',
    path: '/v1/segments/migrations/forecast',
    summary: "The odds of moving between a family's segments within some days, per state and per person",
    query: forecastQuery,
    handle: async ({ query }, deps) => json(200, await migrationForecast(query, deps)),
  }),
  route({
    method: 'GET',
    path: '/v1/schemas/segment',
    summary: "The segment condition's JSON Schema",
    handle: async () => json(200, segmentJsonSchema()),
  }),
  route({
    method: 'GET',
    path: '/v1/segments',
    summary: 'Segments with their sizes',
    handle: async (_, deps) => {
      const segments = await deps.catalog.segments.list();
      const sizes = await segmentSizes(
        segments.map((s) => s.id),
        deps,
      );
      return json(200, { segments: segments.map((s) => ({ ...s, size: sizes.get(s.id)! })) });
    },
  }),
  route({
    method: 'PUT',
    path: '/v1/segments/{segmentId}',
    summary: 'Create or change a segment; stored profiles are evaluated by a backfill job',
    status: [200, 201],
    body: segmentInputSchema,
    handle: async ({ params, body }, deps) => {
      if (!SEGMENT_ID_PATTERN.test(params.segmentId)) {
        throw new InvalidInputError('segment id must be 1-64 of a-z, 0-9, _ and -, starting with a letter or digit', [
          { path: 'segmentId', message: 'invalid id' },
        ]);
      }
      const { segment, created, backfillRunId } = await saveSegment(params.segmentId, body, deps);
      return json(
        created ? 201 : 200,
        backfillRunId ? { ...segment, links: { backfill: `/v1/jobs/backfill/runs/${backfillRunId}` } } : segment,
      );
    },
  }),
  route({
    method: 'GET',
    path: '/v1/segments/{segmentId}',
    summary: 'A segment, its size and what it depends on',
    handle: async ({ params }, deps) => {
      const segment = await segmentOf(params.segmentId, deps);
      const size = (await segmentSizes([segment.id], deps)).get(segment.id)!;
      return json(200, { ...segment, size, dependsOn: dependenciesOf(segment.condition) });
    },
  }),
  route({
    method: 'DELETE',
    path: '/v1/segments/{segmentId}',
    summary: 'Delete a segment no audience or segment depends on',
    status: [204],
    handle: async ({ params }, deps) => {
      await deleteSegment(params.segmentId, deps);
      return { statusCode: 204 };
    },
  }),
  route({
    method: 'GET',
    path: '/v1/segments/{segmentId}/history',
    summary: 'Size, entries and exits per day',
    query: historyQuery,
    handle: async ({ params, query }, deps) => {
      const segment = await segmentOf(params.segmentId, deps);
      const now = deps.now();
      const fromDay = new Date(now - (query.days - 1) * DAY_MS).toISOString().slice(0, 10);
      const [sizes, changes] = await Promise.all([segmentSizes([segment.id], deps), deps.catalog.dailyChanges(segment.id, fromDay)]);
      const size = sizes.get(segment.id)!;
      return json(200, { segmentId: segment.id, days: segmentHistory(size, changes, query.days, now) });
    },
  }),
  route({
    method: 'GET',
    path: '/v1/segments/{segmentId}/members',
    summary: 'Members, a page at a time',
    query: pageQuery,
    handle: async ({ params, query }, deps) => {
      await segmentOf(params.segmentId, deps);
      const page = await deps.memberships.members(params.segmentId, query.cursor, query.limit);
      return json(200, { members: page.items, cursor: page.cursor ?? null });
    },
  }),
];
