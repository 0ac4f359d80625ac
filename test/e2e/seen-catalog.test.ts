/**
 * `GET /v1/catalog/events` and `/v1/catalog/traits`: what a real client sent, as the console's
 * autocomplete reads it, through the processor and the admin API.
 */
import { Analytics } from '@segment/analytics-node';
import { describe, expect, it } from 'vitest';
import { adminClient, useTestRuntime } from '../helpers/local';

const local = useTestRuntime();

describe('the seen catalog', () => {
  it('lists the event names, property keys and traits a client sent, with a few values that name nobody', async () => {
    const runtime = local();
    const analytics = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 20, flushInterval: 20 });
    analytics.identify({ userId: 'ada', traits: { email: 'ada@example.com', tier: 'VIP', firstName: 'Ada' } });
    for (const [revenue, category] of [
      [120, 'shoes'],
      [80, 'bags'],
    ] as const)
      analytics.track({ userId: 'ada', event: 'Order Completed', properties: { revenue, category, email: 'ada@example.com' } });
    analytics.track({ userId: 'ada', event: '__proto__', properties: { constructor: 'x' } });
    analytics.page({ userId: 'ada', name: 'Home', properties: { path: '/' } });
    await analytics.closeAndFlush();
    await runtime.drain();

    const admin = adminClient(runtime);
    const { events } = (await admin.get('/v1/catalog/events')).body as {
      events: Array<{ name: string; count: number; lastSeen: string; properties: Array<{ key: string; samples: string[] }> }>;
    };
    expect(events.map((e) => [e.name, e.count])).toEqual([
      ['Order Completed', 2],
      ['Page Viewed', 1],
      ['__proto__', 1],
    ]);
    expect(events[0]!.properties).toEqual([
      { key: 'category', samples: ['shoes', 'bags'] },
      { key: 'email', samples: [] },
      { key: 'revenue', samples: ['120', '80'] },
    ]);
    expect(events[2]!.properties).toEqual([{ key: 'constructor', samples: ['x'] }]);
    expect(Date.parse(events[0]!.lastSeen)).toBeGreaterThan(Date.now() - 60_000);

    const { traits } = (await admin.get('/v1/catalog/traits')).body as { traits: Array<{ name: string; samples: string[] }> };
    expect(traits.map((t) => [t.name, t.samples])).toEqual([
      ['firstName', []],
      ['tier', ['VIP']],
    ]);
    const refused = await admin.get('/v1/catalog/events?limit=0');
    expect(refused).toMatchObject({ status: 400, body: { error: { code: 'validation_failed', details: [{ path: 'limit' }] } } });
  });
});
