/**
 * The customer-base models proved on a paper's data, end to end: the CDNOW sample's 39-week calibration
 * period (../shared/data/cdnow/) posted through the public ingest by the official Node library, as
 * `Order Completed` events with their revenue and their 1997 timestamps; the freeze run as of the end
 * of calibration fits BG/NBD and Gamma-Gamma within 2 % of the published estimates; each customer's
 * frozen values are what the fitted models say of their history; and a segment on a new indicator
 * holds exactly the customers it should.
 */
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALIBRATION_END, calibrationAndHoldout, cdnowPurchases, transactionsByCustomer } from '#bench/cdnow-data';
import type { LocalRuntime } from '#local/runtime';
import { probabilityAlive } from '#shared/domain/bgnbd';
import { expectedOrders, predictedValue } from '#shared/domain/customer-value';
import { adminClient, eventually, startTestRuntime } from '../helpers/local';

let runtime: LocalRuntime;
let admin: ReturnType<typeof adminClient>;
const purchases = cdnowPurchases().filter((p) => p.day <= CALIBRATION_END);
/** The end of the calibration period's last day (30 September 1997), when the freeze runs. */
const AS_OF = new Date(CALIBRATION_END + 23 * 3_600_000).toISOString();
const round = (value: number) => Math.round(value * 100) / 100;

beforeAll(async () => {
  runtime = await startTestRuntime();
  admin = adminClient(runtime);
  // A segment on a new indicator, saved before any customer exists: the freeze fills it.
  expect(
    (
      await admin.put('/v1/segments/likely-to-buy', {
        name: 'Expected to order in the next 90 days',
        condition: { type: 'indicator', indicator: 'expected_orders_90d', operator: 'gte', value: 1 },
      })
    ).status,
  ).toBe(201);
  const analytics = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 100, flushInterval: 50 });
  for (const { customer, day, dollars } of purchases)
    analytics.track({
      userId: `cdnow-${customer}`,
      event: 'Order Completed',
      properties: { revenue: dollars },
      context: { channel: 'web' },
      // Noon: the order's day whatever the clock skew correction does to the instant.
      timestamp: new Date(day + 12 * 3_600_000),
    });
  await analytics.closeAndFlush();
  await runtime.drain(240_000);
}, 300_000);

afterAll(async () => {
  await runtime?.stop();
});

describe('the customer-base models on the CDNOW sample, through the public API', () => {
  it('fits the published estimates as of the end of calibration, and scores every customer with them', async () => {
    // Never as of the future, nor of something that is not an instant: the field is named.
    for (const asOf of [new Date(Date.now() + 86_400_000).toISOString(), '30/09/1997']) {
      const refused = await admin.post('/v1/jobs/freeze', { asOf });
      expect(refused.status).toBe(400);
      expect(refused.body.error.details).toEqual([expect.objectContaining({ path: 'asOf' })]);
    }
    const requested = await admin.post('/v1/jobs/freeze', { asOf: AS_OF });
    expect(requested.status).toBe(202);
    const run = await eventually(
      async () => (await admin.get(`/v1/jobs/freeze/runs/${requested.body.runId}`)).body,
      (r) => r.status === 'succeeded' || r.status === 'failed',
      240_000,
    );
    expect(run).toMatchObject({ status: 'succeeded', progress: { asOf: AS_OF, measured: 2357, profiles: 2357 } });

    const models = (await admin.get('/v1/indicators/models')).body;
    expect(models).toMatchObject({ runId: requested.body.runId, asOf: AS_OF, timeUnit: 'weeks', customers: 2357, repeatCustomers: 946 });
    const published = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, p: 6.25, q: 3.74, v: 15.45 };
    const fitted = { ...models.bgnbd, ...models.spend };
    for (const [name, value] of Object.entries(published))
      expect(Math.abs(fitted[name] / value - 1), `${name} = ${fitted[name]}`).toBeLessThan(0.02);

    // Each customer's values are what the fitted models say of their calibration history, from the file.
    const histories = calibrationAndHoldout(purchases);
    const customers = transactionsByCustomer(purchases);
    const ids = [...new Set(purchases.map((p) => p.customer))];
    const valuesOf = (i: number) => {
      const { x, tx, T } = histories[i]!;
      const repeat = customers[i]!.slice(1);
      const history = { x, tx, T, ...(x > 0 && { averageValue: repeat.reduce((sum, t) => sum + t.dollars, 0) / x }) };
      const pAlive = round(probabilityAlive(models.bgnbd, x, tx, T));
      const expected = expectedOrders(models.bgnbd, history);
      return {
        p_alive: pAlive,
        churn_risk: round(1 - pAlive),
        expected_orders_30d: round(expected.in30Days),
        expected_orders_90d: round(expected.in90Days),
        predicted_clv_12m: round(predictedValue({ bgnbd: models.bgnbd, spend: models.spend }, history)),
      };
    };
    // transactionsByCustomer keeps the file's order of customers, as ids does.
    for (const i of [0, 1, 7, 100, 1515, 2356]) {
      const profile = (await admin.get(`/v1/profiles?userId=cdnow-${ids[i]}`)).body;
      expect(profile.indicators, `customer ${ids[i]}`).toMatchObject(valuesOf(i));
    }

    // The segment on a new indicator holds exactly the customers the models expect an order from.
    const expected = ids.filter((_, i) => valuesOf(i).expected_orders_90d >= 1).length;
    expect(expected).toBeGreaterThan(50);
    const segments = (await admin.get('/v1/segments')).body.segments;
    expect(segments.find((s: { id: string }) => s.id === 'likely-to-buy').size).toBe(expected);
  }, 300_000);
});
