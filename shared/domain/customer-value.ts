/**
 * What the fitted customer-base models say of one person: the chance they are still a customer, the
 * orders to expect from them in the next 30 and 90 days, and their value over the next 12 months,
 * discounted week by week at an annual rate (10 % by default, a usual cost of capital). Purchases are
 * counted as the models count them: repeat purchases after the first, times in weeks. Pure.
 */
import { type BgNbdParams, conditionalExpectedPurchases, probabilityAlive } from './bgnbd';
import { expectedSpend, type GammaGammaParams } from './gamma-gamma';

export interface CustomerModels {
  bgnbd: BgNbdParams;
  spend: GammaGammaParams;
}

export interface PurchaseHistory {
  /** Repeat purchases (distinct days after the first). */
  x: number;
  /** Weeks from the first purchase to the last. */
  tx: number;
  /** Weeks from the first purchase to now. */
  T: number;
  /** Average value of the repeat purchases, when there are some. */
  averageValue?: number;
}

export interface CustomerValue {
  pAlive: number;
  churnRisk: number;
  expectedOrders30d: number;
  expectedOrders90d: number;
  predictedClv12m: number;
}

export const DEFAULT_ANNUAL_DISCOUNT = 0.1;
const WEEKS_A_YEAR = 52;

export function customerValue(models: CustomerModels, history: PurchaseHistory, annualDiscount = DEFAULT_ANNUAL_DISCOUNT): CustomerValue {
  const { x, tx, T, averageValue } = history;
  const expected = (weeks: number) => conditionalExpectedPurchases(models.bgnbd, weeks, x, tx, T);
  const { p, q, v } = models.spend;
  const spend = x > 0 && averageValue !== undefined && averageValue > 0 ? expectedSpend(models.spend, x, averageValue) : (p * v) / (q - 1);
  let clv = 0;
  let before = 0;
  for (let week = 1; week <= WEEKS_A_YEAR; week++) {
    const by = expected(week);
    clv += ((by - before) * spend) / (1 + annualDiscount) ** (week / WEEKS_A_YEAR);
    before = by;
  }
  const pAlive = probabilityAlive(models.bgnbd, x, tx, T);
  return {
    pAlive,
    churnRisk: 1 - pAlive,
    expectedOrders30d: expected(30 / 7),
    expectedOrders90d: expected(90 / 7),
    predictedClv12m: clv,
  };
}
