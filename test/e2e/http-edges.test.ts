/**
 * The HTTP edge under hostile input: malformed %-encodings and ids longer than DynamoDB keys get a
 * 400 naming the parameter on every admin route and on the console's paths, never a 5xx; a 413
 * leaves the keep-alive connection usable; the console comes with the headers a browser expects.
 */

import { Agent, request } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AdminDeps, createAdminHandler, prismeApiDocument } from '#functions/admin/admin';
import { CONSOLE_CSP } from '#shared/http/security-headers';
import { useTestRuntime } from '../helpers/local';

const local = useTestRuntime();
const LONG = 'x'.repeat(3000);
const MALFORMED = ['%E0%A4%A', '%', '%zz', '%C0%AF', '%ED%A0%80', '%FF', 'a%2'];

const admin = (path: string, method = 'GET') =>
  fetch(`${local().url}${path}`, {
    method,
    headers: { authorization: `Bearer ${local().adminToken}`, 'content-type': 'application/json' },
    body: method === 'GET' || method === 'DELETE' ? undefined : '{}',
  });
const errorOf = async (response: Response) =>
  ((await response.json()) as { error: { code: string; details: Array<{ path: string }> } }).error;

/** The admin router's table: building the handler reads no dependency. */
const ROUTES = createAdminHandler({} as AdminDeps).routes;
const fill = (path: string, value: (name: string) => string) => path.replace(/\{(\w+)\}/g, (_, name: string) => value(name));

describe('the HTTP edge', () => {
  it('answers a malformed %-encoding with a 400 naming the parameter, in paths and queries', async () => {
    for (const [path, parameter] of [
      ['/v1/profiles/%E0%A4%A', 'profileId'],
      ['/v1/segments/%E0%A4%A/history', 'segmentId'],
      ['/v1/profiles?userId=%E0%A4%A', 'userId'],
      ['/v1/segments/s/members?cursor=%ZZ', 'cursor'],
    ] as const) {
      const response = await admin(path);
      expect(response.status, path).toBe(400);
      expect((await errorOf(response)).details[0]!.path, path).toBe(parameter);
    }
    const page = await fetch(`${local().url}/console/%E0%A4%A`);
    expect(page.status).toBe(400);
  });

  it('answers ids longer than DynamoDB keys take with a 400 naming the parameter', async () => {
    for (const [path, parameter, method] of [
      [`/v1/segments/${LONG}`, 'segmentId', 'GET'],
      [`/v1/segments/${LONG}`, 'segmentId', 'PUT'],
      [`/v1/profiles/${LONG}`, 'profileId', 'GET'],
      [`/v1/profiles?userId=${LONG}`, 'userId', 'GET'],
      [`/v1/profiles?email=${LONG}@example.com`, 'email', 'DELETE'],
      [`/v1/audiences/a/snapshots/${'é'.repeat(600)}`, 'runId', 'GET'], // 1,200 bytes in UTF-8
    ] as const) {
      const response = await admin(path, method);
      expect(response.status, `${method} ${path.slice(0, 40)}`).toBe(400);
      expect((await errorOf(response)).details[0]!.path).toBe(parameter);
    }
  });

  it('answers the next request on the same keep-alive connection after a 413', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const post = (body: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          `${local().url}/v1/batch`,
          {
            method: 'POST',
            agent,
            headers: {
              'content-type': 'application/json',
              authorization: `Basic ${Buffer.from(`${local().writeKey}:`).toString('base64')}`,
            },
          },
          (res) => {
            sockets.add(req.socket);
            res.resume().on('end', () => resolve(res.statusCode!));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const batch = (blob: number) =>
      JSON.stringify({ batch: [{ type: 'track', userId: 'keepalive', event: 'Ping', properties: { blob: 'x'.repeat(blob) } }] });
    try {
      // Over the ingest limit (500 KB), then over the gateway's own (10 MB), each followed by a valid batch.
      for (const size of [600_000, 11 * 1024 * 1024]) {
        expect(await post(batch(size))).toBe(413);
        expect(await post(batch(1))).toBe(200);
      }
      expect(sockets.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('serves the console with its Content-Security-Policy, nosniff and frame protection, and the API with nosniff', async () => {
    for (const path of ['/console/', '/console/index.html']) {
      const page = await fetch(`${local().url}${path}`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(CONSOLE_CSP).toMatch(/script-src 'self';/);
      expect(CONSOLE_CSP).toMatch(/frame-ancestors 'none'/);
      expect(page.headers.get('x-content-type-options')).toBe('nosniff');
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    }
    for (const response of [await admin('/v1/segments'), await admin('/v1/nowhere'), await fetch(`${local().url}/v1/segments`)]) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('never answers a 5xx on any admin route, whatever the ids, encodings and queries (fast-check)', async () => {
    const segment = fc.oneof(
      fc.constantFrom(...MALFORMED),
      fc.constant(LONG),
      fc.string({ maxLength: 30 }).map(encodeURIComponent),
      fc.string({ unit: 'binary', maxLength: 1100 }).map(encodeURIComponent),
    );
    const query = fc.array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom('userId', 'email', 'limit', 'cursor', 'runId', 'days', 'from', 'to', 'expiresIn', 'crm_id'),
          fc.string({ maxLength: 10 }).map(encodeURIComponent),
        ),
        segment,
      ),
      { maxLength: 3 },
    );
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        fc.array(segment, { minLength: 4, maxLength: 4 }),
        query,
        async (route, values, pairs) => {
          let i = 0;
          const path = fill(route.path, () => values[i++]!);
          const search = pairs.map(([name, value]) => `${name}=${value}`).join('&');
          const response = await admin(`${path}${search ? `?${search}` : ''}`, route.method);
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          expect(response.status, `${route.method} ${path.slice(0, 80)}?${search.slice(0, 80)}`).toBeLessThan(500);
        },
      ),
      { seed: 15, numRuns: 400 },
    );
    expect((await fetch(`${local().url}/health`)).status).toBe(200);
    expect(statuses.get(400)).toBeGreaterThan(0);
  }, 300_000);

  it('serves the OpenAPI document at /v1/openapi.json, behind the admin token like the rest of the admin API', async () => {
    const response = await admin('/v1/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(prismeApiDocument());
    expect((await fetch(`${local().url}/v1/openapi.json`)).status).toBe(401);
  });
});
