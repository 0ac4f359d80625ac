/**
 * `npm run demo`: a realistic hybrid stream (web, app, store, email, event) sent
 * with the real Segment client to a running Prisme, then a few segments, an
 * audience and a snapshot, so there is something to look at.
 */

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Analytics } from '@segment/analytics-node';
import { strictAdminClient } from './admin-client';
import { sdkNodeNotice } from './node-version';
import { DEFAULT_DATA_DIR, findRuntime, localCredentials } from './runtime-file';

sdkNodeNotice();

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.PRISME_URL },
    people: { type: 'string', default: '200' },
    'data-dir': { type: 'string', default: process.env.PRISME_DATA_DIR ?? DEFAULT_DATA_DIR },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  console.log(`Usage: npm run demo -- [--people 200] [--data-dir .prisme-local] [--url http://127.0.0.1:3000]

Sends a hybrid customer stream to a running Prisme (start it with "npm start"), then creates
segments and an audience, approves it, takes a snapshot and runs the daily freeze. It finds the
npm start of its data folder (its address and keys) through <data-dir>/runtime.json and
credentials.json; --url (or PRISME_URL) names another, with PRISME_WRITE_KEY and PRISME_ADMIN_TOKEN.`);
  process.exit(0);
}

const dataDir = args['data-dir']!;
const { writeKey, adminToken } = localCredentials(dataDir);
if (!writeKey || !adminToken) {
  console.error(`No keys: start Prisme with "npm start" first, or set PRISME_WRITE_KEY and PRISME_ADMIN_TOKEN.`);
  process.exit(1);
}
const url = args.url ?? findRuntime(dataDir)?.url ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`;
const people = Number(args.people);

const call = strictAdminClient({ url, adminToken });
// biome-ignore lint/suspicious/noExplicitAny: the admin API's JSON, read for a few fields the demo prints
const admin = (method: string, path: string, body?: unknown) => call<any>(method, path, body);

// A small deterministic generator, so two demo runs tell the same story.
let seed = 42;
const random = () => {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
};
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000 - random() * 3_600_000);

const cities = ['Nice', 'Paris', 'Lyon', 'Marseille', 'Bordeaux'];
const analytics = new Analytics({ writeKey, host: url, flushAt: 100, flushInterval: 200 });
let failures = 0;
analytics.on('error', () => failures++);

console.log(`Sending a hybrid stream for ${people} people to ${url} ...`);
let sent = 0;
const track = (message: Parameters<typeof analytics.track>[0]) => {
  analytics.track(message);
  sent++;
};
for (let i = 0; i < people; i++) {
  const anonymousId = `anon-${i}`;
  const userId = `customer-${i}`;
  const tier = random() < 0.2 ? 'VIP' : 'standard';
  for (let v = 0; v < 1 + Math.floor(random() * 5); v++) {
    analytics.page({ anonymousId, name: pick(['Home', 'Product', 'Pricing', 'Reviews']), timestamp: daysAgo(random() * 10) });
    sent++;
  }
  if (random() < 0.8) {
    analytics.identify({
      userId,
      anonymousId,
      traits: { email: `customer${i}@example.com`, firstName: `Customer ${i}`, tier, city: pick(cities) },
      timestamp: daysAgo(random() * 10),
    });
    sent++;
    for (let o = 0; o < Math.floor(random() * 4); o++) {
      track({
        userId,
        event: 'Order Completed',
        properties: { revenue: Math.round(20 + random() * 200) },
        context: { channel: pick(['store', 'web', 'store', 'call_center']) },
        timestamp: daysAgo(random() * 240),
      });
    }
    if (random() < 0.5) track({ userId, event: 'Email Opened', context: { channel: 'email' }, timestamp: daysAgo(random() * 20) });
    if (random() < 0.3) track({ userId, event: 'Product Added', context: { channel: 'app' }, timestamp: daysAgo(random() * 7) });
    if (random() < 0.1) track({ userId, event: 'Webinar Attended', context: { channel: 'event' }, timestamp: daysAgo(random() * 30) });
  }
  if ((i + 1) % 50 === 0) process.stdout.write(`  ${i + 1}/${people} people, ${sent} events queued\n`);
}
await analytics.closeAndFlush({ timeout: 30_000 });
console.log(`Sent ${sent} events (${failures} failed deliveries).`);

const segments = {
  'vip-store': {
    name: 'VIP who bought at least twice in store in the last 6 months',
    condition: {
      type: 'and',
      conditions: [
        { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' },
        { type: 'event', event: 'Order Completed', channel: 'store', count: { operator: 'gte', value: 2 }, within: { days: 183 } },
      ],
    },
  },
  'recent-visitors': {
    name: 'Visited the site in the last 3 days',
    condition: { type: 'event', event: 'Page Viewed', channel: 'web', within: { days: 3 } },
  },
  'engaged-in-nice': {
    name: 'Nice customers engaged by email or events',
    condition: {
      type: 'and',
      conditions: [
        { type: 'trait', trait: 'city', operator: 'eq', value: 'Nice' },
        {
          type: 'or',
          conditions: [
            { type: 'event', event: 'Email Opened', within: { days: 30 } },
            { type: 'event', event: 'Webinar Attended' },
          ],
        },
      ],
    },
  },
};
for (const [id, definition] of Object.entries(segments)) await admin('PUT', `/v1/segments/${id}`, definition);
process.stdout.write('Evaluating segments over existing profiles');
for (;;) {
  const { segments: list } = await admin('GET', '/v1/segments');
  if (list.every((s: { status: string }) => s.status === 'ready')) {
    console.log('\nSegments:');
    for (const s of list) console.log(`  ${s.id.padEnd(24)} ${String(s.size).padStart(5)}  ${s.name}`);
    break;
  }
  process.stdout.write('.');
  await new Promise((r) => setTimeout(r, 500));
}

// An audience is a draft until someone approves it (and it must reach 50 members, for privacy).
await admin('PUT', '/v1/audiences/recent-visitors-email', {
  name: 'Recent visitors by email',
  segmentId: 'recent-visitors',
  fields: ['email', 'traits.firstName', 'traits.city'],
  holdoutPercent: 10,
});
const approval = await admin('POST', '/v1/audiences/recent-visitors-email/approve', { approvedBy: 'demo' });
console.log(
  `Audience recent-visitors-email approved at ${approval.previewedSize} members (${approval.holdout} held out as a control group)`,
);
const { runId } = await admin('POST', '/v1/audiences/recent-visitors-email/snapshots');
for (;;) {
  const run = await admin('GET', `/v1/audiences/recent-visitors-email/snapshots/${runId}`);
  if (run.status === 'succeeded' || run.status === 'failed' || run.status === 'held') {
    console.log(`Snapshot ${runId}: ${run.status}`, run.status === 'succeeded' ? run.progress : run.error);
    break;
  }
  await new Promise((r) => setTimeout(r, 300));
}
// The daily freeze, now: RFM, churn risk and clusters for everyone.
const freeze = await admin('POST', '/v1/jobs/freeze');
process.stdout.write(`Freeze ${freeze.runId}`);
for (;;) {
  const run = await admin('GET', `/v1/jobs/freeze/runs/${freeze.runId}`);
  if (run.status === 'succeeded' || run.status === 'failed') {
    console.log(
      `: ${run.status}`,
      run.status === 'failed' ? run.error : `(${run.progress.profiles} profiles in ${run.progress.durationMs} ms)`,
    );
    for (const c of run.progress?.clusters?.descriptions ?? [])
      console.log(`  cluster ${c.id}  ${Math.round(c.share * 100)}%  ${c.description}`);
    break;
  }
  process.stdout.write('.');
  await new Promise((r) => setTimeout(r, 500));
}
console.log(
  `\nLook around:\n  curl -s '${url}/v1/profiles?userId=customer-1' -H 'authorization: Bearer ${adminToken}'\n  ls ${join(dataDir, 's3', 'prisme-local', 'audiences', 'recent-visitors-email')}`,
);
