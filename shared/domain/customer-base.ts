/**
 * The customer-base models as the freeze fits them: each worker adds its customers' histories up into
 * weighted rows, (x, tx, T) for BG/NBD and (x, average value) for Gamma-Gamma, the rows of all workers
 * are merged and the models fitted once, on everyone. Rows are bounded: past MAX_PURCHASE_ROWS distinct
 * ones, tx and T (beyond two weeks) are rounded to a coarser and coarser logarithmic grid, past
 * MAX_SPEND_ROWS average values too, and at the coarsest levels repeat counts over 10 keep two
 * significant digits, then one. A logarithmic grid because the likelihood reads times through
 * ln(α + t): on 60,000 customers of a simulated BG/NBD world, measured by 8 workers and merged (the
 * rows end on a 7 % grid), the estimates move by under 3 %, where rounding to whole weeks moved them
 * by 18 %. Times are in weeks, as in the papers. Pure.
 */
import { type BgNbdParams, type CustomerRow, fitBgNbd } from './bgnbd';
import { fitGammaGamma, type GammaGammaParams, type SpendRow } from './gamma-gamma';
import type { CustomerHistory } from './order-tally';

/** About 3.5 bytes a number in DynamoDB: the rows (their own run part) stay under 300 KB of the item's 400 KB. */
export const MAX_PURCHASE_ROWS = 16_000;
export const MAX_SPEND_ROWS = 4000;
/**
 * Coarser and coarser: the relative width of the grid of times (0: whole days), of average values
 * (0: six significant digits), and the significant digits kept of repeat counts over 10 (0: all). The
 * last levels bound the rows whatever the base: about 20 times by 20 times by 25 counts.
 */
const PURCHASE_LEVELS = [0, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5].map((width, i) => ({
  width,
  xDigits: i < 9 ? 0 : i < 10 ? 2 : 1,
}));
const SPEND_LEVELS = [0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.2].map((width, i) => ({ width, xDigits: i < 7 ? 0 : i < 8 ? 2 : 1 }));
/** Times up to two weeks stay exact: a short history is where a day matters most. */
const EXACT_DAYS = 14;

/** Repeat counts up to 10 stay exact; above, `digits` significant digits (0: exact). */
const roundCount = (x: number, digits: number) => (digits === 0 || x <= 10 ? x : Number(x.toPrecision(digits)));
const roundDays = (days: number, width: number) =>
  width === 0 || days <= EXACT_DAYS ? days : Math.round(EXACT_DAYS * Math.exp(Math.round(Math.log(days / EXACT_DAYS) / width) * width));
const roundValue = (m: number, width: number) =>
  width === 0 ? Number(m.toPrecision(6)) : Number(Math.exp(Math.round(Math.log(m) / width) * width).toPrecision(6));

export interface Precision {
  timeWidth: number;
  valueWidth: number;
  purchaseCountDigits: number;
  spendCountDigits: number;
}

type PurchaseRow = [x: number, txDays: number, TDays: number, count: number];
type ValueRow = [x: number, averageValue: number, count: number];

export interface SerialisedCustomerBase {
  customers: number;
  grid: number;
  digits: number;
  /** Flat [x, tx, T, count, ...] and [x, averageValue, count, ...]. */
  purchases: number[];
  spend: number[];
}

export class CustomerBaseMeasure {
  customers = 0;
  /** Indexes into PURCHASE_LEVELS and SPEND_LEVELS: how coarse the rows are. */
  private grid = 0;
  private digits = 0;
  private purchases = new Map<string, PurchaseRow>();
  private spend = new Map<string, ValueRow>();

  add(history: CustomerHistory): void {
    this.customers++;
    this.addPurchases(history.x, history.txDays, history.TDays, 1);
    if (history.x > 0 && history.averageValue !== undefined && history.averageValue > 0) this.addSpend(history.x, history.averageValue, 1);
    this.bound();
  }

  merge(other: CustomerBaseMeasure): void {
    this.customers += other.customers;
    this.grid = Math.max(this.grid, other.grid);
    this.digits = Math.max(this.digits, other.digits);
    this.regrid();
    for (const [x, tx, T, count] of other.purchases.values()) this.addPurchases(x, tx, T, count);
    for (const [x, m, count] of other.spend.values()) this.addSpend(x, m, count);
    this.bound();
  }

  /** The BG/NBD rows, in weeks. */
  purchaseRows(): CustomerRow[] {
    return [...this.purchases.values()].map(([x, tx, T, count]) => ({ x, tx: tx / 7, T: T / 7, count }));
  }

  spendRows(): SpendRow[] {
    return [...this.spend.values()].map(([x, m, count]) => ({ x, m, count }));
  }

  /** How coarse the rows are: relative width of the time grid (beyond two weeks), relative width of the value grid, digits kept of repeat counts over 10. */
  get precision(): Precision {
    const purchases = PURCHASE_LEVELS[this.grid]!;
    const spend = SPEND_LEVELS[this.digits]!;
    return { timeWidth: purchases.width, valueWidth: spend.width, purchaseCountDigits: purchases.xDigits, spendCountDigits: spend.xDigits };
  }

  toJSON(): SerialisedCustomerBase {
    return {
      customers: this.customers,
      grid: this.grid,
      digits: this.digits,
      purchases: [...this.purchases.values()].flat(),
      spend: [...this.spend.values()].flat(),
    };
  }

  static fromJSON(json: SerialisedCustomerBase): CustomerBaseMeasure {
    const measure = new CustomerBaseMeasure();
    measure.customers = json.customers;
    measure.grid = json.grid;
    measure.digits = json.digits;
    for (let i = 0; i + 3 < json.purchases.length; i += 4) {
      const [x, tx, T, count] = json.purchases.slice(i, i + 4) as PurchaseRow;
      measure.addPurchases(x, tx, T, count);
    }
    for (let i = 0; i + 2 < json.spend.length; i += 3) {
      const [x, m, count] = json.spend.slice(i, i + 3) as ValueRow;
      measure.addSpend(x, m, count);
    }
    return measure;
  }

  private addPurchases(x: number, txDays: number, TDays: number, count: number): void {
    const { width, xDigits } = PURCHASE_LEVELS[this.grid]!;
    // Rounding is monotone, so tx stays at most T.
    const tx = roundDays(txDays, width);
    const T = roundDays(TDays, width);
    const repeats = roundCount(x, xDigits);
    const key = `${repeats}|${tx}|${T}`;
    const row = this.purchases.get(key);
    if (row) row[3] += count;
    else this.purchases.set(key, [repeats, tx, T, count]);
  }

  private addSpend(x: number, averageValue: number, count: number): void {
    const { width, xDigits } = SPEND_LEVELS[this.digits]!;
    const m = roundValue(averageValue, width);
    const repeats = roundCount(x, xDigits);
    const key = `${repeats}|${m}`;
    const row = this.spend.get(key);
    if (row) row[2] += count;
    else this.spend.set(key, [repeats, m, count]);
  }

  private bound(): void {
    while (this.purchases.size > MAX_PURCHASE_ROWS && this.grid < PURCHASE_LEVELS.length - 1) {
      this.grid++;
      this.regridPurchases();
    }
    while (this.spend.size > MAX_SPEND_ROWS && this.digits < SPEND_LEVELS.length - 1) {
      this.digits++;
      this.regridSpend();
    }
  }

  private regrid(): void {
    this.regridPurchases();
    this.regridSpend();
  }

  private regridPurchases(): void {
    const rows = [...this.purchases.values()];
    this.purchases = new Map();
    for (const [x, tx, T, count] of rows) this.addPurchases(x, tx, T, count);
  }

  private regridSpend(): void {
    const rows = [...this.spend.values()];
    this.spend = new Map();
    for (const [x, m, count] of rows) this.addSpend(x, m, count);
  }
}

/** The day's fitted models, as the run keeps them and `GET /v1/indicators/models` shows them. */
export interface CustomerBaseModel {
  customers: number;
  repeatCustomers: number;
  /** Rows the fit read, and their precision. */
  rows: number;
  precision: Precision;
  /** BG/NBD, times in weeks. */
  bgnbd: BgNbdParams & { logLikelihood: number; converged: boolean };
  /** Gamma-Gamma, on the repeat customers' average order values; absent with too few of them. */
  spend?: GammaGammaParams & { logLikelihood: number; converged: boolean };
  fitMs: number;
}

/** Below these, the freeze keeps its prior churn risk and predicts nothing (see customer_value's settings). */
export interface FitThresholds {
  minCustomers: number;
  minRepeatCustomers: number;
}

/** The models fitted on the merged rows, or why there are none (the prior churn risk then stands). */
export function fitCustomerBase(
  measure: CustomerBaseMeasure,
  thresholds: FitThresholds,
  clock = () => performance.now(),
): CustomerBaseModel | { unfitted: string } {
  const purchases = measure.purchaseRows();
  const spend = measure.spendRows();
  const repeatCustomers = purchases.reduce((sum, row) => sum + (row.x > 0 ? row.count : 0), 0);
  if (measure.customers < thresholds.minCustomers)
    return { unfitted: `${measure.customers} customers, under customer_value's minCustomers of ${thresholds.minCustomers}` };
  if (repeatCustomers < thresholds.minRepeatCustomers)
    return {
      unfitted: `${repeatCustomers} repeat customers, under customer_value's minRepeatCustomers of ${thresholds.minRepeatCustomers}`,
    };
  const started = clock();
  const bgnbd = fitBgNbd(purchases);
  if (!bgnbd.converged || ![bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b].every(Number.isFinite))
    return {
      unfitted: `the BG/NBD fit did not converge on ${measure.customers} customers (${repeatCustomers} repeat customers): their purchases do not yet show repeat rates and dropouts it can tell apart`,
    };
  const spendFit = spend.length > 0 ? fitGammaGamma(spend) : undefined;
  // Gamma-Gamma's expected spend of a new customer is p·v/(q-1): a fit with q ≤ 1 has no finite mean.
  const spendUsable = spendFit?.converged && spendFit.q > 1 && [spendFit.p, spendFit.q, spendFit.v].every(Number.isFinite);
  return {
    customers: measure.customers,
    repeatCustomers,
    rows: purchases.length,
    precision: measure.precision,
    bgnbd,
    ...(spendUsable && { spend: spendFit }),
    fitMs: Math.round(clock() - started),
  };
}
