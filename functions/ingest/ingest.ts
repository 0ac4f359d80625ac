/**
 * Ingest: the Segment HTTP Tracking API, as every official library speaks it (long and one-letter
 * paths, JSON or text/plain, compressed or not, CORS for allowed browser origins) and the settings
 * analytics.js loads. Validates, authenticates the write key, enriches, and answers 200 only once
 * every accepted event is durable in the queue.
 */
import { createHash } from 'node:crypto';
import { flushMetrics } from '#shared/adapters/metrics/flush-metrics';
import { jsonDepth, LIMITS, parseEvents, queuedBytesAllowed, type Source } from '#shared/domain/events';
import type { IdentityConfig } from '#shared/domain/identity';
import { hashWriteKey, originAllowed } from '#shared/domain/sources';
import { ApiError } from '#shared/errors';
import { type HttpEvent, type HttpHandler, type HttpResult, header, httpHandler, json, rawBody } from '#shared/http/api';
import { NO_SNIFF } from '#shared/http/security-headers';
import type { Logger } from '#shared/logger';
import type { SourceStore } from '#shared/ports/catalog';
import type { EventQueue } from '#shared/ports/event-queue';
import { type MetricsRecorder, NO_METRICS } from '#shared/ports/metrics';
import { type IngestEndpoint, type IngestRoute, ingestRouteOf } from '#shared/routes';
import { decodeBody } from './body';
import { browserLibrary } from './browser-library';
import { apiLocation, browserSettings } from './browser-settings';
import { allowOrigin, originRefused, preflightAnswer, VARY_ORIGIN } from './cors';

export interface IngestDeps {
  queue: EventQueue;
  sources: SourceResolver;
  logger: Logger;
  /** Events accepted and rejected, requests refused: written at the end of each invocation. */
  metrics?: MetricsRecorder;
  now: () => number;
  /** Events per second one source may send to this instance (a burst of one second is allowed); unlimited when absent. */
  eventsPerSecondPerSource?: number;
  /** The processor's identity settings, so that what is accepted here is what the processor can use. */
  identity?: IdentityConfig;
  /** Where browsers reach this API (a custom domain), for the settings analytics.js fetches; the request's own host when absent. */
  publicUrl?: string;
  /** Where the files of Segment's browser library are (see `browserLibrary`). */
  browserLibraryDir?: string;
}

/**
 * Token buckets per source: a source sending faster than its rate gets 429 with Retry-After, so a
 * runaway client cannot starve the others. Per instance (on AWS, API Gateway's stage throttling is
 * the global guard); the bucket refills continuously.
 */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number,
  ) {}

  /** Seconds to wait before `events` more may be sent, or 0 if they may go now (and are counted). */
  take(sourceId: string, events: number): number {
    const now = this.now();
    const bucket = this.buckets.get(sourceId) ?? { tokens: this.perSecond, at: now };
    bucket.tokens = Math.min(this.perSecond, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    this.buckets.set(sourceId, bucket);
    if (bucket.tokens >= events || (bucket.tokens === this.perSecond && events > this.perSecond)) {
      bucket.tokens -= events; // a single batch larger than a second's allowance passes when the bucket is full
      return 0;
    }
    return Math.max(1, Math.ceil((events - bucket.tokens) / this.perSecond));
  }
}

/** A source as ingest needs it: who it is, and the browser origins it accepts. */
export interface ResolvedSource extends Source {
  allowedOrigins: readonly string[];
}

/** Write key -> source. Keys are looked up by their SHA-256 only. */
export interface SourceResolver {
  resolve(writeKey: string): Promise<ResolvedSource | undefined>;
  /** Whether some active source accepts this browser origin: a preflight carries no write key. */
  allowsOriginAnywhere(origin: string): Promise<boolean>;
}

/** Caches hits and misses briefly: a revoked key, or a changed list of origins, takes effect within `ttlMs`. */
export function cachedSourceResolver(
  catalog: Pick<SourceStore, 'findSource' | 'listSources'>,
  ttlMs: number,
  now: () => number = Date.now,
): SourceResolver {
  const cache = new Map<string, { at: number; source: ResolvedSource | undefined }>();
  let origins: { at: number; patterns: string[] } | undefined;
  return {
    async resolve(writeKey) {
      const keyHash = hashWriteKey(writeKey);
      const hit = cache.get(keyHash);
      if (hit && now() - hit.at < ttlMs) return hit.source;
      const record = await catalog.findSource(keyHash);
      const source =
        record && !record.revokedAt
          ? { sourceId: record.sourceId, defaultChannel: record.defaultChannel, allowedOrigins: record.allowedOrigins ?? [] }
          : undefined;
      if (cache.size > 1000) cache.clear();
      cache.set(keyHash, { at: now(), source });
      return source;
    },
    async allowsOriginAnywhere(origin) {
      if (!origins || now() - origins.at >= ttlMs) {
        const active = (await catalog.listSources()).filter((record) => !record.revokedAt);
        origins = { at: now(), patterns: [...new Set(active.flatMap((record) => record.allowedOrigins ?? []))] };
      }
      return originAllowed(origin, origins.patterns);
    },
  };
}

const unauthorized = () =>
  new ApiError(401, 'unauthorized', 'a valid write key is required (HTTP Basic user name, or "writeKey" in the body)', [], {
    'www-authenticate': 'Basic realm="prisme"',
  });

function writeKeyOf(event: HttpEvent, body: Record<string, unknown>): string | undefined {
  const authorization = header(event, 'authorization');
  if (authorization?.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const user = decoded.split(':')[0];
    if (user) return user;
  }
  return typeof body.writeKey === 'string' && body.writeKey ? body.writeKey : undefined;
}

/** The JSON object a request carries, whatever its Content-Type (analytics.js sends text/plain to avoid preflights). */
function parseBody(bytes: Buffer): Record<string, unknown> {
  const text = bytes.toString('utf8');
  if (jsonDepth(text, LIMITS.requestDepth) > LIMITS.requestDepth) {
    throw new ApiError(400, 'too_deep', `body is nested more than ${LIMITS.requestDepth} levels deep`, [
      { path: '', message: 'too deeply nested' },
    ]);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, 'malformed_json', `body is not valid JSON: ${(error as Error).message}`, [
      { path: '', message: 'malformed JSON' },
    ]);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'bad_request', 'body must be a JSON object', [{ path: '', message: 'must be a JSON object' }]);
  }
  return body as Record<string, unknown>;
}

const METHODS: Record<IngestRoute['kind'], string> = { events: 'POST', settings: 'GET', library: 'GET' };

/**
 * The page's origin may read the answer once its source allows it; answers carry the headers
 * whether they succeed or fail, so the library can read a 400's reasons and a 429's Retry-After.
 */
class CorsReply {
  headers: Record<string, string> = { ...VARY_ORIGIN };
  constructor(readonly origin: string | undefined) {}

  /** Refuses a browser whose origin this source does not allow (server libraries send no Origin). */
  admit(source: ResolvedSource): void {
    if (this.origin === undefined) return;
    if (!originAllowed(this.origin, source.allowedOrigins)) throw originRefused(this.origin, `source ${source.sourceId}`);
    Object.assign(this.headers, allowOrigin(this.origin));
  }
}

export function createIngestHandler(deps: IngestDeps): HttpHandler {
  const limiter = deps.eventsPerSecondPerSource ? new SourceRateLimiter(deps.eventsPerSecondPerSource, deps.now) : undefined;
  const metrics = deps.metrics ?? NO_METRICS;
  const libraryFile = browserLibrary(deps.browserLibraryDir);

  const receiveEvents = async (event: HttpEvent, endpoint: IngestEndpoint, cors: CorsReply) => {
    const receivedAt = deps.now();
    const bytes = decodeBody(rawBody(event), header(event, 'content-encoding'), LIMITS.requestBytes);
    const payload = parseBody(bytes);

    const writeKey = writeKeyOf(event, payload);
    const source = writeKey === undefined ? undefined : await deps.sources.resolve(writeKey);
    if (!source) throw unauthorized();
    cors.admit(source);

    if (endpoint === 'batch') {
      if (!Array.isArray(payload.batch))
        throw new ApiError(400, 'bad_request', '"batch" must be an array', [{ path: 'batch', message: 'must be an array' }]);
      if (payload.batch.length > LIMITS.batchEvents) {
        throw new ApiError(413, 'batch_too_large', `a batch holds at most ${LIMITS.batchEvents} events, got ${payload.batch.length}`);
      }
    }
    const { accepted, rejected, queuedBytes } = parseEvents(endpoint, payload, {
      source,
      receivedAt,
      identity: deps.identity,
      // A retried request must dedupe even for events sent without a messageId: derive it from the request.
      newMessageId: (index) =>
        `gen-${createHash('sha256').update(`${source.sourceId}\u0000${index}\u0000`).update(bytes).digest('hex').slice(0, 40)}`,
    });
    if (queuedBytes > queuedBytesAllowed(bytes.length)) {
      throw new ApiError(
        413,
        'batch_context_too_large',
        `the batch's context, copied into each of its ${accepted.length} events, would make them ${Math.round(queuedBytes / 1024)} KB: send fewer events per batch, or the context with each event; nothing of this request was kept`,
        [{ path: 'context', message: 'too large to copy into every event of the batch' }],
      );
    }
    const wait = limiter?.take(source.sourceId, accepted.length) ?? 0;
    if (wait > 0) {
      metrics.add('eventsRejected', accepted.length, { reason: 'rate_limited' });
      deps.logger.warn('source over its rate, asked to retry', { sourceId: source.sourceId, events: accepted.length, retryAfter: wait });
      throw new ApiError(
        429,
        'rate_limited',
        `this source sends more than ${deps.eventsPerSecondPerSource} events/s: retry in ${wait} s; nothing of this request was kept`,
        [],
        { 'retry-after': String(wait) },
      );
    }
    if (accepted.length > 0) await deps.queue.sendEvents(accepted);

    // The metrics say it at INFO (one EMF line a request, with the source): the log line would repeat it.
    if (accepted.length > 0) metrics.add('eventsAccepted', accepted.length, { source: source.sourceId });
    if (rejected.length > 0) metrics.add('eventsRejected', rejected.length, { reason: 'invalid' });
    deps.logger.debug('events accepted', { sourceId: source.sourceId, endpoint, accepted: accepted.length, rejected: rejected.length });
    if (rejected.length > 0) return json(400, { success: false, accepted: accepted.length, rejected });
    return json(200, { success: true });
  };

  const serveSettings = async (event: HttpEvent, writeKey: string, cors: CorsReply) => {
    const source = await deps.sources.resolve(writeKey);
    if (!source) throw new ApiError(404, 'not_found', 'no active source has this write key');
    cors.admit(source);
    const location = apiLocation(
      deps.publicUrl,
      header(event, 'host') ?? event.requestContext.domainName,
      header(event, 'x-forwarded-proto'),
    );
    // Every page view asks: a browser keeps the answer a few minutes rather than invoking ingest each time.
    return json(200, browserSettings(writeKey, location), { 'cache-control': 'public, max-age=300' });
  };

  const preflight = async (event: HttpEvent, route: IngestRoute, origin: string | undefined) => {
    const methods = `${METHODS[route.kind]}, OPTIONS`;
    if (origin === undefined) return { statusCode: 204, headers: { ...NO_SNIFF, allow: methods } };
    const allowed =
      route.kind === 'settings'
        ? originAllowed(origin, (await deps.sources.resolve(route.writeKey))?.allowedOrigins ?? [])
        : await deps.sources.allowsOriginAnywhere(origin);
    if (!allowed) {
      deps.logger.info('browser origin refused', { origin: origin.slice(0, 200), path: event.rawPath });
      throw originRefused(origin, route.kind === 'settings' ? 'this source' : 'no source');
    }
    return preflightAnswer(origin, methods, header(event, 'access-control-request-headers'));
  };

  const answer = (event: HttpEvent, route: IngestRoute, cors: CorsReply): Promise<HttpResult> => {
    switch (route.kind) {
      case 'events':
        return receiveEvents(event, route.endpoint, cors);
      case 'settings':
        return serveSettings(event, route.writeKey, cors);
      case 'library':
        return libraryFile(route.file); // a script tag needs no CORS
    }
  };

  const ingest = async (event: HttpEvent) => {
    const route = ingestRouteOf(event.rawPath);
    const method = event.requestContext.http.method;
    if (!route) throw new ApiError(404, 'not_found', `no ingest endpoint at ${method} ${event.rawPath}`);
    const origin = header(event, 'origin');
    if (method === 'OPTIONS') return preflight(event, route, origin);
    if (method !== METHODS[route.kind]) {
      throw new ApiError(405, 'method_not_allowed', `${event.rawPath} answers ${METHODS[route.kind]}, not ${method}`, [], {
        allow: `${METHODS[route.kind]}, OPTIONS`,
      });
    }
    const cors = new CorsReply(origin);
    try {
      const result = await answer(event, route, cors);
      return { ...result, headers: { ...result.headers, ...cors.headers } };
    } catch (error) {
      if (error instanceof ApiError) {
        Object.assign(error.headers, cors.headers);
        metrics.add('requestsRefused', 1, { code: error.code });
      }
      if (error instanceof ApiError && error.code === 'origin_not_allowed')
        deps.logger.info('browser origin refused', { origin: origin?.slice(0, 200), path: event.rawPath });
      throw error;
    }
  };
  return httpHandler(ingest, deps.logger, flushMetrics(metrics, deps.logger));
}
