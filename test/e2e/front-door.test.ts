/**
 * The front door as the libraries knock: RudderStack's Node SDK at its defaults (gzip), hand-built
 * deflate and text/plain bodies on the one-letter paths, a gzip bomb, and CORS per source, with the
 * settings analytics.js loads. Browsers themselves are in test/browser/analytics-next.test.ts.
 */

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { LIBRARY_PACKAGE_DIR } from '#functions/ingest/browser-library';
import { adminClient, eventually, useTestRuntime } from '../helpers/local';

const local = useTestRuntime();
const SHOP = 'https://shop.example.com';
let web: { writeKey: string; sourceId: string };
let server: { writeKey: string; sourceId: string };

const basic = (writeKey: string) => `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
const profileOf = async (userId: string) => (await adminClient(local()).get(`/v1/profiles?userId=${encodeURIComponent(userId)}`)).body;
const arrived = (userId: string, accept: (profile: any) => boolean = () => true) =>
  eventually(
    () => profileOf(userId),
    (profile) => profile?.profileId !== undefined && accept(profile),
  );
const post = (path: string, body: string | Buffer, headers: Record<string, string>) =>
  fetch(`${local().url}${path}`, { method: 'POST', body, headers });

beforeAll(async () => {
  const admin = adminClient(local());
  web = (await admin.post('/v1/sources', { name: 'Website', defaultChannel: 'web', allowedOrigins: [SHOP, 'https://*.brand.fr'] })).body;
  server = (await admin.post('/v1/sources', { name: 'Back office', defaultChannel: 'web' })).body;
});

describe('bodies as the libraries send them', () => {
  it('takes batches from @rudderstack/rudder-sdk-node at its defaults (gzip on)', async () => {
    const requests: string[] = [];
    const rudder = new RudderAnalytics(server.writeKey, { dataPlaneUrl: local().url, flushAt: 3, flushInterval: 100, logLevel: 'error' });
    (rudder as any).axiosInstance.interceptors.request.use((config: any) => {
      requests.push(String(config.headers['Content-Encoding']));
      return config;
    });
    rudder.identify({ userId: 'rudder-1', traits: { email: 'rudder-1@example.com', plan: 'pro' } });
    rudder.track({ userId: 'rudder-1', event: 'Order Completed', properties: { revenue: 42 } });
    rudder.page({ userId: 'rudder-1', name: 'Pricing', properties: { url: 'https://shop.example.com/pricing' } });
    await new Promise<void>((resolve, reject) => rudder.flush((error?: Error) => (error ? reject(error) : resolve())));
    expect(requests).toContain('gzip');
    const profile = await arrived(
      'rudder-1',
      (p) => p.traits?.plan === 'pro' && p.events?.['Order Completed'] && p.events?.['Page Viewed'],
    );
    expect(profile.events).toEqual({ 'Order Completed': { web: 1 }, 'Page Viewed': { web: 1 } });
    expect(profile.identifiers.email).toEqual(['rudder-1@example.com']);
    expect(profile.indicators.revenue).toBe(42);
  });

  it('takes deflate and text/plain bodies on the one-letter paths analytics.js uses', async () => {
    const event = { userId: 'deflate-1', event: 'Signed Up', properties: { plan: 'free' }, writeKey: server.writeKey };
    const deflated = await post('/v1/t', deflateSync(Buffer.from(JSON.stringify(event))), {
      'content-type': 'application/json',
      'content-encoding': 'deflate',
    });
    expect(deflated.status).toBe(200);
    const plain = await post('/v1/i', JSON.stringify({ userId: 'deflate-1', traits: { plan: 'team' } }), {
      'content-type': 'text/plain',
      authorization: basic(server.writeKey),
    });
    expect(plain.status).toBe(200);
    const batch = await post(
      '/v1/b',
      gzipSync(JSON.stringify({ writeKey: server.writeKey, batch: [{ type: 'page', userId: 'deflate-1', name: 'Home' }] })),
      {
        'content-type': 'text/plain',
        'content-encoding': 'gzip',
      },
    );
    expect(batch.status).toBe(200);
    const profile = await arrived('deflate-1', (p) => p.traits?.plan === 'team' && p.events?.['Page Viewed'] && p.events?.['Signed Up']);
    expect(profile.events).toEqual({ 'Signed Up': { web: 1 }, 'Page Viewed': { web: 1 } });
  });

  it('answers a gzip bomb with 413 without keeping any of it, and names bad encodings', async () => {
    const bomb = gzipSync(Buffer.from(JSON.stringify({ userId: 'bomb', event: 'x', properties: { pad: ' '.repeat(20 * 1024 * 1024) } })));
    const answer = await post('/v1/track', bomb, { 'content-encoding': 'gzip', authorization: basic(server.writeKey) });
    expect(answer.status).toBe(413);
    expect(((await answer.json()) as any).error.message).toMatch(/decompressed/);
    const corrupt = await post('/v1/track', Buffer.from('not gzip'), { 'content-encoding': 'gzip', authorization: basic(server.writeKey) });
    expect(corrupt.status).toBe(400);
    expect(((await corrupt.json()) as any).error.code).toBe('malformed_body');
    const unknown = await post('/v1/track', '{}', { 'content-encoding': 'compress', authorization: basic(server.writeKey) });
    expect(unknown.status).toBe(415);
    expect((await profileOf('bomb'))?.profileId).toBeUndefined();
  });
});

describe('CORS per source', () => {
  const preflight = (origin: string, path = '/v1/t') =>
    fetch(`${local().url}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    });

  it('answers the preflight of an allowed origin, and refuses one no source allows', async () => {
    for (const origin of [SHOP, 'https://www.brand.fr']) {
      const answer = await preflight(origin);
      expect(answer.status, origin).toBe(204);
      expect(answer.headers.get('access-control-allow-origin')).toBe(origin);
      expect(answer.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
      expect(answer.headers.get('access-control-allow-methods')).toContain('POST');
    }
    const refused = await preflight('https://evil.example');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets an allowed page read the answer, and refuses an origin this source does not allow even when another source does', async () => {
    const allowed = await post('/v1/t', JSON.stringify({ userId: 'cors-1', event: 'Viewed', writeKey: web.writeKey }), {
      'content-type': 'text/plain',
      origin: SHOP,
    });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(allowed.headers.get('vary')).toMatch(/origin/i);
    const invalid = await post('/v1/t', JSON.stringify({ event: 'Viewed', writeKey: web.writeKey }), {
      'content-type': 'text/plain',
      origin: SHOP,
    });
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('access-control-allow-origin')).toBe(SHOP); // the page can read why

    // The back-office source allows no browser at all; the shop's origin is allowed only for the website source.
    const wrongSource = await post('/v1/t', JSON.stringify({ userId: 'cors-2', event: 'Viewed', writeKey: server.writeKey }), {
      'content-type': 'text/plain',
      origin: SHOP,
    });
    expect(wrongSource.status).toBe(403);
    expect(((await wrongSource.json()) as any).error.code).toBe('origin_not_allowed');
    expect(wrongSource.headers.get('access-control-allow-origin')).toBeNull();
    await arrived('cors-1');
    expect((await profileOf('cors-2'))?.profileId).toBeUndefined();
  });

  it('takes a new origin once the source is changed, and never opens the admin API to browsers', async () => {
    const admin = adminClient(local());
    expect((await preflight('https://new.example')).status).toBe(403);
    const changed = await admin.patch(`/v1/sources/${web.sourceId}`, { allowedOrigins: [SHOP, 'https://new.example'] });
    expect(changed.status).toBe(200);
    expect(changed.body.allowedOrigins).toEqual([SHOP, 'https://new.example']);
    expect((await preflight('https://new.example')).status).toBe(204);
    expect((await admin.patch(`/v1/sources/${web.sourceId}`, { allowedOrigins: ['https://new.example/path'] })).status).toBe(400);

    const adminPreflight = await preflight(SHOP, '/v1/segments');
    expect(adminPreflight.headers.get('access-control-allow-origin')).toBeNull();
    const adminRead = await fetch(`${local().url}/v1/sources`, {
      headers: { origin: SHOP, authorization: `Bearer ${local().adminToken}` },
    });
    expect(adminRead.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('the browser library', () => {
  it('serves the snippet script for any key and the bundles by name, cacheable; nothing else', async () => {
    const script = await fetch(`${local().url}/analytics.js/v1/${web.writeKey}/analytics.min.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(script.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(await script.text()).toContain('analytics-next/bundles/');
    const bundle = readdirSync(join(process.cwd(), LIBRARY_PACKAGE_DIR)).find((file) => /^queryString\.bundle\.\w+\.js$/.test(file));
    const bundles = await fetch(`${local().url}/analytics-next/bundles/${bundle}`);
    expect([bundles.status, bundles.headers.get('cache-control')]).toEqual([200, 'public, max-age=31536000, immutable']);
    for (const path of [
      '/analytics-next/bundles/nope.js',
      '/analytics-next/bundles/..%2Fpackage.json',
      '/analytics-next/bundles/../../package.json',
    ]) {
      expect((await fetch(`${local().url}${path}`)).status, path).toBe(404);
    }
  });
});

describe('the settings analytics.js loads', () => {
  it('points the library at this API for an active write key, to allowed origins only', async () => {
    const answer = await fetch(`${local().url}/v1/projects/${web.writeKey}/settings`, { headers: { origin: SHOP } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBe(SHOP);
    const settings = (await answer.json()) as any;
    expect(settings.integrations['Segment.io']).toMatchObject({
      apiKey: web.writeKey,
      apiHost: `${new URL(local().url).host}/v1`,
      protocol: 'http',
    });
    expect(settings.metrics.sampleRate).toBe(0);

    expect((await fetch(`${local().url}/v1/projects/wk_unknown/settings`)).status).toBe(404);
    const refused = await fetch(`${local().url}/v1/projects/${web.writeKey}/settings`, { headers: { origin: 'https://evil.example' } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    expect((await fetch(`${local().url}/v1/projects/${web.writeKey}/settings`, { method: 'POST' })).status).toBe(405);
  });
});
