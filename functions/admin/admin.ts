/**
 * The admin API: profiles, segments, audiences, sources, indicators, jobs. Write keys never reach it:
 * it sits behind IAM on AWS and a bearer token locally. Each resource's routes are a table in
 * `routes/`; the use cases they call live in `shared/usecases`.
 */
import type middy from '@middy/core';
import { ApiError } from '#shared/errors';
import { type HttpEvent, type HttpHandler, type HttpResult, header, httpHandler, secretsEqual } from '#shared/http/api';
import { type Route, Router, type RouteSpec } from '#shared/http/router';
import { type ApiDocument, apiDocument } from './api-document';
import type { AdminDeps } from './deps';
import { audienceRoutes } from './routes/audiences';
import { catalogRoutes } from './routes/catalog';
import { docsRoutes } from './routes/docs';
import { indicatorRoutes } from './routes/indicators';
import { jobRoutes } from './routes/jobs';
import { profileRoutes } from './routes/profiles';
import { segmentRoutes } from './routes/segments';
import { sourceRoutes } from './routes/sources';

export type { AdminDeps } from './deps';

let document: ApiDocument | undefined;

/** Prisme's OpenAPI document (built once): the ingest API and the tables below. */
export const prismeApiDocument = (): ApiDocument => (document ??= apiDocument(ADMIN_ROUTE_TABLES));

/** Each resource's routes, a tag of the API's document. */
export const ADMIN_ROUTE_TABLES: Record<string, readonly Route<AdminDeps>[]> = {
  profiles: profileRoutes,
  segments: segmentRoutes,
  audiences: audienceRoutes,
  sources: sourceRoutes,
  jobs: jobRoutes,
  indicators: indicatorRoutes,
  catalog: catalogRoutes,
  docs: docsRoutes(() => prismeApiDocument()),
};

export const ADMIN_ROUTES = Object.values(ADMIN_ROUTE_TABLES).flat();

/** Middleware: rejects calls without the admin bearer token, before any route runs. */
function bearerToken(token: string): middy.MiddlewareObj<HttpEvent, HttpResult> {
  return {
    before: async (request) => {
      const given = header(request.event, 'authorization')?.match(/^Bearer\s+(.+)$/i)?.[1];
      if (!given || !secretsEqual(given, token)) {
        throw new ApiError(401, 'unauthorized', 'admin API requires "Authorization: Bearer <admin token>"', [], {
          'www-authenticate': 'Bearer realm="prisme-admin"',
        });
      }
    },
  };
}

export function createAdminHandler(deps: AdminDeps): HttpHandler & { routes: RouteSpec[] } {
  const router = new Router(ADMIN_ROUTES, deps);
  const middlewares = deps.adminToken ? [bearerToken(deps.adminToken)] : [];
  return Object.assign(
    httpHandler((event, context) => router.handle(event, context), deps.logger, ...middlewares),
    { routes: router.table },
  );
}
