/**
 * Ingest: the Segment HTTP Tracking API. Validates, authenticates the write key,
 * enriches, and answers 200 only once every accepted event is durable in the queue.
 */
import { createHash } from 'node:crypto';
import type { CatalogStore } from '../../shared/adapters/dynamodb/catalog-store';
import type { EventQueue } from '../../shared/adapters/sqs/event-queue';
import { LIMITS, jsonDepth, parseEvents, queuedBytesAllowed, type Source } from '../../shared/domain/events';
import type { IdentityConfig } from '../../shared/domain/identity';
import { hashWriteKey } from '../../shared/domain/sources';
import { ApiError } from '../../shared/errors';
import { header, httpHandler, json, rawBody, type HttpEvent, type HttpHandler } from '../../shared/http/api';
import type { Logger } from '../../shared/logger';
import { ingestEndpointOf } from '../../shared/routes';

export interface IngestDeps {
  queue: EventQueue;
  sources: SourceResolver;
  logger: Logger;
  now: () => number;
  /** Events per second one source may send to this instance (a burst of one second is allowed); unlimited when absent. */
  eventsPerSecondPerSource?: number;
  /** The processor's identity settings, so that what is accepted here is what the processor can use. */
  identity?: IdentityConfig;
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

/** Write key -> source. Keys are looked up by their SHA-256 only. */
export interface SourceResolver {
  resolve(writeKey: string): Promise<Source | undefined>;
}

/** Caches hits and misses briefly: a revoked key stops working within `ttlMs`. */
export function cachedSourceResolver(catalog: CatalogStore, ttlMs: number, now: () => number = Date.now): SourceResolver {
  const cache = new Map<string, { at: number; source: Source | undefined }>();
  return {
    async resolve(writeKey) {
      const keyHash = hashWriteKey(writeKey);
      const hit = cache.get(keyHash);
      if (hit && now() - hit.at < ttlMs) return hit.source;
      const record = await catalog.findSource(keyHash);
      const source = record && !record.revokedAt ? { sourceId: record.sourceId, defaultChannel: record.defaultChannel } : undefined;
      if (cache.size > 1000) cache.clear();
      cache.set(keyHash, { at: now(), source });
      return source;
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

export function createIngestHandler(deps: IngestDeps): HttpHandler {
  const limiter = deps.eventsPerSecondPerSource ? new SourceRateLimiter(deps.eventsPerSecondPerSource, deps.now) : undefined;
  const ingest = async (event: HttpEvent) => {
    const endpoint = ingestEndpointOf(event.rawPath);
    if (!endpoint || event.requestContext.http.method !== 'POST') {
      throw new ApiError(404, 'not_found', `no ingest endpoint at ${event.requestContext.http.method} ${event.rawPath}`);
    }
    const receivedAt = deps.now();
    const bytes = rawBody(event);
    if (bytes.length > LIMITS.requestBytes) {
      throw new ApiError(413, 'request_too_large', `request body is larger than ${LIMITS.requestBytes / 1024} KB`);
    }
    const text = bytes.toString('utf8');
    if (jsonDepth(text, LIMITS.requestDepth) > LIMITS.requestDepth) {
      throw new ApiError(400, 'too_deep', `body is nested more than ${LIMITS.requestDepth} levels deep`, [{ path: '', message: 'too deeply nested' }]);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new ApiError(400, 'malformed_json', `body is not valid JSON: ${(error as Error).message}`, [{ path: '', message: 'malformed JSON' }]);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiError(400, 'bad_request', 'body must be a JSON object', [{ path: '', message: 'must be a JSON object' }]);
    }
    const payload = body as Record<string, unknown>;

    const writeKey = writeKeyOf(event, payload);
    const source = writeKey === undefined ? undefined : await deps.sources.resolve(writeKey);
    if (!source) throw unauthorized();

    if (endpoint === 'batch') {
      if (!Array.isArray(payload.batch)) throw new ApiError(400, 'bad_request', '"batch" must be an array', [{ path: 'batch', message: 'must be an array' }]);
      if (payload.batch.length > LIMITS.batchEvents) {
        throw new ApiError(413, 'batch_too_large', `a batch holds at most ${LIMITS.batchEvents} events, got ${payload.batch.length}`);
      }
    }
    const { accepted, rejected, queuedBytes } = parseEvents(endpoint, payload, {
      source,
      receivedAt,
      identity: deps.identity,
      // A retried request must dedupe even for events sent without a messageId: derive it from the request.
      newMessageId: (index) => `gen-${createHash('sha256').update(`${source.sourceId}\u0000${index}\u0000`).update(bytes).digest('hex').slice(0, 40)}`,
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
      deps.logger.warn('source over its rate, asked to retry', { sourceId: source.sourceId, events: accepted.length, retryAfter: wait });
      throw new ApiError(429, 'rate_limited', `this source sends more than ${deps.eventsPerSecondPerSource} events/s: retry in ${wait} s; nothing of this request was kept`, [], { 'retry-after': String(wait) });
    }
    if (accepted.length > 0) await deps.queue.sendEvents(accepted);

    deps.logger.info('events accepted', { sourceId: source.sourceId, endpoint, accepted: accepted.length, rejected: rejected.length });
    if (rejected.length > 0) return json(400, { success: false, accepted: accepted.length, rejected });
    return json(200, { success: true });
  };
  return httpHandler(ingest, deps.logger);
}
