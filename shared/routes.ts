/** Which HTTP routes go to which function: shared by the CDK stack and the local gateway. */
import type { EventType } from './domain/events';

export type IngestEndpoint = EventType | 'batch';
export const INGEST_ENDPOINTS: readonly IngestEndpoint[] = ['identify', 'track', 'page', 'screen', 'group', 'alias', 'batch'];
export const ingestPath = (endpoint: IngestEndpoint): string => `/v1/${endpoint}`;
export const ingestEndpointOf = (path: string): IngestEndpoint | undefined =>
  INGEST_ENDPOINTS.find((endpoint) => ingestPath(endpoint) === path.replace(/\/+$/, ''));

/** Everything else under /v1 is the admin API (bearer token locally, IAM on AWS). */
export const ADMIN_ROUTE_PREFIX = '/v1/';
export const HEALTH_PATH = '/health';
