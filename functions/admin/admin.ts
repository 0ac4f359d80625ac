/**
 * The admin API: profiles, segments, audiences, sources, indicators, jobs. Write keys never reach it:
 * it sits behind IAM on AWS and a bearer token locally. Each resource's routes are a table in
 * `routes/`; the use cases they call live in `shared/usecases`.
 */
import type middy from '@middy/core';
import { ApiError } from '#shared/errors';
import { type HttpEvent, type HttpHandler, type HttpResult, header, httpHandler, secretsEqual } from '#shared/http/api';
import { Router, type RouteSpec } from '#shared/http/router';
import type { AdminDeps } from './deps';
import { audienceRoutes } from './routes/audiences';
import { indicatorRoutes } from './routes/indicators';
import { jobRoutes } from './routes/jobs';
import { profileRoutes } from './routes/profiles';
import { segmentRoutes } from './routes/segments';
import { sourceRoutes } from './routes/sources';

export type { AdminDeps } from './deps';

export const ADMIN_ROUTES = [...profileRoutes, ...segmentRoutes, ...audienceRoutes, ...sourceRoutes, ...jobRoutes, ...indicatorRoutes];

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
