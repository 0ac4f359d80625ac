/** Ingest throttling per source: 429 with Retry-After beyond the rate, nothing of the refused request kept, other sources unaffected. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime';
import { SourceRateLimiter } from '../../functions/ingest/ingest';
import { adminClient, startTestRuntime } from '../helpers/local';

let runtime: LocalRuntime;
beforeAll(async () => {
  process.env.INGEST_EVENTS_PER_SECOND_PER_SOURCE = '50'; // read by the ingest handler as it loads
  runtime = await startTestRuntime();
}, 120_000);
afterAll(async () => {
  delete process.env.INGEST_EVENTS_PER_SECOND_PER_SOURCE;
  await runtime?.stop();
});

const batch = (writeKey: string, userId: string, size: number) =>
  fetch(`${runtime.url}/v1/batch`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ batch: Array.from({ length: size }, (_, i) => ({ type: 'track', userId, event: 'Tick', messageId: `${userId}-${i}-${size}` })) }),
  });

describe('ingest throttling', () => {
  it('answers 429 with Retry-After to a source over its rate, keeps nothing of that request, and lets other sources through', async () => {
    expect((await batch(runtime.writeKey, 'fast', 40)).status).toBe(200);
    const refused = await batch(runtime.writeKey, 'fast', 40);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: unknown }).error).toMatchObject({ code: 'rate_limited' });
    // Another source has its own allowance.
    const other = (await adminClient(runtime).post('/v1/sources', { name: 'Tills' })).body.writeKey as string;
    expect((await batch(other, 'calm', 40)).status).toBe(200);
    await runtime.drain();
    const fast = (await adminClient(runtime).get('/v1/profiles?userId=fast')).body;
    expect(fast.channels).toEqual({ web: 40 }); // the refused 40 were not kept
  });
});

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
});
