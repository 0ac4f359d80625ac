/**
 * Ingest throttling without a runtime: the per-source token bucket on a fake clock, and the ingest
 * handler given its rate as a setting (no environment variable), a fake queue and a fake clock. The
 * end-to-end check of the configured runtime is test/e2e/throttle.test.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createIngestHandler, type IngestDeps, type ResolvedSource, SourceRateLimiter } from '#functions/ingest/ingest';
import type { EnrichedEvent } from '#shared/domain/events';
import type { HttpEvent } from '#shared/http/api';

describe('SourceRateLimiter', () => {
  it('refills continuously, and says how long to wait', () => {
    let now = 0;
    const limiter = new SourceRateLimiter(100, () => now);
    expect(limiter.take('s', 80)).toBe(0);
    expect(limiter.take('s', 80)).toBe(1); // 20 left: wait about a second
    now += 600;
    expect(limiter.take('s', 80)).toBe(0); // 20 + 60 refilled
    expect(limiter.take('s', 500)).toBe(5);
    now += 10_000;
    expect(limiter.take('s', 500)).toBe(0); // a single batch over a second's allowance passes on a full bucket
  });

  it('keeps one bucket per source, and a refused request takes nothing from it', () => {
    let now = 0;
    const limiter = new SourceRateLimiter(10, () => now);
    expect(limiter.take('a', 10)).toBe(0);
    expect(limiter.take('a', 1)).toBe(1);
    expect(limiter.take('b', 10)).toBe(0); // b has its own allowance
    now += 500; // 5 back for a
    expect(limiter.take('a', 6)).toBe(1); // refused: a still has its 5
    expect(limiter.take('a', 5)).toBe(0);
    expect(limiter.take('a', 1)).toBe(1);
    // The wait is rounded up to whole seconds: 25 events at 10/s with none left is 3 s.
    expect(limiter.take('a', 25)).toBe(3);
    now += 100_000; // a long pause does not bank more than a second's allowance
    expect(limiter.take('a', 10)).toBe(0);
    expect(limiter.take('a', 1)).toBe(1);
  });
});

describe('the ingest handler with a rate per source', () => {
  const sources: Record<string, ResolvedSource> = {
    wk_fast: { sourceId: 'fast', defaultChannel: 'web', allowedOrigins: [] },
    wk_calm: { sourceId: 'calm', defaultChannel: 'store', allowedOrigins: [] },
  };
  const setup = (eventsPerSecondPerSource: number | undefined) => {
    const clock = { now: Date.parse('2026-03-15T10:00:00.000Z') };
    const queued: EnrichedEvent[] = [];
    const deps: IngestDeps = {
      queue: { sendEvents: async (events: readonly EnrichedEvent[]) => void queued.push(...events) } as unknown as IngestDeps['queue'],
      sources: { resolve: async (writeKey) => sources[writeKey], allowsOriginAnywhere: async () => false },
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
      now: () => clock.now,
      eventsPerSecondPerSource,
    };
    const handler = createIngestHandler(deps);
    const post = async (writeKey: string, userId: string, size: number) => {
      const event = {
        version: '2.0',
        routeKey: '$default',
        rawPath: '/v1/batch',
        rawQueryString: '',
        headers: { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          batch: Array.from({ length: size }, (_, i) => ({
            type: 'track',
            userId,
            event: 'Tick',
            messageId: `${userId}-${clock.now}-${i}`,
          })),
        }),
        isBase64Encoded: false,
        requestContext: {
          http: { method: 'POST', path: '/v1/batch', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
          domainName: 'localhost',
          requestId: 'r',
        },
      } as unknown as HttpEvent;
      const result = await handler(event, {} as Context);
      return { status: result.statusCode, headers: result.headers ?? {}, body: JSON.parse(String(result.body)) };
    };
    return { clock, queued, post };
  };

  it('answers 429 with Retry-After beyond the rate, keeps nothing of that request, and lets other sources through', async () => {
    const { clock, queued, post } = setup(50);
    expect(await post('wk_fast', 'fast', 40)).toMatchObject({ status: 200, body: { success: true } });
    expect(queued).toHaveLength(40);

    const refused = await post('wk_fast', 'fast', 40);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body.error).toMatchObject({ code: 'rate_limited', message: expect.stringContaining('more than 50 events/s') });
    expect(queued).toHaveLength(40); // nothing of the refused 40

    // Another source has its own allowance.
    expect((await post('wk_calm', 'calm', 40)).status).toBe(200);
    expect(queued.filter((e) => e.userId === 'calm')).toHaveLength(40);
    expect(queued.filter((e) => e.userId === 'calm').every((e) => e.channel === 'store')).toBe(true);

    // Back to full allowance after the wait: 10 left + 50 a second, capped at 50.
    clock.now += 1000;
    expect((await post('wk_fast', 'fast', 40)).status).toBe(200);
    expect(queued.filter((e) => e.userId === 'fast')).toHaveLength(80);
  });

  it('says how many seconds to wait for a large request, rounded up', async () => {
    const { queued, post } = setup(50);
    expect((await post('wk_fast', 'fast', 50)).status).toBe(200);
    const refused = await post('wk_fast', 'fast', 120);
    expect([refused.status, refused.headers['retry-after']]).toEqual([429, '3']); // 120 events at 50/s from an empty bucket
    expect(queued).toHaveLength(50);
  });

  it('does not throttle at all without a rate', async () => {
    const { queued, post } = setup(undefined);
    for (let i = 0; i < 5; i++) expect((await post('wk_fast', 'fast', 100)).status).toBe(200);
    expect(queued).toHaveLength(500);
  });
});
