/**
 * Every example of PRODUCT.md ("Examples Prisme must express and keep right"), written in the
 * segment language, created through the admin API, fed by the real Segment client, and checked
 * through the public API and the event bus: who is in, who is not.
 */
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '#local/runtime';
import { membershipChanges } from '../helpers/events';
import { adminClient, eventually, startTestRuntime } from '../helpers/local';

let runtime: LocalRuntime;
let admin: ReturnType<typeof adminClient>;
const ago = (days: number, hours = 0) => new Date(Date.now() - days * 86_400_000 - hours * 3_600_000);

const examples: Record<string, { name: string; condition: unknown }> = {
  'vip-store-twice': {
    name: 'VIP customers who bought at least twice in store in the last 6 months',
    condition: {
      type: 'and',
      conditions: [
        { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' },
        { type: 'event', event: 'Order Completed', channel: 'store', count: { operator: 'gte', value: 2 }, within: { days: 183 } },
      ],
    },
  },
  'cart-abandoners': {
    name: 'Viewed product pages in 7 days, abandoned the cart, average order above 50 €',
    condition: {
      type: 'and',
      conditions: [
        { type: 'event', event: 'Page Viewed', where: [{ property: 'category', operator: 'eq', value: 'product' }], within: { days: 7 } },
        { type: 'event', event: 'Product Added', within: { days: 7 } },
        { type: 'event', event: 'Order Completed', count: { operator: 'lt', value: 1 }, within: { days: 7 } },
        { type: 'event', event: 'Order Completed', aggregate: { fn: 'avg', property: 'revenue', operator: 'gt', value: 50 } },
      ],
    },
  },
  'web-store-vip': {
    name: 'Visited the site in 3 days AND bought in store in 6 months AND VIP',
    condition: {
      type: 'and',
      conditions: [
        { type: 'event', event: 'Page Viewed', channel: 'web', within: { days: 3 } },
        { type: 'event', event: 'Order Completed', channel: 'store', within: { days: 183 } },
        { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' },
      ],
    },
  },
  'webinar-then-pricing': {
    name: 'Webinar attendees of 15 March who visited the pricing page within 24 h',
    condition: {
      type: 'sequence',
      steps: [
        { event: 'Webinar Attended', where: [{ property: 'webinar', operator: 'eq', value: '2026-03-15 product launch' }] },
        { event: 'Page Viewed', channel: 'web', where: [{ property: 'name', operator: 'eq', value: 'Pricing' }] },
      ],
      within: { hours: 24 },
    },
  },
  'nice-showroom-premium': {
    name: 'Showroom visitors in Nice who configured a premium product online this week',
    condition: {
      type: 'and',
      conditions: [
        {
          type: 'event',
          event: 'Showroom Visited',
          channel: 'store',
          where: [{ property: 'city', operator: 'eq', value: 'Nice' }],
          within: { days: 7 },
        },
        {
          type: 'event',
          event: 'Product Configured',
          channel: 'web',
          where: [{ property: 'range', operator: 'eq', value: 'premium' }],
          within: { days: 7 },
        },
      ],
    },
  },
  active: {
    name: 'Active customer: ordered in the last 90 days',
    condition: { type: 'event', event: 'Order Completed', within: { days: 90 } },
  },
  inactive: {
    name: 'Inactive customer: a customer with no order in 90 days',
    condition: {
      type: 'and',
      conditions: [
        { type: 'event', event: 'Order Completed' },
        { type: 'event', event: 'Order Completed', count: { operator: 'lt', value: 1 }, within: { days: 90 } },
      ],
    },
  },
  'churn-risk': {
    name: 'At risk of churn: ordered in the last year, not in the last 60 days',
    condition: { type: 'stopped', event: 'Order Completed', recent: { days: 60 }, before: { days: 365 } },
  },
  'appetite-shoes': {
    name: 'Appetite for shoes: three shoe product views or orders in 90 days',
    condition: {
      type: 'or',
      conditions: [
        {
          type: 'event',
          event: 'Product Viewed',
          where: [{ property: 'category', operator: 'eq', value: 'shoes' }],
          count: { operator: 'gte', value: 3 },
          within: { days: 90 },
        },
        {
          type: 'event',
          event: 'Order Completed',
          where: [{ property: 'category', operator: 'eq', value: 'shoes' }],
          within: { days: 90 },
        },
      ],
    },
  },
  'high-intent': {
    name: 'High immediate intent: pricing page, brochure at a trade show, reviews read',
    condition: {
      type: 'and',
      conditions: [
        {
          type: 'event',
          event: 'Page Viewed',
          channel: 'web',
          where: [{ property: 'name', operator: 'eq', value: 'Pricing' }],
          within: { days: 14 },
        },
        { type: 'event', event: 'Brochure Requested', channel: 'event', within: { days: 14 } },
        { type: 'event', event: 'Reviews Read', within: { days: 14 } },
      ],
    },
  },
  'warm-prospect': {
    name: 'Warm prospect: several positive interactions in 30 days, no order yet',
    condition: {
      type: 'and',
      conditions: [
        { type: 'event', event: 'Order Completed', count: { operator: 'lt', value: 1 } },
        {
          type: 'or',
          conditions: [
            { type: 'event', event: 'Email Opened', count: { operator: 'gte', value: 3 }, within: { days: 30 } },
            { type: 'event', event: 'Email Link Clicked', count: { operator: 'gte', value: 2 }, within: { days: 30 } },
          ],
        },
      ],
    },
  },
};

/** Who should be in each example, among the people of the stream below. */
const expected: Record<string, string[]> = {
  'vip-store-twice': ['ada'],
  'cart-abandoners': ['bruno'],
  'web-store-vip': ['ada'],
  'webinar-then-pricing': ['chloe'],
  'nice-showroom-premium': ['denis'],
  active: ['ada', 'bruno'],
  inactive: ['emma', 'farid'],
  'churn-risk': ['emma'],
  'appetite-shoes': ['bruno', 'emma'],
  'high-intent': ['chloe'],
  'warm-prospect': ['gaspard'],
};

function sendStream(analytics: Analytics): void {
  const track = (userId: string, event: string, days: number, properties: Record<string, unknown> = {}, channel = 'web', hours = 0) =>
    analytics.track({ userId, event, properties, context: { channel }, timestamp: ago(days, hours) });
  const page = (userId: string, name: string, days: number, properties: Record<string, unknown> = {}, hours = 0) =>
    analytics.page({ userId, name, properties, context: { channel: 'web' }, timestamp: ago(days, hours) });
  const identify = (userId: string, traits: Record<string, unknown>) => analytics.identify({ userId, traits, timestamp: ago(400) });

  // Ada: VIP, two store orders in 6 months, on the site yesterday.
  identify('ada', { tier: 'VIP', email: 'ada@example.com' });
  track('ada', 'Order Completed', 20, { revenue: 120, category: 'bags' }, 'store');
  track('ada', 'Order Completed', 100, { revenue: 80, category: 'coats' }, 'store');
  page('ada', 'Home', 1);

  // Bruno: big baskets before, browsed shoes this week, added to cart, no order since.
  identify('bruno', { tier: 'standard' });
  track('bruno', 'Order Completed', 40, { revenue: 95, category: 'shoes' });
  track('bruno', 'Order Completed', 70, { revenue: 60, category: 'coats' });
  page('bruno', 'Trail runner', 2, { category: 'product' });
  for (const days of [2, 3, 5]) track('bruno', 'Product Viewed', days, { category: 'shoes' });
  track('bruno', 'Product Added', 1, { category: 'shoes' });

  // Chloe: the 15 March launch webinar, then pricing 3 hours later; a brochure at a trade show; reviews.
  track('chloe', 'Webinar Attended', 4, { webinar: '2026-03-15 product launch' }, 'event', 3);
  page('chloe', 'Pricing', 4, {}, 0);
  track('chloe', 'Brochure Requested', 6, {}, 'event');
  track('chloe', 'Reviews Read', 2);

  // Denis: the Nice showroom, then a premium configuration online.
  track('denis', 'Showroom Visited', 3, { city: 'Nice' }, 'store');
  track('denis', 'Product Configured', 2, { range: 'premium' });
  // Not Denis's twin in Lyon, nor a standard configuration.
  track('lea', 'Showroom Visited', 3, { city: 'Lyon' }, 'store');
  track('lea', 'Product Configured', 2, { range: 'premium' });

  // Emma: a regular until four months ago, still looking at shoes.
  for (const days of [120, 200, 300]) track('emma', 'Order Completed', days, { revenue: 40, category: 'shoes' });
  for (const days of [10, 20, 30]) track('emma', 'Product Viewed', days, { category: 'shoes' });

  // Farid: one order, long ago (before the year that churn risk looks at).
  track('farid', 'Order Completed', 380, { revenue: 30, category: 'hats' });

  // Gaspard: a prospect opening emails, no order.
  for (const days of [2, 9, 15]) track('gaspard', 'Email Opened', days, {}, 'email');
}

beforeAll(async () => {
  runtime = await startTestRuntime();
  admin = adminClient(runtime);
});
afterAll(async () => {
  await runtime?.stop();
});

describe('the examples of PRODUCT.md', () => {
  it('each, created before the events, holds exactly the people it should', async () => {
    for (const [id, definition] of Object.entries(examples)) {
      const response = await admin.put(`/v1/segments/${id}`, definition);
      expect(response.status, `${id}: ${JSON.stringify(response.body)}`).toBe(201);
    }
    const analytics = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 50 });
    sendStream(analytics);
    await analytics.closeAndFlush();
    await runtime.drain();
    await eventually(
      async () => (await admin.get('/v1/segments')).body.segments as Array<{ status: string }>,
      (list) => list.every((s) => s.status === 'ready'),
    );

    const userOf = new Map<string, string>();
    for (const user of ['ada', 'bruno', 'chloe', 'denis', 'lea', 'emma', 'farid', 'gaspard']) {
      userOf.set((await admin.get(`/v1/profiles?userId=${user}`)).body.profileId, user);
    }
    const actual: Record<string, string[]> = {};
    for (const id of Object.keys(examples)) {
      const members = (await admin.get(`/v1/segments/${id}/members?limit=1000`)).body.members as Array<{ profileId: string }>;
      actual[id] = members.map((m) => userOf.get(m.profileId)!).sort();
    }
    expect(actual).toEqual(expected);

    // The stage indicators Prisme keeps reach the same people as the hand-written intent and churn examples.
    const stage = async (id: string) =>
      ((await admin.get(`/v1/segments/${id}/members?limit=1000`)).body.members as Array<{ profileId: string }>)
        .map((m) => userOf.get(m.profileId)!)
        .sort();
    expect(await stage('intent-high')).toEqual(['chloe']);
    expect(await stage('lifecycle-at-risk')).toEqual(['emma', 'farid']);
    // And the appetite for shoes shows as each person's top category.
    const topCategories = await Promise.all(
      ['ada', 'bruno', 'emma'].map(async (user) => (await admin.get(`/v1/profiles?userId=${user}`)).body.indicators.top_category),
    );
    expect(topCategories).toEqual(['bags', 'shoes', 'shoes']); // Ada's bags are more recent than her coat
  });

  it('publishes the entry of a prospect who warms up (cold -> warm triggers an event)', async () => {
    const warmed = membershipChanges(runtime.bus.published).filter((t) => t.segmentId === 'warm-prospect');
    const gaspard = (await admin.get('/v1/profiles?userId=gaspard')).body.profileId;
    expect(warmed.map((t) => [t.profileId, t.change])).toEqual([[gaspard, 'entered']]);
  });

  it('counts the migration of a prospect from cold to warm, over a period', async () => {
    const cold = await admin.put('/v1/segments/cold-prospect', {
      name: 'Cold prospect: no order, engaged a little',
      condition: {
        type: 'and',
        conditions: [
          { type: 'event', event: 'Order Completed', count: { operator: 'lt', value: 1 } },
          { type: 'event', event: 'Email Opened', within: { days: 30 } },
          { type: 'not', condition: { type: 'segment', segment: 'warm-prospect' } },
        ],
      },
    });
    expect(cold.status).toBe(201);
    const send = async (days: number[]) => {
      const analytics = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 10 });
      for (const d of days) analytics.track({ userId: 'hugo', event: 'Email Opened', context: { channel: 'email' }, timestamp: ago(d) });
      await analytics.closeAndFlush();
      await runtime.drain();
    };
    await send([5, 4]);
    const hugo = (await admin.get('/v1/profiles?userId=hugo')).body;
    expect(hugo.segments.map((s: { id: string }) => s.id)).toEqual(['cold-prospect']);
    await send([1]);
    expect((await admin.get(`/v1/profiles/${hugo.profileId}`)).body.segments.map((s: { id: string }) => s.id)).toEqual(['warm-prospect']);

    // The move is one event: a rule on {"detail": {"exited": ["cold-prospect"], "entered": ["warm-prospect"]}} sees it whole.
    const moves = runtime.bus.published.filter(
      (e) =>
        e['detail-type'] === 'Segment Membership Changed' &&
        e.detail.profileId === hugo.profileId &&
        (e.detail.entered as string[]).includes('warm-prospect'),
    );
    expect(moves).toHaveLength(1);
    expect(moves[0]!.detail).toMatchObject({ exited: ['cold-prospect'], reason: 'events' });
    const today = String(moves[0]!.detail.at).slice(0, 10);
    const matrix = (await admin.get(`/v1/migrations?from=${today}&to=${today}`)).body;
    expect(matrix).toEqual({ from: today, to: today, migrations: [{ from: 'cold-prospect', to: 'warm-prospect', profiles: 1 }] });
    expect((await admin.get('/v1/migrations?from=2026-13-01')).status).toBe(400);
  });
});
