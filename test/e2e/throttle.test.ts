/**
 * Ingest throttling per source on the local runtime, configured as deployed (the handler reads its rate
 * from the environment as it loads): 429 with Retry-After beyond the rate, nothing of the refused request
 * kept, other sources unaffected. The limiter and the handler's use of it are unit-tested, with the rate
 * injected, in test/unit/rate-limiter.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '#local/runtime';
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
    body: JSON.stringify({
      batch: Array.from({ length: size }, (_, i) => ({ type: 'track', userId, event: 'Tick', messageId: `${userId}-${i}-${size}` })),
    }),
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
