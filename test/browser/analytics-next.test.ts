/**
 * A website with Segment's own browser library, unchanged: the real @segment/analytics-next bundle,
 * served from node_modules by a site on another origin, in Chromium, sending to the local runtime.
 * It loads its settings inline or from Prisme (`cdnURL`), sends identify, page, track and group as
 * text/plain to the one-letter paths after a CORS preflight, and a site no source allows is refused.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join, normalize } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser';
import { adminClient, eventually, useTestRuntime } from '../helpers/local';

const LIBRARY_DIR = join(dirname(createRequire(import.meta.url).resolve('@segment/analytics-next/package.json')), 'dist', 'umd');
const local = useTestRuntime();
let browser: Browser;
const sites: Server[] = [];
let allowedSite: string;
let refusedSite: string;
let writeKey: string;

/** A website: one page, and the library's files as a site hosting analytics.js itself would serve them. */
async function startSite(host: string): Promise<string> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://site').pathname;
    if (path === '/favicon.ico') return res.writeHead(204).end();
    if (path === '/snippet') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(snippetPage(new URL(req.url!, 'http://site').searchParams));
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<!doctype html><title>Shop</title><script src="/lib/index.js"></script><h1>Shop</h1>');
    }
    const file = normalize(path.slice('/lib/'.length));
    if (!path.startsWith('/lib/') || file.startsWith('..')) return res.writeHead(404).end();
    readFile(join(LIBRARY_DIR, file)).then(
      (body) => res.writeHead(200, { 'content-type': 'text/javascript' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  sites.push(server);
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}

/**
 * A page with Segment's snippet as a site pastes it (the stub that queues calls and loads the
 * script by writeKey), its script host changed to Prisme's; `_cdn` too, since analytics.js reads the
 * CDN from the script's address only for https.
 */
const snippetPage = (query: URLSearchParams) => `<!doctype html><title>Shop</title><script>
(function () {
  var analytics = (window.analytics = window.analytics || []);
  analytics.invoked = true;
  analytics.methods = ['identify', 'track', 'page', 'group', 'alias', 'screen', 'ready', 'reset', 'on', 'once', 'off'];
  analytics.factory = function (method) {
    return function () {
      var args = Array.prototype.slice.call(arguments);
      args.unshift(method);
      analytics.push(args);
      return analytics;
    };
  };
  for (var i = 0; i < analytics.methods.length; i++) analytics[analytics.methods[i]] = analytics.factory(analytics.methods[i]);
  analytics.load = function (key, options) {
    var script = document.createElement('script');
    script.async = true;
    script.src = ${JSON.stringify(query.get('prisme'))} + '/analytics.js/v1/' + key + '/analytics.min.js';
    document.head.appendChild(script);
    analytics._loadOptions = options;
  };
  analytics._writeKey = ${JSON.stringify(query.get('key'))};
  analytics._cdn = ${JSON.stringify(query.get('prisme'))};
  analytics.load(${JSON.stringify(query.get('key'))});
  analytics.identify(${JSON.stringify(query.get('user'))}, { plan: 'snippet' });
  analytics.page('Home');
  analytics.track('Product Viewed', { sku: 'A-1' });
})();
</script><h1>Shop</h1>`;

interface Visit {
  page: Page;
  /** Every request the page made to Prisme: method, path and Content-Type. */
  toPrisme: string[];
  failed: string[];
  /** What the page wrote to its console as errors. */
  errors: string[];
}

async function visit(site: string, path = '/'): Promise<Visit> {
  const page = await browser.newPage();
  const seen: Visit = { page, toPrisme: [], failed: [], errors: [] };
  const prisme = new URL(local().url).origin;
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin === prisme) seen.toPrisme.push(`${request.method()} ${url.pathname} ${request.headers()['content-type'] ?? ''}`.trim());
  });
  page.on('requestfailed', (request) => seen.failed.push(`${request.method()} ${request.url()}`));
  page.on('console', (message) => {
    if (message.type() === 'error') seen.errors.push(message.text());
  });
  await page.goto(`${site}${path}`);
  if (path === '/') await page.waitForFunction(() => 'AnalyticsNext' in globalThis);
  return seen;
}

/** Loads the library in the page (inline settings, or from Prisme as its CDN) and sends one of each call. */
const sendFromPage = (page: Page, how: 'inline' | 'cdnURL', userId: string) =>
  page.evaluate(
    async ({ how, userId, writeKey, prisme }) => {
      const { AnalyticsBrowser } = (globalThis as any).AnalyticsNext;
      const host = new URL(prisme).host;
      const settings =
        how === 'cdnURL'
          ? { writeKey, cdnURL: prisme }
          : {
              writeKey,
              cdnSettings: {
                integrations: { 'Segment.io': { apiKey: writeKey, apiHost: `${host}/v1`, protocol: 'http' } },
                metrics: { sampleRate: 0 },
              },
            };
      const [analytics] = await AnalyticsBrowser.load(settings, { retryQueue: false });
      const delivered = async (call: Promise<any>) => {
        const ctx = await call;
        return ctx.failedDelivery() ? `failed: ${ctx.failedDelivery().reason}` : 'delivered';
      };
      return [
        await delivered(analytics.identify(userId, { email: `${userId}@example.com`, plan: 'pro' })),
        await delivered(analytics.page('Pricing', { path: '/pricing' })),
        await delivered(analytics.track('Order Completed', { revenue: 30 })),
        await delivered(analytics.group(`${userId}-company`, { name: 'Acme', employees: 120 })),
      ];
    },
    { how, userId, writeKey, prisme: local().url },
  );

const profileOf = async (userId: string) => (await adminClient(local()).get(`/v1/profiles?userId=${userId}`)).body;

beforeAll(async () => {
  browser = await launchChromium();
  allowedSite = await startSite('localhost');
  refusedSite = await startSite('127.0.0.2');
  const source = await adminClient(local()).post('/v1/sources', {
    name: 'Shop website',
    defaultChannel: 'web',
    allowedOrigins: [allowedSite],
  });
  writeKey = source.body.writeKey;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const site of sites) await new Promise((resolve) => site.close(resolve));
});

describe('@segment/analytics-next in Chromium', () => {
  it('refuses a site whose origin the source does not allow: the browser stops at the preflight', async () => {
    const { page, failed, errors } = await visit(refusedSite);
    await sendFromPage(page, 'inline', 'refused-visitor'); // the library does not say: it only logs the failure
    const prisme = local().url;
    expect(failed).toEqual([`POST ${prisme}/v1/i`, `POST ${prisme}/v1/p`, `POST ${prisme}/v1/t`, `POST ${prisme}/v1/g`]);
    expect(errors.filter((error) => /blocked by CORS policy: Response to preflight/.test(error))).toHaveLength(4);
    // Through cdnURL the settings themselves are refused, so the library never starts.
    const viaCdn = await page.evaluate(
      async ({ writeKey, prisme }) => {
        try {
          await (globalThis as any).AnalyticsNext.AnalyticsBrowser.load({ writeKey, cdnURL: prisme });
          return 'loaded';
        } catch (error) {
          return `refused: ${String(error)}`;
        }
      },
      { writeKey, prisme: local().url },
    );
    expect(viaCdn).toMatch(/^refused/);
    await page.close();
  });

  it("sends identify, page, track and group with inline settings, as text/plain to the one-letter paths; the group traits stay the group's", async () => {
    const { page, toPrisme } = await visit(allowedSite);
    expect(await sendFromPage(page, 'inline', 'browser-ada')).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
    expect(toPrisme).toEqual(
      expect.arrayContaining(['POST /v1/i text/plain', 'POST /v1/p text/plain', 'POST /v1/t text/plain', 'POST /v1/g text/plain']),
    );
    const ada = await eventually(
      () => profileOf('browser-ada'),
      (profile) =>
        profile?.events?.['Order Completed'] &&
        profile?.events?.['Page Viewed'] &&
        profile?.traits?.plan === 'pro' &&
        profile?.groups?.length === 1,
    );
    expect(ada.events).toEqual({ 'Page Viewed': { web: 1 }, 'Order Completed': { web: 1 } });
    // The group call's traits are the company's, not Ada's.
    expect(ada.groups).toEqual([expect.objectContaining({ groupId: 'browser-ada-company', traits: { name: 'Acme', employees: 120 } })]);
    expect(ada.traits).not.toHaveProperty('employees');
    expect(ada.identifiers.email).toEqual(['browser-ada@example.com']);
    expect(ada.identifiers.anonymousId).toHaveLength(1); // the browser's own id, linked at identify
    await page.close();
  });

  it('loads its settings from Prisme as its CDN (cdnURL) and sends there', async () => {
    const { page, toPrisme, failed, errors } = await visit(allowedSite);
    expect(await sendFromPage(page, 'cdnURL', 'browser-bob')).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
    expect(toPrisme[0]).toBe(`GET /v1/projects/${writeKey}/settings`);
    expect(toPrisme.slice(1).sort()).toEqual([
      'POST /v1/g text/plain',
      'POST /v1/i text/plain',
      'POST /v1/p text/plain',
      'POST /v1/t text/plain',
    ]); // nothing else, no telemetry
    expect(failed).toEqual([]);
    expect(errors).toEqual([]);
    const bob = await eventually(
      () => profileOf('browser-bob'),
      (profile) => profile?.events?.['Order Completed'] && profile?.events?.['Page Viewed'],
    );
    expect(bob.indicators.revenue).toBe(30);
    await page.close();
  });

  it("works from Segment's snippet with Prisme as its CDN: the script, its settings and the events all come from Prisme", async () => {
    const query = new URLSearchParams({ prisme: local().url, key: writeKey, user: 'snippet-cid' });
    const { page, toPrisme, failed, errors } = await visit(allowedSite, `/snippet?${query}`);
    const cid = await eventually(
      () => profileOf('snippet-cid'),
      (profile) => profile?.events?.['Product Viewed'] && profile?.events?.['Page Viewed'] && profile?.traits?.plan === 'snippet',
    );
    expect(cid.events).toEqual({ 'Page Viewed': { web: 1 }, 'Product Viewed': { web: 1 } });
    expect(toPrisme.slice(0, 2)).toEqual([`GET /analytics.js/v1/${writeKey}/analytics.min.js`, `GET /v1/projects/${writeKey}/settings`]);
    expect(failed).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
    // The refused site's visitor was never accepted, though later visitors' events have all arrived.
    expect((await profileOf('refused-visitor'))?.profileId).toBeUndefined();
  });
});
