/**
 * A customer's orders over their whole life, as the customer-base models read them: distinct order days
 * (several orders on one day are one transaction, as in the papers), the first and last of them, and
 * the revenue of the first day apart from the later ones. Kept on the hot profile item past the
 * buckets' 400-day horizon, so it is a flat list of a few numbers:
 *
 *   [order days, first day, first day's revenue, later days' revenue, ...latest order days, newest first]
 *
 * The latest days (at most RECENT_ORDER_DAYS) tell an order on a day already counted from a new one,
 * whatever order the events arrive in; an order older than all of them and than the first day is
 * taken as a new day (the one approximation, for events arriving more than 16 order days late). Pure.
 */

import { DAY_MS } from './time';

export type OrderTally = number[];

export const RECENT_ORDER_DAYS = 16;
const HEAD = 4;

const cents = (amount: number) => Math.round(amount * 100) / 100;

interface Parts {
  days: number;
  firstDay: number;
  firstRevenue: number;
  laterRevenue: number;
  recent: number[];
}

const partsOf = (tally: OrderTally): Parts => ({
  days: tally[0]!,
  firstDay: tally[1]!,
  firstRevenue: tally[2]!,
  laterRevenue: tally[3]!,
  recent: tally.slice(HEAD),
});

const tallyOf = ({ days, firstDay, firstRevenue, laterRevenue, recent }: Parts): OrderTally => [
  days,
  firstDay,
  cents(firstRevenue),
  cents(laterRevenue),
  ...[...new Set(recent)].sort((a, b) => b - a).slice(0, RECENT_ORDER_DAYS),
];

const isKnownDay = (parts: Parts, day: number) => day === parts.firstDay || parts.recent.includes(day);

/** The tally with one more order on `day` (a UTC day index) worth `revenue`. */
export function noteOrder(tally: OrderTally | undefined, day: number, revenue: number): OrderTally {
  const amount = Number.isFinite(revenue) && revenue > 0 ? revenue : 0;
  if (!tally || tally.length < HEAD + 1) return tallyOf({ days: 1, firstDay: day, firstRevenue: amount, laterRevenue: 0, recent: [day] });
  const parts = partsOf(tally);
  if (isKnownDay(parts, day)) {
    if (day === parts.firstDay) parts.firstRevenue += amount;
    else parts.laterRevenue += amount;
  } else {
    parts.days++;
    if (day < parts.firstDay) {
      // The old first day becomes a later one.
      parts.laterRevenue += parts.firstRevenue;
      parts.firstRevenue = amount;
      parts.firstDay = day;
    } else parts.laterRevenue += amount;
    parts.recent.push(day);
  }
  return tallyOf(parts);
}

/** Both people's orders, when two profiles turn out to be one person: days known to both count once. */
export function mergeOrderTallies(mine: OrderTally | undefined, theirs: OrderTally | undefined): OrderTally | undefined {
  if (!mine || mine.length <= HEAD) return theirs;
  if (!theirs || theirs.length <= HEAD) return mine;
  const a = partsOf(mine);
  const b = partsOf(theirs);
  const known = (p: Parts) => new Set([p.firstDay, ...p.recent]);
  const knownToA = known(a);
  const shared = [...known(b)].filter((day) => knownToA.has(day)).length;
  const [earlier, later] = a.firstDay <= b.firstDay ? [a, b] : [b, a];
  const sameFirstDay = a.firstDay === b.firstDay;
  return tallyOf({
    days: a.days + b.days - shared,
    firstDay: earlier.firstDay,
    firstRevenue: earlier.firstRevenue + (sameFirstDay ? later.firstRevenue : 0),
    laterRevenue: a.laterRevenue + b.laterRevenue + (sameFirstDay ? 0 : later.firstRevenue),
    recent: [...a.recent, ...b.recent],
  });
}

/** What the customer-base models read of a customer on `today`, in days. */
export interface CustomerHistory {
  /** Repeat transactions: order days after the first. */
  x: number;
  /** Days from the first order day to the last. */
  txDays: number;
  /** Days from the first order day to today. */
  TDays: number;
  /** Average revenue of the repeat transactions, when there are some. */
  averageValue?: number;
}

/**
 * The customer's history as of `today`; undefined before their first order, and when orders after
 * `today` are already counted (a freeze run as of an earlier day cannot take them out).
 */
export function historyOf(tally: OrderTally | undefined, today: number): CustomerHistory | undefined {
  if (!tally || tally.length <= HEAD) return undefined;
  const { days, firstDay, laterRevenue, recent } = partsOf(tally);
  const lastDay = recent[0]!;
  if (firstDay > today || lastDay > today) return undefined;
  const x = days - 1;
  return {
    x,
    txDays: lastDay - firstDay,
    TDays: today - firstDay,
    ...(x > 0 && { averageValue: laterRevenue / x }),
  };
}

/** The tally in words, for the person's access export. */
export function ordersView(tally: OrderTally | undefined) {
  if (!tally || tally.length <= HEAD) return undefined;
  const { days, firstDay, firstRevenue, laterRevenue, recent } = partsOf(tally);
  const date = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
  return {
    orderDays: days,
    firstOrderDay: date(firstDay),
    lastOrderDay: date(recent[0]!),
    firstDayRevenue: firstRevenue,
    laterRevenue,
    latestOrderDays: recent.map(date),
  };
}
