/**
 * The examples of docs/segments.md, read from the document itself, against a generated stream of people
 * and events sent with the official Segment client: every example's members, through the public API,
 * equal those of a plain interpreter of the language over the raw events (windows to the second, no
 * buckets). Saved before the stream (live folding) and again after it (backfill from the archive).
 */
import { readFileSync } from 'node:fs';
import { Analytics } from '@segment/analytics-node';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '#bench/harness';
import { adminClient, eventually, useTestRuntime } from '../helpers/local';
import { type Person, type RawEvent, referenceMembers } from '../helpers/reference-segments';

// The tests' 1 s visibility timeout: batches still being processed are delivered again, as SQS may.
const local = useTestRuntime();

/** Every JSON condition of the "Examples" section, in order. */
function documentedExamples(): unknown[] {
  const doc = readFileSync(new URL('../../docs/segments.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('\n## Examples\n'), doc.indexOf('\n## How it is evaluated'));
  const blocks = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.flatMap(splitObjects).map((text) => JSON.parse(text));
}

/** A block may hold several conditions, one after the other. */
function splitObjects(block: string): string[] {
  const objects: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < block.length; i++) {
    const c = block[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' && depth++ === 0) start = i;
    else if (c === '}' && --depth === 0) objects.push(block.slice(start, i + 1));
  }
  return objects;
}

const DAY = 86_400_000;
const SEED = 20_261_204;

/** People with a mix of behaviours that lands some of them in each example and keeps others out, near the edges too. */
function generate(now: number, count: number): Person[] {
  // Seeded: the stream is the same on every run.
  const next = seededRandom(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const chance = (p: number) => next() < p;
  // Whole seconds: Prisme keeps instants to the second.
  const at = (daysAgo: number) => Math.floor((now - daysAgo * DAY) / 1000) * 1000;
  // Ages that crowd the examples' edges (3, 7, 14, 30, 90, 183, 365 days), on both sides.
  const age = () => (chance(0.4) ? pick([3, 7, 14, 30, 90, 183, 365]) + (next() - 0.5) * 0.4 : next() * 395);
  const people: Person[] = [];
  for (let n = 0; n < count; n++) {
    const userId = `person-${String(n).padStart(3, '0')}`;
    const events: RawEvent[] = [];
    const add = (event: Omit<RawEvent, 'timestamp'>, daysAgo: number) => {
      if (daysAgo > 0.01 && daysAgo < 398) events.push({ ...event, timestamp: at(daysAgo) });
    };
    for (let i = Math.floor(next() * 5); i > 0; i--) {
      add(
        {
          type: 'track',
          event: 'Order Completed',
          channel: pick(['store', 'web', 'app']),
          properties: { revenue: Math.round(next() * 120), category: pick(['shoes', 'bags', 'coats']) },
        },
        age(),
      );
    }
    for (let i = Math.floor(next() * 6); i > 0; i--) {
      add(
        {
          type: 'page',
          name: pick(['Home', 'Pricing', 'Trail runner']),
          channel: 'web',
          properties: { category: pick(['product', 'blog']) },
        },
        age(),
      );
    }
    if (chance(0.5)) add({ type: 'track', event: 'Product Added', channel: 'web', properties: {} }, age() / 10);
    if (chance(0.3)) add({ type: 'track', event: 'Email Opened', channel: 'email', properties: {} }, age());
    if (chance(0.3)) add({ type: 'track', event: 'Reviews Read', channel: 'app', properties: {} }, age() / 5);
    if (chance(0.3)) add({ type: 'track', event: 'Brochure Requested', channel: 'event', properties: {} }, age() / 5);
    if (chance(0.25)) {
      const webinar = next() * 20;
      add(
        {
          type: 'track',
          event: 'Webinar Attended',
          channel: 'event',
          properties: { webinar: pick(['2026-03-15 product launch', '2026-04-02 roadmap']) },
        },
        webinar,
      );
      // The pricing page from a few minutes to two days later: either side of the 24 h.
      if (chance(0.8))
        add(
          { type: 'page', name: 'Pricing', channel: 'web', properties: {} },
          webinar - (chance(0.5) ? 1 + (next() - 0.5) * 0.1 : next() * 2),
        );
    }
    if (chance(0.2)) {
      // Researching a purchase: pricing, a brochure, reviews, some of it older than two weeks.
      add({ type: 'page', name: 'Pricing', channel: 'web', properties: {} }, next() * 20);
      add({ type: 'track', event: 'Brochure Requested', channel: 'event', properties: {} }, next() * 20);
      add({ type: 'track', event: 'Reviews Read', channel: 'app', properties: {} }, next() * 20);
    }
    if (chance(0.3)) {
      add({ type: 'track', event: 'Showroom Visited', channel: 'store', properties: { city: pick(['Nice', 'Lyon']) } }, next() * 10);
      add(
        { type: 'track', event: 'Product Configured', channel: 'web', properties: { range: pick(['premium', 'standard']) } },
        next() * 10,
      );
    }
    people.push({ userId, traits: { tier: pick(['vip', 'VIP', 'standard', 'gold']) }, events });
  }
  return people;
}

function send(analytics: Analytics, people: readonly Person[], signedUpAt: number): void {
  for (const { userId, traits, events } of people) {
    analytics.identify({ userId, traits, timestamp: new Date(signedUpAt) });
    for (const e of events) {
      const base = { userId, properties: e.properties, context: { channel: e.channel }, timestamp: new Date(e.timestamp) };
      if (e.type === 'page') analytics.page({ ...base, name: e.name! });
      else analytics.track({ ...base, event: e.event! });
    }
  }
}

describe('the examples of docs/segments.md', () => {
  const examples = documentedExamples();

  it('are all read from the document', () => {
    expect(examples.length).toBeGreaterThanOrEqual(10);
  });

  it('hold exactly the people a plain reading of the raw events says, saved before the events and after them', async () => {
    const runtime = local();
    const admin = adminClient(runtime);
    const started = Date.now();
    const people = generate(started, 150);
    const save = async (prefix: string) => {
      for (const [i, condition] of examples.entries()) {
        const response = await admin.put(`/v1/segments/${prefix}-${i}`, { name: `${prefix} example ${i}`, condition });
        expect(response.status, JSON.stringify(response.body)).toBe(201);
      }
    };
    await save('live');

    const analytics = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 100 });
    send(analytics, people, started - 399 * DAY);
    await analytics.closeAndFlush();
    await runtime.drain();

    // The same examples saved now come from the archive (backfill) for what they had not kept.
    await save('backfilled');
    await eventually(
      async () => (await admin.get('/v1/segments')).body.segments as Array<{ status: string }>,
      (list) => list.every((s) => s.status === 'ready'),
      120_000,
    );
    await runtime.drain();

    const profileOf = new Map<string, string>();
    for (const { userId } of people) profileOf.set((await admin.get(`/v1/profiles?userId=${userId}`)).body.profileId, userId);
    const membersOf = async (segmentId: string): Promise<string[]> => {
      const members: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { members: Array<{ profileId: string }>; cursor: string | null } = (
          await admin.get(`/v1/segments/${segmentId}/members?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
        ).body;
        members.push(...page.members.map((m) => profileOf.get(m.profileId) ?? m.profileId));
        cursor = page.cursor;
      } while (cursor);
      return members.sort();
    };

    const finished = Date.now();
    for (const [i, condition] of examples.entries()) {
      // Someone whose answer changes while the test runs (an edge crossed) may be read either way.
      const before = new Set(referenceMembers(condition, people, started));
      const after = new Set(referenceMembers(condition, people, finished));
      const moving = new Set([...before, ...after].filter((p) => before.has(p) !== after.has(p)));
      expect(moving.size, `example ${i}: people crossing an edge during the test`).toBeLessThan(3);
      const expected = [...after].filter((p) => !moving.has(p)).sort();
      // Each example splits the stream: some in, some out.
      expect(expected.length, `example ${i} has members`).toBeGreaterThan(0);
      expect(expected.length, `example ${i} leaves people out`).toBeLessThan(people.length);
      for (const prefix of ['live', 'backfilled']) {
        const actual = (await membersOf(`${prefix}-${i}`)).filter((p) => !moving.has(p));
        // On a difference, Prisme's own explanation and the raw events of the first person it is about.
        const odd = [...actual.filter((p) => !expected.includes(p)), ...expected.filter((p) => !actual.includes(p))][0];
        const why = odd && {
          events: people.find((p) => p.userId === odd)!.events.map((e) => ({ ...e, timestamp: new Date(e.timestamp).toISOString() })),
          archived: await (async () => {
            const { S3Client, ListObjectsV2Command, GetObjectCommand } = await import('@aws-sdk/client-s3');
            const { gunzipSync } = await import('node:zlib');
            const s3 = new S3Client({
              endpoint: runtime.endpoints.s3,
              forcePathStyle: true,
              region: 'us-east-1',
              credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
            });
            const pid = [...profileOf].find(([, userId]) => userId === odd)![0];
            const out: string[] = [];
            let token: string | undefined;
            do {
              const page = await s3.send(new ListObjectsV2Command({ Bucket: runtime.bucket, ContinuationToken: token }));
              for (const o of page.Contents ?? []) {
                if (!o.Key!.includes('archive')) continue;
                const body = Buffer.from(
                  await (await s3.send(new GetObjectCommand({ Bucket: runtime.bucket, Key: o.Key! }))).Body!.transformToByteArray(),
                );
                for (const line of gunzipSync(body).toString().split('\n').filter(Boolean)) {
                  const r = JSON.parse(line);
                  if (r.profileId === pid) out.push(`${o.Key} ${r.messageId} ${r.receivedAt}`);
                }
              }
              token = page.NextContinuationToken;
            } while (token);
            return out;
          })(),
          runs: (await admin.get('/v1/jobs/backfill/runs?limit=100')).body.runs.filter((r: any) => r.runId.startsWith(`${prefix}-${i}-`)),
          explanation: (
            await admin.get(`/v1/profiles/${[...profileOf].find(([, userId]) => userId === odd)![0]}/segments/${prefix}-${i}/explain`)
          ).body,
        };
        expect(actual, `${prefix} example ${i}: ${JSON.stringify(condition)}${odd ? `\n${odd}: ${JSON.stringify(why)}` : ''}`).toEqual(
          expected,
        );
      }
    }
  }, 400_000);
});
