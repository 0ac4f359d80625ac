/**
 * CORS for the ingest routes only (the admin API has none): a browser may send a source's events
 * from the origins the source allows. analytics.js adds an Authorization header, so browsers ask
 * first (preflight); a refused origin gets no Access-Control-Allow-Origin and the browser stops.
 */
import { ApiError } from '#shared/errors';
import type { HttpResult } from '#shared/http/api';
import { NO_SNIFF } from '#shared/http/security-headers';

/** Chromium caps the cache of a preflight at two hours. */
const PREFLIGHT_MAX_AGE_SECONDS = 7200;
/** What the official browser libraries send (RudderStack's adds AnonymousId); reflected when the request asks for plain header names. */
const DEFAULT_ALLOWED_HEADERS = 'Content-Type, Authorization, Content-Encoding, X-Retry-Count, AnonymousId';
const HEADER_LIST = /^[A-Za-z0-9-]+(\s*,\s*[A-Za-z0-9-]+)*$/;

/** Caches must keep one answer per origin: the settings are cacheable, and every answer names the origin. */
export const VARY_ORIGIN = { vary: 'Origin' } as const;

/** Headers that let the page at `origin` read the answer (its errors and Retry-After included). */
export const allowOrigin = (origin: string): Record<string, string> => ({
  'access-control-allow-origin': origin,
  'access-control-expose-headers': 'Retry-After',
});

export function preflightAnswer(origin: string, methods: string, requestedHeaders: string | undefined): HttpResult {
  const headers =
    requestedHeaders && requestedHeaders.length <= 1000 && HEADER_LIST.test(requestedHeaders.trim())
      ? requestedHeaders.trim()
      : DEFAULT_ALLOWED_HEADERS;
  return {
    statusCode: 204,
    headers: {
      ...NO_SNIFF,
      ...allowOrigin(origin),
      'access-control-allow-methods': methods,
      'access-control-allow-headers': headers,
      'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS),
      vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    },
  };
}

export const originRefused = (origin: string, whose: string) =>
  new ApiError(
    403,
    'origin_not_allowed',
    `${whose} does not allow the origin ${origin}: add it to the source's allowedOrigins (PATCH /v1/sources/{sourceId})`,
    [{ path: 'origin', message: `${origin} is not an allowed origin` }],
  );
