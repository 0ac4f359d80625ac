/**
 * What careless and hostile clients send, over HTTP to the running local runtime: placeholder ids,
 * ids that are not well-formed Unicode, times outside any calendar, batch contexts that would multiply
 * in the queue. Every answer is a 2xx or a 4xx naming the field; what is accepted is folded.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '#local/runtime';
import { adminClient, startTestRuntime } from '../helpers/local';

let runtime: LocalRuntime;
let admin: ReturnType<typeof adminClient>;
beforeAll(async () => {
  runtime = await startTestRuntime();
  admin = adminClient(runtime);
}, 120_000);
afterAll(async () => {
  await runtime?.stop();
});

const post = async (path: string, body: unknown) => {
  const response = await fetch(`${runtime.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${runtime.writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};
const parked = () => runtime.queues.deadLetter.receive(1000, 1).map((m) => m.attributes?.reason?.StringValue);

describe('hostile and careless input', () => {
  it('refuses events that identify nobody, by index and field, and folds the ones with another identifier', async () => {
    const answer = await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'test', event: 'Signed Up' },
        { type: 'track', userId: '0', anonymousId: 'anon-hostile-1', event: 'Signed Up' },
        { type: 'identify', userId: 'null', traits: { email: 'placeholder-free@example.com' } },
      ],
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      success: false,
      accepted: 2,
      rejected: [{ index: 0, field: 'userId', reason: expect.stringMatching(/identifies nobody/) }],
    });
    await runtime.drain();
    const byAnonymousId = await admin.get('/v1/profiles?anonymousId=anon-hostile-1');
    expect(byAnonymousId.status).toBe(200);
    expect(byAnonymousId.body.identifiers).toEqual({ anonymousId: ['anon-hostile-1'] });
    expect((await admin.get('/v1/profiles?email=placeholder-free@example.com')).status).toBe(200);
    expect(parked()).toEqual([]);
  });

  it('keeps ids that are not well-formed Unicode from colliding in DynamoDB: they are cleaned at the door', async () => {
    const answer = await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'lone\uD800', event: 'Visited' },
        { type: 'track', userId: 'lone\uDC00', event: 'Visited' },
        { type: 'track', userId: 'neighbour', event: 'Visited' },
        { type: 'track', userId: 'Jose\u0301\u0007', event: 'Visited' },
      ],
    });
    expect(answer.status).toBe(200);
    await runtime.drain();
    const lone = await admin.get(`/v1/profiles?userId=${encodeURIComponent('lone\uFFFD')}`);
    expect(lone.body.identifiers.userId).toEqual(['lone\uFFFD']);
    expect((await admin.get('/v1/profiles?userId=neighbour')).status).toBe(200);
    expect((await admin.get(`/v1/profiles?userId=${encodeURIComponent('Jos\u00E9')}`)).status).toBe(200);
    expect(parked()).toEqual([]);
  });

  it('answers 400 naming the field for times outside 1900 - 9999, and never 5xx', async () => {
    const answer = await post('/v1/batch', {
      sentAt: '+275760-09-13T00:00:00.000Z',
      batch: [
        { type: 'track', userId: 'timeless', event: 'E', timestamp: '-271821-04-20T00:00:00.000Z' },
        { type: 'track', userId: 'timeless', event: 'E', originalTimestamp: '1900-01-02T00:00:00Z', sentAt: '9999-12-31T00:00:00Z' },
        { type: 'track', userId: 'timeless', event: 'E', timestamp: '+010000-01-01T00:00:00.000Z' },
      ],
    });
    expect(answer.status).toBe(400);
    expect(answer.body.rejected).toEqual([
      { index: 0, field: 'timestamp', reason: 'must be between 1900-01-01 and 9999-12-31' },
      { index: 2, field: 'timestamp', reason: 'must be between 1900-01-01 and 9999-12-31' },
    ]);
    await runtime.drain();
    const profile = await admin.get('/v1/profiles?userId=timeless');
    expect(profile.body.firstSeen).toBe('1900-01-01T00:00:00.000Z');
    expect(parked()).toEqual([]);
  });

  it('refuses a batch whose context, copied into every event, would multiply the request in the queue', async () => {
    const journal = join(runtime.dataDir, 'queues', 'events.journal');
    const before = statSync(journal).size;
    const request = {
      context: { page: { referrer: 'x'.repeat(30_000) } },
      batch: Array.from({ length: 2000 }, (_, i) => ({ type: 'track', userId: `amp-${i}`, event: 'E' })),
    };
    const answer = await post('/v1/batch', request);
    expect(answer).toMatchObject({ status: 413, body: { error: { code: 'batch_context_too_large' } } });
    expect(statSync(journal).size).toBe(before);

    // The same context on a few events is fine, and each event keeps it.
    const small = await post('/v1/batch', { ...request, batch: request.batch.slice(0, 3) });
    expect(small.status).toBe(200);
    const grown = statSync(journal).size - before;
    expect(grown).toBeLessThan(8 * Buffer.byteLength(JSON.stringify({ ...request, batch: request.batch.slice(0, 3) })));
  });
});
