/** Which HTTP routes go to which function: shared by the CDK stack and the local gateway. */
import type { EventType } from './domain/events';

export type IngestEndpoint = EventType | 'batch';
export const INGEST_ENDPOINTS: readonly IngestEndpoint[] = ['identify', 'track', 'page', 'screen', 'group', 'alias', 'batch'];

/**
 * Every path the official libraries post to: the Tracking API's names (`/v1/track`, server and
 * mobile libraries) and the first letters analytics.js uses (`/v1/t`, ..., `/v1/b` for batches).
 * The first letters are all different, so each stands for one endpoint.
 */
export const ingestPaths = (endpoint: IngestEndpoint): string[] => [`/v1/${endpoint}`, `/v1/${endpoint.charAt(0)}`];
export const ingestPath = (endpoint: IngestEndpoint): string => ingestPaths(endpoint)[0]!;
const ENDPOINT_BY_PATH = new Map(INGEST_ENDPOINTS.flatMap((endpoint) => ingestPaths(endpoint).map((path) => [path, endpoint] as const)));

/** analytics.js fetches its settings from `{cdnURL}/v1/projects/{writeKey}/settings` before it sends anything. */
export const SETTINGS_ROUTE = '/v1/projects/{writeKey}/settings';
const SETTINGS_PATH = /^\/v1\/projects\/([^/]{1,1024})\/settings$/;

/**
 * The browser library itself, where the snippet and analytics.js look for it on their CDN: the
 * snippet's script, and the bundles analytics.js loads on demand from `{cdn}/analytics-next/bundles/`.
 */
export const LIBRARY_ROUTES = ['/analytics.js/v1/{writeKey}/analytics.min.js', '/analytics-next/bundles/{file}'] as const;
const LIBRARY_SCRIPT_PATH = /^\/analytics\.js\/v1\/[^/]{1,1024}\/analytics(\.min)?\.js$/;
const LIBRARY_BUNDLE_PATH = /^\/analytics-next\/bundles\/([\w.-]{1,200}\.js)$/;

export type IngestRoute =
  | { kind: 'events'; endpoint: IngestEndpoint }
  | { kind: 'settings'; writeKey: string }
  | { kind: 'library'; file: string };

/** The ingest function's route for a path, or undefined when the path belongs to the admin API. */
export function ingestRouteOf(path: string): IngestRoute | undefined {
  const trimmed = path.replace(/\/+$/, '');
  const endpoint = ENDPOINT_BY_PATH.get(trimmed);
  if (endpoint) return { kind: 'events', endpoint };
  if (LIBRARY_SCRIPT_PATH.test(trimmed)) return { kind: 'library', file: 'standalone.js' };
  const bundle = LIBRARY_BUNDLE_PATH.exec(trimmed);
  if (bundle) return { kind: 'library', file: bundle[1]! };
  const settings = SETTINGS_PATH.exec(trimmed);
  if (!settings) return undefined;
  try {
    return { kind: 'settings', writeKey: decodeURIComponent(settings[1]!) };
  } catch {
    return { kind: 'settings', writeKey: settings[1]! };
  }
}

/** Everything else under /v1 is the admin API (bearer token locally, IAM on AWS). */
export const ADMIN_ROUTE_PREFIX = '/v1/';
export const HEALTH_PATH = '/health';
