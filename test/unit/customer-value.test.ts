/** One person's value under the fitted CDNOW models: consistent with the models, discounted, ordered as it should be. */
import { describe, expect, it } from 'vitest';
import { conditionalExpectedPurchases } from '#shared/domain/bgnbd';
import { customerValue } from '#shared/domain/customer-value';
import { expectedSpend } from '#shared/domain/gamma-gamma';

const models = { bgnbd: { r: 0.2426, alpha: 4.4136, a: 0.7929, b: 2.4259 }, spend: { p: 6.2496, q: 3.7442, v: 15.4436 } };

describe('customerValue', () => {
  it('undiscounted, is the expected purchases of a year times the expected spend', () => {
    const history = { x: 2, tx: 30.43, T: 38.86, averageValue: 40 };
    const value = customerValue(models, history, 0);
    expect(value.predictedClv12m).toBeCloseTo(
      conditionalExpectedPurchases(models.bgnbd, 52, 2, 30.43, 38.86) * expectedSpend(models.spend, 2, 40),
      8,
    );
    expect(customerValue(models, history).predictedClv12m).toBeLessThan(value.predictedClv12m!);
    expect(customerValue(models, history).predictedClv12m).toBeGreaterThan(value.predictedClv12m! / 1.1);
    expect(value.expectedOrders90d).toBeGreaterThan(value.expectedOrders30d);
    expect(value.pAlive + value.churnRisk).toBeCloseTo(1, 12);
  });

  it('values a recent, frequent, big spender above a lapsed one, and a first-time buyer at the average spend', () => {
    const recent = customerValue(models, { x: 6, tx: 38, T: 39, averageValue: 60 });
    const lapsed = customerValue(models, { x: 6, tx: 5, T: 39, averageValue: 60 });
    expect(recent.pAlive).toBeGreaterThan(lapsed.pAlive);
    expect(recent.predictedClv12m).toBeGreaterThan(lapsed.predictedClv12m!);
    expect(lapsed.churnRisk).toBeGreaterThan(0.5);
    const once = customerValue(models, { x: 0, tx: 0, T: 20 }, 0);
    expect(once.pAlive).toBe(1);
    const populationSpend = (models.spend.p * models.spend.v) / (models.spend.q - 1);
    expect(once.predictedClv12m).toBeCloseTo(conditionalExpectedPurchases(models.bgnbd, 52, 0, 0, 20) * populationSpend, 8);
  });
});
