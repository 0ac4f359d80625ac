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

export interface Transaction {
  day: number;
  dollars: number;
}

/** Each customer's transactions, oldest first: the purchases of one day are one transaction, their dollars summed. */
export function transactionsByCustomer(purchases: readonly Purchase[]): Transaction[][] {
  const byCustomer = new Map<string, Map<number, number>>();
  for (const p of purchases) {
    const days = byCustomer.get(p.customer) ?? byCustomer.set(p.customer, new Map()).get(p.customer)!;
    days.set(p.day, (days.get(p.day) ?? 0) + p.dollars);
  }
  return [...byCustomer.values()].map((days) => [...days].sort(([a], [b]) => a - b).map(([day, dollars]) => ({ day, dollars })));
}

/** Rows of equal values counted once, with how many there were. */
function weighted<R extends { count: number }>(rows: Iterable<Omit<R, 'count'>>, keyOf: (row: Omit<R, 'count'>) => string): R[] {
  const counted = new Map<string, R>();
  for (const row of rows) {
    const key = keyOf(row);
    const held = counted.get(key);
    if (held) held.count++;
    else counted.set(key, { ...row, count: 1 } as R);
  }
  return [...counted.values()];
}

/** Each customer's calibration (x, tx, T), in weeks, and the transactions they made after it (the 39-week holdout). */
export function calibrationAndHoldout(
  purchases: readonly Purchase[],
  end = CALIBRATION_END,
): Array<{ x: number; tx: number; T: number; holdout: number }> {
  return transactionsByCustomer(purchases).map((transactions) => {
    const calibration = transactions.filter((t) => t.day <= end);
    const first = calibration[0]!.day;
    return {
      x: calibration.length - 1,
      tx: (calibration.at(-1)!.day - first) / DAY_MS / 7,
      T: (end - first) / DAY_MS / 7,
      holdout: transactions.length - calibration.length,
    };
  });
}

/** Each customer's (x, tx, T) at the end of calibration, in weeks, as weighted rows. */
export function calibrationRows(purchases: readonly Purchase[], end = CALIBRATION_END): CustomerRow[] {
  return weighted<CustomerRow>(
    calibrationAndHoldout(purchases, end).map(({ x, tx, T }) => ({ x, tx, T })),
    (row) => `${row.x}|${row.tx}|${row.T}`,
  );
}

/** Repeat customers' repeat transactions in calibration and their average value (dollars), as weighted rows. */
export function calibrationSpend(purchases: readonly Purchase[], end = CALIBRATION_END): SpendRow[] {
  // The first transaction starts the customer; the model reads the repeat ones.
  const repeats = transactionsByCustomer(purchases)
    .map((transactions) => transactions.filter((t) => t.day <= end).slice(1))
    .filter((repeat) => repeat.length > 0);
  return weighted<SpendRow>(
    repeats.map((repeat) => ({ x: repeat.length, m: repeat.reduce((sum, t) => sum + t.dollars, 0) / repeat.length })),
    (row) => `${row.x}|${row.m}`,
  );
}
