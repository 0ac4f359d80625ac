/** The front door's pure parts: paths, body decoding, origin patterns, the settings analytics.js reads. */

import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBody } from '#functions/ingest/body';
import { apiLocation, browserSettings } from '#functions/ingest/browser-settings';
import { originAllowed, originPatternSchema, sourceInputSchema } from '#shared/domain/sources';
import { ApiError } from '#shared/errors';
import { ingestRouteOf } from '#shared/routes';

const LIMIT = 500 * 1024;
const statusOf = (run: () => unknown): number | undefined => {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof ApiError) return error.statusCode;
    throw error;
  }
};

describe('ingest routes', () => {
  it('knows the long paths and the first letters analytics.js posts to', () => {
    for (const [path, endpoint] of [
      ['/v1/track', 'track'],
      ['/v1/t', 'track'],
      ['/v1/i', 'identify'],
      ['/v1/p', 'page'],
      ['/v1/s', 'screen'],
      ['/v1/g', 'group'],
      ['/v1/a', 'alias'],
      ['/v1/b', 'batch'],
      ['/v1/batch/', 'batch'],
    ] as const) {
      expect(ingestRouteOf(path), path).toEqual({ kind: 'events', endpoint });
    }
    for (const path of ['/v1/x', '/v1/tracks', '/v1/segments', '/v1/projects//settings', '/v1/projects/a/b/settings'])
      expect(ingestRouteOf(path), path).toBeUndefined();
    expect(ingestRouteOf('/v1/projects/wk_1%202/settings')).toEqual({ kind: 'settings', writeKey: 'wk_1 2' });
    expect(ingestRouteOf('/v1/projects/%E0%A4%A/settings')).toEqual({ kind: 'settings', writeKey: '%E0%A4%A' });
  });
});

describe('decodeBody', () => {
  const body = Buffer.from(JSON.stringify({ batch: [{ type: 'track', userId: 'u1', event: 'Ordered' }] }));

  it('undoes gzip, deflate (wrapped or raw), br and chains of them', () => {
    for (const [encoding, bytes] of [
      [undefined, body],
      ['identity', body],
      ['gzip', gzipSync(body)],
      ['GZIP', gzipSync(body)],
      ['x-gzip', gzipSync(body)],
      ['deflate', deflateSync(body)],
      ['deflate', deflateRawSync(body)],
      ['br', brotliCompressSync(body)],
      ['deflate, gzip', gzipSync(deflateSync(body))],
    ] as const) {
      expect(decodeBody(bytes, encoding, LIMIT).equals(body), String(encoding)).toBe(true);
    }
  });

  it('counts the decompressed size against the limit and stops inflating a bomb at the limit', () => {
    expect(decodeBody(gzipSync(Buffer.alloc(LIMIT, 32)), 'gzip', LIMIT).length).toBe(LIMIT);
    const bomb = gzipSync(Buffer.alloc(200 * 1024 * 1024, 32)); // 200 MB in about 200 KB
    const before = process.memoryUsage().rss;
    expect(statusOf(() => decodeBody(bomb, 'gzip', LIMIT))).toBe(413);
    expect(process.memoryUsage().rss - before).toBeLessThan(50 * 1024 * 1024);
    expect(statusOf(() => decodeBody(deflateSync(Buffer.alloc(LIMIT + 1)), 'deflate', LIMIT))).toBe(413);
    expect(statusOf(() => decodeBody(Buffer.alloc(LIMIT + 1), undefined, LIMIT))).toBe(413);
  });

  it('answers 400 for bytes that are not what the encoding says, 415 for an encoding it does not know', () => {
    expect(statusOf(() => decodeBody(body, 'gzip', LIMIT))).toBe(400);
    expect(statusOf(() => decodeBody(gzipSync(body).subarray(0, 20), 'gzip', LIMIT))).toBe(400);
    expect(statusOf(() => decodeBody(body, 'compress', LIMIT))).toBe(415);
    expect(statusOf(() => decodeBody(body, 'zstd', LIMIT))).toBe(415);
  });

  it('never throws anything but a 400, 413 or 415 on arbitrary bytes and encodings', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.constantFrom('gzip', 'deflate', 'br', 'gzip, br', 'x', undefined),
        (bytes, encoding) => {
          const status = statusOf(() => decodeBody(Buffer.from(bytes), encoding, LIMIT));
          expect([undefined, 400, 413, 415]).toContain(status);
        },
      ),
    );
  });
});

describe('allowed origins', () => {
  const patterns = (input: string[]) => sourceInputSchema.parse({ name: 'Web', allowedOrigins: input }).allowedOrigins;

  it('keeps origins as browsers write them, and refuses paths, other schemes and half-patterns', () => {
    expect(patterns(['https://Shop.Example.com/', 'http://localhost:8080', 'https://*.example.com', '*'])).toEqual([
      'https://shop.example.com',
      'http://localhost:8080',
      'https://*.example.com',
      '*',
    ]);
    for (const bad of [
      'shop.example.com',
      'https://shop.example.com/path',
      'ftp://example.com',
      'https://*',
      'https://a.*.com',
      'https://example.com:443',
      'null',
      '',
    ]) {
      expect(originPatternSchema.safeParse(bad).success, bad).toBe(false);
    }
    expect(sourceInputSchema.parse({ name: 'Server' }).allowedOrigins).toEqual([]);
  });

  it('matches exact origins, subdomains of a wildcard (not the domain itself) and *', () => {
    const allowed = patterns(['https://shop.example.com', 'https://*.brand.fr', 'http://localhost:3000']);
    expect(originAllowed('https://shop.example.com', allowed)).toBe(true);
    expect(originAllowed('https://SHOP.example.com', allowed)).toBe(true);
    expect(originAllowed('http://shop.example.com', allowed)).toBe(false);
    expect(originAllowed('https://shop.example.com:8443', allowed)).toBe(false);
    expect(originAllowed('https://evil-shop.example.com', allowed)).toBe(false);
    expect(originAllowed('https://www.brand.fr', allowed)).toBe(true);
    expect(originAllowed('https://a.b.brand.fr', allowed)).toBe(true);
    expect(originAllowed('https://brand.fr', allowed)).toBe(false);
    expect(originAllowed('https://notbrand.fr', allowed)).toBe(false);
    expect(originAllowed('https://brand.fr.evil.com', allowed)).toBe(false);
    expect(originAllowed('http://localhost:3000', allowed)).toBe(true);
    expect(originAllowed('http://localhost:3001', allowed)).toBe(false);
    expect(originAllowed('null', allowed)).toBe(false);
    expect(originAllowed('https://anything.example', ['*'])).toBe(true);
    expect(originAllowed('https://shop.example.com', [])).toBe(false);
  });
});

describe('browser settings', () => {
  it('point analytics.js at this API, with no telemetry and no other destination', () => {
    const settings = browserSettings('wk_1', apiLocation(undefined, 'prisme.local:3000', 'http'));
    expect(settings.integrations['Segment.io']).toMatchObject({ apiKey: 'wk_1', apiHost: 'prisme.local:3000/v1', protocol: 'http' });
    expect(Object.keys(settings.integrations)).toEqual(['Segment.io']);
    expect(settings.metrics.sampleRate).toBe(0);
    expect(apiLocation(undefined, 'abc.execute-api.eu-west-1.amazonaws.com', 'https')).toEqual({
      apiHost: 'abc.execute-api.eu-west-1.amazonaws.com/v1',
      protocol: 'https',
    });
    expect(apiLocation(undefined, 'h', undefined).protocol).toBe('https');
    expect(apiLocation('https://events.example.com/', 'ignored', 'http')).toEqual({ apiHost: 'events.example.com/v1', protocol: 'https' });
    expect(apiLocation('https://example.com/prisme', 'ignored', undefined).apiHost).toBe('example.com/prisme/v1');
  });
});
