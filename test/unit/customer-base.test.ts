/**
 * The customer-base models as the freeze fits them: CDNOW's purchases tallied per customer, added up
 * by several workers, serialised as run parts, merged and fitted give the published estimates; a large
 * base stays within its bound of rows and still fits what the exact rows fit.
 */
import { describe, expect, it } from 'vitest';
import { CALIBRATION_END, cdnowPurchases } from '#bench/cdnow-data';
import { fitBgNbd } from '#shared/domain/bgnbd';
import {
  CustomerBaseMeasure,
  type CustomerBaseModel,
  fitCustomerBase,
  MAX_PURCHASE_ROWS,
  MAX_SPEND_ROWS,
} from '#shared/domain/customer-base';
import { seededRandom } from '#shared/domain/frozen';
import { historyOf, noteOrder, type OrderTally } from '#shared/domain/order-tally';
import { DAY_MS } from '#shared/domain/time';

const THRESHOLDS = { minCustomers: 100, minRepeatCustomers: 20 };
const within = (value: number, published: number, share: number) => expect(Math.abs(value / published - 1)).toBeLessThan(share);

/** Merged as the freeze merges: each worker's measure through its JSON run part. */
function measuredByWorkers(histories: ReturnType<typeof historyOf>[], workers: number): CustomerBaseMeasure {
  const parts = Array.from({ length: workers }, () => new CustomerBaseMeasure());
  for (const [i, history] of histories.entries()) if (history) parts[i % workers]!.add(history);
  return parts
    .map((part) => CustomerBaseMeasure.fromJSON(JSON.parse(JSON.stringify(part.toJSON()))))
    .reduce((into, part) => {
      into.merge(part);
      return into;
    });
}

describe('the customer-base models on the CDNOW sample, tallied as profiles tally orders', () => {
  const tallies = new Map<string, OrderTally>();
  for (const purchase of cdnowPurchases().filter((p) => p.day <= CALIBRATION_END))
    tallies.set(purchase.customer, noteOrder(tallies.get(purchase.customer), purchase.day / DAY_MS, purchase.dollars));
  const today = CALIBRATION_END / DAY_MS;
  const measure = measuredByWorkers(
    [...tallies.values()].map((tally) => historyOf(tally, today)),
    4,
  );

  it('fits BG/NBD and Gamma-Gamma within 2 % of the published estimates', () => {
    const model = fitCustomerBase(measure, THRESHOLDS) as CustomerBaseModel;
    expect(model).toMatchObject({
      customers: 2357,
      repeatCustomers: 946,
      precision: { timeWidth: 0, valueWidth: 0, purchaseCountDigits: 0, spendCountDigits: 0 },
    });
    for (const [name, published] of [
      ['r', 0.243],
      ['alpha', 4.414],
      ['a', 0.793],
      ['b', 2.426],
    ] as const)
      within(model.bgnbd[name], published, 0.02);
    within(model.spend!.p, 6.25, 0.02);
    within(model.spend!.q, 3.74, 0.02);
    within(model.spend!.v, 15.45, 0.02);
  });

  it('fits nothing below the thresholds', () => {
    expect(fitCustomerBase(measure, { minCustomers: 3000, minRepeatCustomers: 20 })).toEqual({
      unfitted: "2357 customers, under customer_value's minCustomers of 3000",
    });
    expect(fitCustomerBase(measure, { minCustomers: 100, minRepeatCustomers: 1000 })).toEqual({
      unfitted: "946 repeat customers, under customer_value's minRepeatCustomers of 1000",
    });
  });
});

describe('a large customer base', () => {
  it('stays within its bound of rows, on a coarser grid, and fits within 3 % of the exact rows', () => {
    // 60,000 customers from a BG/NBD world over three years: far more distinct (x, tx, T) than the bound.
    const random = seededRandom('large-base');
    const gamma = (shape: number, scale: number) => {
      // Marsaglia-Tsang, boosted for shapes under 1.
      const boost = shape < 1 ? random() ** (1 / shape) : 1;
      const d = (shape < 1 ? shape + 1 : shape) - 1 / 3;
      for (;;) {
        const u1 = random();
        const u2 = random();
        const z = Math.sqrt(-2 * Math.log(u1 || 1e-12)) * Math.cos(2 * Math.PI * u2);
        const v = (1 + z / Math.sqrt(9 * d)) ** 3;
        if (v > 0 && Math.log(random() || 1e-12) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v * scale * boost;
      }
    };
    const histories = Array.from({ length: 60_000 }, () => {
      const rate = gamma(0.5, 1 / 20); // purchases a day
      const g = gamma(0.8, 1);
      const dropout = g / (g + gamma(3, 1));
      const age = 1 + Math.floor(random() * 1100);
      let day = 0;
      let x = 0;
      let last = 0;
      for (;;) {
        day += -Math.log(random() || 1e-12) / rate;
        if (day > age) break;
        x++;
        last = Math.floor(day);
        if (random() < dropout) break;
      }
      const value = 20 + 80 * random();
      return { x, txDays: last, TDays: age, ...(x > 0 && { averageValue: value }) };
    });
    const bounded = measuredByWorkers(histories, 8);
    const rows = bounded.purchaseRows();
    expect(rows.length).toBeLessThanOrEqual(MAX_PURCHASE_ROWS);
    expect(bounded.spendRows().length).toBeLessThanOrEqual(MAX_SPEND_ROWS);
    expect(bounded.precision.timeWidth).toBeGreaterThan(0);
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(60_000);

    const exact = fitBgNbd(histories.map(({ x, txDays, TDays }) => ({ x, tx: txDays / 7, T: TDays / 7, count: 1 })));
    const model = fitCustomerBase(bounded, THRESHOLDS) as CustomerBaseModel;
    for (const name of ['r', 'alpha', 'a', 'b'] as const) within(model.bgnbd[name], exact[name], 0.03);
  }, 60_000);
});
