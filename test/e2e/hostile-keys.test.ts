/**
 * Names such as `__proto__`, `constructor` and `toString`, sent over HTTP wherever a client chooses a
 * name, are stored and shown as plain data: the runtime stays up, nothing is parked, counts are right.
 * The runtime shares this process, so a polluted Object.prototype would show here too.
 */
import { describe, expect, it } from 'vitest';
import { adminClient, useTestRuntime } from '../helpers/local';

const runtime = useTestRuntime();

/** Raw JSON text, so `__proto__` reaches the server as a key, the way a hostile client sends it. */
const post = (path: string, text: string) =>
  fetch(`${runtime().url}${path}`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${runtime().writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
    body: text,
  });

describe('names a client chose, over HTTP', () => {
  it('are kept as data, and neither crash nor poison the runtime', async () => {
    const sent = [
      await post('/v1/track', '{"userId":"p1","event":"__proto__","context":{"channel":"web"}}'),
      await post('/v1/track', '{"userId":"p1","event":"constructor","context":{"channel":"store"}}'),
      await post(
        '/v1/track',
        '{"userId":"p2","event":"Product Viewed","properties":{"__proto__":{"polluted":1},"constructor":2,"category":"__proto__"},' +
          '"context":{"channel":"__proto__","externalIds":[{"type":"__proto__","id":"a","collection":"users"},{"type":"constructor","id":"b","collection":"users"}]}}',
      ),
      await post('/v1/identify', '{"userId":"p2","traits":{"__proto__":"x","constructor":"y","toString":"z"}}'),
    ];
    expect(sent.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    await runtime().drain();

    const admin = adminClient(runtime());
    const p1 = await admin.get('/v1/profiles?userId=p1');
    expect(p1.status).toBe(200);
    expect(Object.entries(p1.body.events)).toEqual([
      ['__proto__', { web: 1 }],
      ['constructor', { store: 1 }],
    ]);
    expect(Object.entries(p1.body.traits)).toEqual([]);

    const p2 = await admin.get('/v1/profiles?userId=p2');
    expect(Object.entries(p2.body.traits)).toEqual([
      ['__proto__', 'x'],
      ['constructor', 'y'],
      ['toString', 'z'],
    ]);
    expect(p2.body.channels).toEqual({ web: 2 }); // `__proto__` is no channel: the local source's default
    expect(Object.entries(p2.body.identifiers)).toEqual(
      expect.arrayContaining([
        ['__proto__', ['a']],
        ['constructor', ['b']],
      ]),
    );
    // Looked up by those identifier types too.
    for (const query of ['__proto__=a', 'constructor=b'])
      expect((await admin.get(`/v1/profiles?${query}`)).body.profileId).toBe(p2.body.profileId);
    const exported = await admin.get(`/v1/profiles/${p2.body.profileId}/export`);
    expect(Object.keys(exported.body.categories)).toEqual(['__proto__']);

    // Segments read only what was sent: p1 has no `toString` trait, even though every object lends one.
    const preview = async (condition: unknown) => (await admin.post('/v1/segments/preview', { condition })).body.size;
    expect(await preview({ type: 'trait', trait: 'toString', operator: 'exists' })).toBe(1);
    expect(await preview({ type: 'event', event: '__proto__', count: { operator: 'gte', value: 1 } })).toBe(1);

    expect(runtime().queues.deadLetter.stats().messages).toBe(0);
    expect((await fetch(`${runtime().url}/health`)).status).toBe(200);
    expect([({} as Record<string, unknown>).web, ({} as Record<string, unknown>).polluted]).toEqual([undefined, undefined]);
  });
});
