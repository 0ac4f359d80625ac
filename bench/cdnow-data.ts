/**
 * The CDNOW sample (`../shared/data/cdnow/`, see its README): 2,357 customers' purchases from 1997-01 to
 * 1998-06, as the papers read them: several purchases on one day are one transaction, time in weeks.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CustomerRow } from '#shared/domain/bgnbd';
import type { SpendRow } from '#shared/domain/gamma-gamma';

/** The public data sets sit beside the repository (`../shared/data`), or where PRISME_DATA_SETS says. */
export const CDNOW_FILE = resolve(
  process.env.PRISME_DATA_SETS ?? resolve(import.meta.dirname, '../../shared/data'),
  'cdnow/CDNOW_sample.txt',
);
const DAY_MS = 86_400_000;
/** The calibration period's last day: 39 weeks from 1997-01-01. */
export const CALIBRATION_END = Date.UTC(1997, 8, 30);

export interface Purchase {
  customer: string;
  day: number;
  dollars: number;
}

export function cdnowPurchases(): Purchase[] {
  if (!existsSync(CDNOW_FILE))
    throw new Error(
      `the CDNOW sample is not at ${CDNOW_FILE}: it comes with ../shared/data beside the repository, or set PRISME_DATA_SETS`,
    );
  return readFileSync(CDNOW_FILE, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [, customer, date, , dollars] = line.trim().split(/\s+/);
      return {
        customer: customer!,
        day: Date.UTC(Number(date!.slice(0, 4)), Number(date!.slice(4, 6)) - 1, Number(date!.slice(6, 8))),
        dollars: Number(dollars),
      };
    });
}

/** Each customer's (x, tx, T) at the end of calibration, in weeks, as weighted rows. */
export function calibrationRows(purchases: readonly Purchase[], end = CALIBRATION_END): CustomerRow[] {
  const days = new Map<string, Set<number>>();
  for (const p of purchases) if (p.day <= end) (days.get(p.customer) ?? days.set(p.customer, new Set()).get(p.customer)!).add(p.day);
  const rows = new Map<string, CustomerRow>();
  for (const set of days.values()) {
    const sorted = [...set].sort((a, b) => a - b);
    const first = sorted[0]!;
    const row = { x: sorted.length - 1, tx: (sorted.at(-1)! - first) / DAY_MS / 7, T: (end - first) / DAY_MS / 7, count: 1 };
    const key = `${row.x}|${row.tx}|${row.T}`;
    const held = rows.get(key);
    if (held) held.count++;
    else rows.set(key, row);
  }
  return [...rows.values()];
}

/** Repeat customers' repeat transactions in calibration and their average value (dollars), as weighted rows. */
export function calibrationSpend(purchases: readonly Purchase[], end = CALIBRATION_END): SpendRow[] {
  const byCustomer = new Map<string, Map<number, number>>();
  for (const p of purchases) {
    if (p.day > end) continue;
    const days = byCustomer.get(p.customer) ?? byCustomer.set(p.customer, new Map()).get(p.customer)!;
    days.set(p.day, (days.get(p.day) ?? 0) + p.dollars);
  }
  const rows = new Map<string, SpendRow>();
  for (const days of byCustomer.values()) {
    // The first transaction starts the customer; the model reads the repeat ones.
    const repeat = [...days]
      .sort(([a], [b]) => a - b)
      .slice(1)
      .map(([, dollars]) => dollars);
    if (repeat.length === 0) continue;
    const row = { x: repeat.length, m: repeat.reduce((a, b) => a + b, 0) / repeat.length, count: 1 };
    const key = `${row.x}|${row.m}`;
    const held = rows.get(key);
    if (held) held.count++;
    else rows.set(key, row);
  }
  return [...rows.values()];
}

/** Each customer's calibration (x, tx, T) and the transactions (distinct days) they made in the 39-week holdout. */
export function calibrationAndHoldout(
  purchases: readonly Purchase[],
  end = CALIBRATION_END,
): Array<{ x: number; tx: number; T: number; holdout: number }> {
  const days = new Map<string, Set<number>>();
  for (const p of purchases) (days.get(p.customer) ?? days.set(p.customer, new Set()).get(p.customer)!).add(p.day);
  return [...days.values()].map((set) => {
    const sorted = [...set].sort((a, b) => a - b);
    const calibration = sorted.filter((d) => d <= end);
    const first = calibration[0]!;
    return {
      x: calibration.length - 1,
      tx: (calibration.at(-1)! - first) / DAY_MS / 7,
      T: (end - first) / DAY_MS / 7,
      holdout: sorted.length - calibration.length,
    };
  });
}
