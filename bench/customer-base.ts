/**
 * Customer-base models on the CDNOW sample (`../shared/data/cdnow/`): BG/NBD and Gamma-Gamma fitted on
 * the 39-week calibration period, their parameters against the published ones, and the papers' checks of
 * the holdout weeks 40-78: transactions predicted against made per calibration repeat-purchase count, the
 * cumulative repeat transactions week by week, and each customer's error against the naive peer (each
 * customer repeats their calibration rate).
 *
 * Run alone: npx tsx bench/customer-base.ts
 */

import { conditionalExpectedPurchases, expectedPurchases, fitBgNbd } from '#shared/domain/bgnbd';
import { fitGammaGamma } from '#shared/domain/gamma-gamma';
import {
  CALIBRATION_END,
  calibrationAndHoldout,
  calibrationRows,
  calibrationSpend,
  cdnowPurchases,
  transactionsByCustomer,
} from './cdnow-data';
import { type BenchResult, printResult } from './harness';

const WEEK_MS = 7 * 86_400_000;
const HOLDOUT_WEEKS = 39;
const PUBLISHED = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, p: 6.25, q: 3.74, v: 15.45 };

export async function run(): Promise<BenchResult> {
  const purchases = cdnowPurchases();
  const started = performance.now();
  const bgnbd = fitBgNbd(calibrationRows(purchases));
  const fitMs = performance.now() - started;
  const spendStarted = performance.now();
  const spend = fitGammaGamma(calibrationSpend(purchases));
  const spendMs = performance.now() - spendStarted;

  const customers = calibrationAndHoldout(purchases);
  const byCount = new Map<number, { customers: number; predicted: number; actual: number }>();
  let modelError = 0;
  let naiveError = 0;
  for (const c of customers) {
    const predicted = conditionalExpectedPurchases(bgnbd, HOLDOUT_WEEKS, c.x, c.tx, c.T);
    modelError += Math.abs(predicted - c.holdout);
    naiveError += Math.abs((c.T > 0 ? c.x / c.T : 0) * HOLDOUT_WEEKS - c.holdout);
    const row = byCount.get(Math.min(c.x, 7)) ?? { customers: 0, predicted: 0, actual: 0 };
    row.customers++;
    row.predicted += predicted;
    row.actual += c.holdout;
    byCount.set(Math.min(c.x, 7), row);
  }

  // Cumulative repeat transactions by week since 1997-01-01: each customer's expected purchases since their first.
  const customerDays = transactionsByCustomer(purchases).map((transactions) => transactions.map((t) => t.day));
  const start = Date.UTC(1997, 0, 1);
  const curve = [13, 26, 39, 52, 65, 78].map((week) => {
    const at = start + week * WEEK_MS;
    let predicted = 0;
    let actual = 0;
    for (const [first = 0, ...repeats] of customerDays) {
      if (at > first) predicted += expectedPurchases(bgnbd, (at - first) / WEEK_MS);
      actual += repeats.filter((day) => day < at).length;
    }
    return { week, predicted, actual };
  });

  const pct = (value: number, published: number) =>
    `${value.toFixed(4)} (published ${published}, ${((value / published - 1) * 100).toFixed(2)} %)`;
  const table = [
    `BG/NBD on ${customers.length} customers, calibration to ${new Date(CALIBRATION_END).toISOString().slice(0, 10)}: r ${pct(bgnbd.r, PUBLISHED.r)}, alpha ${pct(bgnbd.alpha, PUBLISHED.alpha)}, a ${pct(bgnbd.a, PUBLISHED.a)}, b ${pct(bgnbd.b, PUBLISHED.b)}; log-likelihood ${bgnbd.logLikelihood.toFixed(1)}`,
    `Gamma-Gamma on the repeat customers: p ${pct(spend.p, PUBLISHED.p)}, q ${pct(spend.q, PUBLISHED.q)}, v ${pct(spend.v, PUBLISHED.v)}`,
    'holdout transactions a customer (weeks 40-78), by calibration repeat purchases:',
    '    repeat purchases   customers   predicted    actual',
    ...[...byCount]
      .sort(([a], [b]) => a - b)
      .map(
        ([x, r]) =>
          `    ${(x === 7 ? '7+' : String(x)).padStart(16)}   ${String(r.customers).padStart(9)}   ${(r.predicted / r.customers).toFixed(2).padStart(9)}   ${(r.actual / r.customers).toFixed(2).padStart(7)}`,
      ),
    'cumulative repeat transactions since 1997-01-01 (calibration ends at week 39):',
    '    week   predicted   actual',
    ...curve.map((c) => `    ${String(c.week).padStart(4)}   ${c.predicted.toFixed(0).padStart(9)}   ${String(c.actual).padStart(6)}`),
  ];
  const modelMae = modelError / customers.length;
  const naiveMae = naiveError / customers.length;
  return {
    name: 'customer-base',
    description:
      'BG/NBD and Gamma-Gamma fitted on the CDNOW sample, predicting its holdout weeks, against each customer repeating their rate',
    unit: 'transactions',
    figures: {
      'BG/NBD fit (ms)': fitMs,
      'Gamma-Gamma fit (ms)': spendMs,
      'holdout error a customer, BG/NBD': modelMae,
      'holdout error a customer, naive': naiveMae,
    },
    units: { 'BG/NBD fit (ms)': 'ms', 'Gamma-Gamma fit (ms)': 'ms' },
    ratios: { 'naive error / BG/NBD error': naiveMae / modelMae },
    targets: { 'naive error / BG/NBD error': 1 },
    table,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) printResult(await run());
