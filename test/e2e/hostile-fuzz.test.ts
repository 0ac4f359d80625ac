/**
 * Thousands of generated hostile requests at the running local runtime: prototype keys and key
 * separators wherever a client names something, ids that are placeholders or not well-formed Unicode,
 * times outside any calendar, oversized batch contexts, random JSON. It must answer every one below
 * 500 and stay up; every 4xx names what was wrong (event index and field); every accepted event is
 * folded into a profile that shows it; and nothing is parked in the DLQ.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '#local/runtime';
import { parseEvents } from '#shared/domain/events';
import { identifiersOf } from '#shared/domain/identity';
import { adminClient, startTestRuntime } from '../helpers/local';

let runtime: LocalRuntime;
let admin: ReturnType<typeof adminClient>;
const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();
beforeAll(async () => {
  runtime = await startTestRuntime();
  admin = adminClient(runtime);
  // Segments that name hostile keys too: evaluation reads them on every write.
  const segments = {
    'proto-event': { name: 'Proto event', condition: { type: 'event', event: '__proto__', count: { operator: 'gte', value: 1 } } },
    'proto-trait': { name: 'Proto trait', condition: { type: 'trait', trait: 'constructor', operator: 'exists' } },
    'proto-filter': {
      name: 'Proto filter',
      condition: { type: 'event', event: 'constructor', where: [{ property: '__proto__', operator: 'eq', value: 'prototype' }] },
    },
  };
  for (const [id, body] of Object.entries(segments)) expect((await admin.put(`/v1/segments/${id}`, body)).status).toBe(201);
}, 120_000);
afterAll(async () => {
  await runtime?.stop();
});

const loneSurrogates = fc
  .array(fc.integer({ min: 0xd800, max: 0xdfff }), { minLength: 1, maxLength: 3 })
  .map((units) => `x${String.fromCharCode(...units)}`);
const hostileName = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      'valueOf',
      '__defineGetter__',
      '__lookupSetter__',
      'isPrototypeOf',
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'A|store',
      'x|*|y',
      'Order Completed|web',
      '|',
      '*',
      '.',
      'a.b',
      '$where',
      '%7C',
      '~x',
      '=HYPERLINK("x")',
      ' ',
      'web',
    ),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: loneSurrogates },
);
const hostileValue = fc.oneof(
  hostileName,
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.constantFrom(1e300, -1e300, 0, -0),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
);
const record = (values: fc.Arbitrary<unknown>) =>
  fc.array(fc.tuple(hostileName, values), { maxLength: 5 }).map((entries) => Object.fromEntries(entries));
const placeholderOrWorse = fc.oneof(
  fc.constantFrom('0', '-1', 'null', 'test', 'anonymous', '', '\u0000', 'N/A'),
  loneSurrogates,
  fc.string({ unit: 'binary', maxLength: 10 }),
  fc.integer(),
);
const time = fc.oneof(
  fc.integer({ min: 0, max: 500 }).map((days) => new Date(Date.now() - days * 86_400_000).toISOString()),
  fc.constantFrom(
    '+275760-09-13T00:00:00.000Z',
    '-271821-04-20T00:00:00.000Z',
    '9999-12-31T23:59:59.999Z',
    '1899-12-31T00:00:00Z',
    'yesterday',
    '',
  ),
);
const context = fc.record(
  {
    channel: fc.oneof(fc.constantFrom('web', 'app', 'store', 'email'), hostileName),
    externalIds: fc.array(fc.record({ type: hostileName, id: hostileValue, collection: fc.constant('users') }), { maxLength: 3 }),
    traits: record(hostileValue),
    page: fc.record({ path: hostileName }),
  },
  { requiredKeys: [] },
);
/** An event; `controlled` ones get a userId of the test's, so their profile can be found and checked. */
const event = fc.record(
  {
    controlled: fc.boolean(),
    type: fc.constantFrom('identify', 'track', 'track', 'page', 'screen', 'group', 'alias'),
    userId: placeholderOrWorse,
    anonymousId: placeholderOrWorse,
    event: hostileName,
    name: hostileName,
    groupId: fc.oneof(hostileName, fc.integer()),
    previousId: placeholderOrWorse,
    properties: record(hostileValue).chain((props) =>
      fc
        .record({ category: hostileName, revenue: fc.oneof(fc.integer(), fc.double({ noNaN: true }), hostileName) })
        .map((extra) => ({ ...props, ...extra })),
    ),
    traits: fc.oneof(
      record(fc.oneof(hostileName, fc.integer())),
      fc.record({
        email: fc.oneof(fc.constantFrom('ada@example.com', 'x\uD800@example.com'), hostileName),
        phone: fc.constantFrom('+33612345678', '0', '=1+1'),
      }),
    ),
    context,
    timestamp: time,
    originalTimestamp: time,
    sentAt: time,
    messageId: fc.oneof(fc.string({ maxLength: 20 }), loneSurrogates),
  },
  { requiredKeys: ['controlled', 'type'] },
);
const request = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      endpoint: fc.constant('batch'),
      events: fc.array(event, { minLength: 1, maxLength: 6 }),
      context: fc.option(fc.oneof(context, fc.constant({ blob: 'b'.repeat(31_000) })), { nil: undefined }),
      sentAt: fc.option(time, { nil: undefined }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      endpoint: fc.constantFrom('track', 'identify', 'page', 'screen', 'group', 'alias'),
      events: event.map((e) => [e]),
      context: fc.constant(undefined),
      sentAt: fc.constant(undefined),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      endpoint: fc.constantFrom('batch', 'track'),
      raw: fc.oneof(fc.json(), fc.string({ unit: 'binary', maxLength: 60 })),
    }),
  },
);

type Sent = Record<string, unknown> & { controlled?: boolean };
const auth = `Basic ${Buffer.from('placeholder:').toString('base64')}`;

describe('hostile requests at the running runtime', () => {
  it('never answers 5xx, names every refusal, folds every accepted event, and parks nothing', async () => {
    const ingestAuth = auth.replace(Buffer.from('placeholder:').toString('base64'), Buffer.from(`${runtime.writeKey}:`).toString('base64'));
    let next = 0;
    const statuses = new Map<number, number>();
    const acceptedEvents: Sent[] = [];
    await fc.assert(
      fc.asyncProperty(request, async (generated) => {
        let body: string;
        let sent: Sent[] = [];
        if ('raw' in generated) body = generated.raw;
        else {
          sent = generated.events.map(({ controlled, ...fields }) => ({
            ...fields,
            ...(controlled && { userId: `fz-${next++}`, controlled }),
          }));
          const strip = ({ controlled, ...fields }: Sent) => fields;
          body =
            generated.endpoint === 'batch'
              ? JSON.stringify({
                  batch: sent.map(strip),
                  ...(generated.context && { context: generated.context }),
                  ...(generated.sentAt && { sentAt: generated.sentAt }),
                })
              : JSON.stringify(strip(sent[0]!));
        }
        const response = await fetch(`${runtime.url}/v1/${generated.endpoint}`, {
          method: 'POST',
          headers: { authorization: ingestAuth, 'content-type': 'application/json' },
          body,
        });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect(response.status).toBeLessThan(500);
        const answer = (await response.json()) as {
          success?: boolean;
          rejected?: Array<{ index: unknown; field: unknown; reason: unknown }>;
          error?: { code: string; message: string; details?: Array<{ path: unknown }> };
        };
        const refused = new Set<number>();
        if (response.status === 200) expect(answer).toEqual({ success: true });
        else if (answer.rejected) {
          expect(response.status).toBe(400);
          for (const rejection of answer.rejected) {
            expect(rejection.index).toEqual(expect.any(Number));
            expect(rejection.field).toEqual(expect.any(String));
            expect(rejection.reason).toEqual(expect.any(String));
            refused.add(rejection.index as number);
          }
        } else {
          // Refused whole (not JSON, too large, ...): a code and a message; nothing of it was kept.
          expect([400, 413]).toContain(response.status);
          expect(answer.error?.message).toEqual(expect.any(String));
          return;
        }
        const batchContext = 'context' in generated ? generated.context : undefined;
        for (const [index, e] of sent.entries()) {
          if (!refused.has(index))
            acceptedEvents.push({ ...e, type: generated.endpoint === 'batch' ? e.type : generated.endpoint, batchContext });
        }
      }),
      { numRuns: 1500, seed: 15_2026 },
    );
    expect(statuses.get(200)).toBeGreaterThan(100);
    expect(statuses.get(400)).toBeGreaterThan(100);

    await runtime.drain(120_000);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeNames);
    expect(({} as Record<string, unknown>).web).toBeUndefined();

    // Every accepted event with a userId of ours is in its profile: tracks counted under their name.
    const ours = acceptedEvents.filter((e) => e.controlled);
    expect(ours.length).toBeGreaterThan(300);
    const missing: string[] = [];
    // As ingest made it (the batch's context merged in, the time corrected): what the profile should show.
    const enrichedOf = ({ controlled, batchContext, ...fields }: Sent) =>
      parseEvents(
        'batch',
        { batch: [fields], ...(batchContext ? { context: batchContext } : {}) },
        { source: { sourceId: 'local', defaultChannel: 'web' }, receivedAt: Date.now(), newMessageId: () => 'm' },
      ).accepted[0];
    // Profiles keep 400 days of behaviour: an older event is folded, then aged out (documented).
    const recent = (at: string) => Date.now() - Date.parse(at) < 390 * 86_400_000;
    const check = async (e: Sent) => {
      const profile = await admin.get(`/v1/profiles?userId=${e.userId}`);
      if (profile.status !== 200) return missing.push(`${e.userId}: profile ${profile.status}`);
      const enriched = enrichedOf(e);
      if (enriched?.type === 'track' && recent(enriched.timestamp) && !Object.hasOwn(profile.body.events, enriched.event!)) {
        missing.push(`${e.userId}: no ${JSON.stringify(enriched.event)} in ${JSON.stringify(Object.keys(profile.body.events))}`);
      }
    };
    // And every other accepted event reached the profile of one of its usable identifiers.
    const others = acceptedEvents.filter((e) => !e.controlled);
    const checkOther = async (e: Sent) => {
      const enriched = enrichedOf(e);
      const [id] = enriched ? identifiersOf(enriched) : [];
      if (!id) return missing.push(`accepted with no usable identifier: ${JSON.stringify(e).slice(0, 200)}`);
      const profile = await admin.get(`/v1/profiles?${encodeURIComponent(id.type)}=${encodeURIComponent(id.value)}`);
      if (profile.status !== 200) missing.push(`${id.type} ${JSON.stringify(id.value)}: profile ${profile.status}`);
    };
    const work = [...ours.map((e) => () => check(e)), ...others.map((e) => () => checkOther(e))];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let task = work.shift(); task; task = work.shift()) await task();
      }),
    );
    expect(missing.join('\n')).toEqual('');

    const parked = runtime.queues.deadLetter.receive(1000, 1).map((m) => m.attributes?.reason?.StringValue);
    expect(parked).toEqual([]);
    const alive = await fetch(`${runtime.url}/v1/track`, {
      method: 'POST',
      headers: { authorization: ingestAuth, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'after-the-storm', event: 'Checked' }),
    });
    expect(alive.status).toBe(200);
  }, 600_000);
});
