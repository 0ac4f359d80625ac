/**
 * The ingest API under fire (fast-check): malformed JSON, wrong types, huge strings, deep nesting,
 * unicode, wrong auth. Always a clear 4xx (or 200 for what is valid), never a 5xx, never a crash; and
 * whatever was accepted is processed or parked with a reason a person can act on.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { INGEST_ENDPOINTS, ingestPaths } from '../../shared/routes';
import { startTestRuntime } from '../helpers/local';

let runtime: LocalRuntime;
const SHOP = 'https://shop.example.com';
beforeAll(async () => {
  runtime = await startTestRuntime({ allowedOrigins: [SHOP] });
}, 120_000);
afterAll(async () => {
  await runtime?.stop();
});

const nested = (depth: number, open: string, close: string, inner = '1') => `${open.repeat(depth)}${inner}${close.repeat(depth)}`;
const scalar = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const eventish = fc.record(
  {
    type: fc.oneof(fc.constantFrom('identify', 'track', 'page', 'screen', 'group', 'alias'), scalar),
    userId: fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), scalar, fc.constantFrom('anonymous', '0', '')),
    anonymousId: scalar,
    event: fc.oneof(fc.string({ unit: 'binary', maxLength: 50 }), scalar),
    properties: fc.oneof(fc.dictionary(fc.string({ unit: 'binary', maxLength: 10 }), fc.jsonValue({ maxDepth: 4 })), scalar),
    traits: fc.oneof(fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 })), scalar),
    context: fc.oneof(fc.record({ channel: scalar, ip: scalar }), scalar),
    timestamp: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), scalar),
    messageId: fc.oneof(fc.string({ maxLength: 120 }), scalar),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.json(), // any JSON at all
  fc.string(), // rarely JSON
  fc.string({ unit: 'binary', maxLength: 200 }),
  eventish.map((e) => JSON.stringify(e)),
  fc.array(eventish, { maxLength: 30 }).map((batch) => JSON.stringify({ batch })),
  fc.integer({ min: 1, max: 120_000 }).map((depth) => `{"userId":"u","event":"E","properties":${nested(depth, '{"a":', '}')}}`),
  fc.integer({ min: 1, max: 200_000 }).map((depth) => nested(depth, '[', ']')),
  fc.integer({ min: 1, max: 700_000 }).map((length) => JSON.stringify({ userId: 'u', event: 'E', properties: { blob: 'x'.repeat(length) } })),
);
const auth = fc.constantFrom('basic', 'none', 'wrong', 'bearer', 'garbage');

describe('the ingest API, fuzzed', () => {
  it('answers every request with a clear status and never fails inside', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...INGEST_ENDPOINTS), body, auth, async (endpoint, text, how) => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (how === 'basic') headers.authorization = `Basic ${Buffer.from(`${runtime.writeKey}:`).toString('base64')}`;
        if (how === 'wrong') headers.authorization = `Basic ${Buffer.from('wk_nope:').toString('base64')}`;
        if (how === 'bearer') headers.authorization = `Bearer ${runtime.writeKey}`;
        if (how === 'garbage') headers.authorization = '\u00e9\u00e8 ::: ';
        const response = await fetch(`${runtime.url}/v1/${endpoint}`, { method: 'POST', headers, body: text }).catch((error: Error) => error);
        if (response instanceof Error) {
          // fetch itself refuses some header values before sending: nothing reached Prisme.
          expect(how).toBe('garbage');
          return;
        }
        seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
        expect([200, 400, 401, 413]).toContain(response.status);
        const answer = (await response.json()) as { success?: boolean; error?: { code: string; message: string } };
        if (response.status === 200) expect(answer.success).toBe(true);
        else if (answer.error) expect(answer.error.message.length).toBeGreaterThan(0);
        else expect(answer).toMatchObject({ success: false });
      }),
      { numRuns: 300, seed: 20261123 },
    );
    // The generators reached every kind of answer.
    expect([...seen.keys()].sort()).toEqual([200, 400, 401, 413]);

    // Still standing, and everything accepted was processed or parked as poison, with its reason.
    await runtime.drain(60_000);
    const alive = await fetch(`${runtime.url}/v1/track`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${runtime.writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'after-the-storm', event: 'Checked' }),
    });
    expect(alive.status).toBe(200);
    await runtime.drain();
    const parked = runtime.queues.deadLetter.receive(1000, 60_000).map((m) => m.attributes?.reason?.StringValue ?? '');
    for (const reason of parked) expect(reason).toMatch(/^PoisonMessageError: /);
  }, 300_000);

  it('answers every path, method, encoding and origin a careless or hostile client sends, and lets only allowed origins read it', async () => {
    const valid = JSON.stringify({ userId: 'door-fuzz', event: 'Knocked', writeKey: runtime.writeKey });
    // Each way of sending the body: its Content-Encoding header, and the bytes (true to it or not).
    const encoded: Record<string, (bytes: Buffer) => [string | undefined, Buffer]> = {
      plain: (bytes) => [undefined, bytes],
      gzip: (bytes) => ['gzip', gzipSync(bytes)],
      deflate: (bytes) => ['deflate', deflateSync(bytes)],
      'raw deflate': (bytes) => ['deflate', deflateRawSync(bytes)],
      br: (bytes) => ['br', brotliCompressSync(bytes)],
      'gzip twice': (bytes) => ['gzip, gzip', gzipSync(gzipSync(bytes))],
      'says gzip, is not': (bytes) => ['gzip', bytes],
      unknown: (bytes) => ['zstd', bytes],
    };
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...INGEST_ENDPOINTS.flatMap(ingestPaths), `/v1/projects/${runtime.writeKey}/settings`, '/v1/projects/wk_nope/settings'),
        fc.constantFrom('POST', 'OPTIONS', 'GET', 'PUT'),
        fc.oneof(body, fc.constant(valid)),
        fc.constantFrom(...Object.keys(encoded)),
        fc.oneof(fc.constantFrom(undefined, SHOP, 'https://evil.example', 'null', 'https://shop.example.com.evil.example', `${SHOP}:443`), fc.string({ maxLength: 300 })),
        async (path, method, text, encoding, origin) => {
          const [contentEncoding, bytes] = encoded[encoding]!(Buffer.from(text));
          const headers: Record<string, string> = { 'content-type': 'text/plain' };
          if (contentEncoding) headers['content-encoding'] = contentEncoding;
          if (origin !== undefined) headers.origin = origin;
          if (method === 'OPTIONS') headers['access-control-request-method'] = 'POST';
          const response = await fetch(`${runtime.url}${path}`, { method, headers, body: method === 'GET' || method === 'OPTIONS' ? undefined : bytes }).catch((error: Error) => error);
          if (response instanceof Error) return expect(origin).toBeDefined(); // fetch refused a header value before sending
          seen.add(response.status);
          expect(response.status).toBeLessThan(500);
          const allowOrigin = response.headers.get('access-control-allow-origin');
          if (allowOrigin !== null) expect([allowOrigin, origin]).toEqual([SHOP, SHOP]);
          await response.arrayBuffer();
        },
      ),
      { numRuns: 300, seed: 20261203 },
    );
    for (const status of [200, 204, 400, 401, 403, 405, 413, 415]) expect(seen, `status ${status}`).toContain(status);
    await runtime.drain(60_000);
  }, 300_000);
});
