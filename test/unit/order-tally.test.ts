/**
 * The lifetime order tally: order days counted once whatever order events arrive in, revenue split
 * between the first day and the later ones, merges that count shared days once, and the history the
 * customer-base models read.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { historyOf, mergeOrderTallies, noteOrder, type OrderTally, ordersView, RECENT_ORDER_DAYS } from '#shared/domain/order-tally';

const DAY = 20_000; // 2024-10-04
const tallied = (orders: ReadonlyArray<[day: number, revenue: number]>): OrderTally | undefined =>
  orders.reduce<OrderTally | undefined>((tally, [day, revenue]) => noteOrder(tally, day, revenue), undefined);

/** Orders on at most RECENT_ORDER_DAYS distinct days, with revenue in cents so sums are exact. */
const orderLists = fc
  .uniqueArray(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: RECENT_ORDER_DAYS })
  .chain((days) =>
    fc.array(
      fc.tuple(
        fc.constantFrom(...days),
        fc.integer({ min: 0, max: 100_000 }).map((c) => c / 100),
      ),
      { minLength: days.length, maxLength: 40 },
    ),
  )
  .map((list) => list.map(([day, revenue]) => [DAY + day, revenue] as [number, number]));

/** What the tally should say, from the orders themselves. */
function expected(list: ReadonlyArray<[number, number]>) {
  const days = [...new Set(list.map(([day]) => day))].sort((a, b) => a - b);
  const first = days[0]!;
  const revenueOn = (day: number) => list.filter(([d]) => d === day).reduce((sum, [, r]) => sum + r, 0);
  const later = list.filter(([d]) => d !== first).reduce((sum, [, r]) => sum + r, 0);
  return { days, first, firstRevenue: revenueOn(first), later };
}

describe('noteOrder', () => {
  it('counts each order day once, in whatever order the orders arrive', () => {
    fc.assert(
      fc.property(orderLists, fc.func(fc.integer()), (list, shuffleKey) => {
        const shuffled = [...list].sort((a, b) => shuffleKey(a) - shuffleKey(b));
        const want = expected(list);
        for (const tally of [tallied(list), tallied(shuffled)]) {
          const history = historyOf(tally, DAY + 1000)!;
          expect(history.x).toBe(want.days.length - 1);
          expect(history.txDays).toBe(want.days.at(-1)! - want.first);
          expect(history.TDays).toBe(DAY + 1000 - want.first);
          expect(tally![2]).toBeCloseTo(want.firstRevenue, 6);
          expect(tally![3]).toBeCloseTo(want.later, 6);
        }
        expect(tallied(shuffled)).toEqual(tallied(list));
      }),
    );
  });

  it('keeps the latest 16 order days and counts a much later first order once', () => {
    let tally: OrderTally | undefined;
    for (let day = 0; day < 30; day++) tally = noteOrder(tally, DAY + day * 7, 10);
    expect(tally).toHaveLength(4 + RECENT_ORDER_DAYS);
    expect(historyOf(tally, DAY + 400)).toEqual({ x: 29, txDays: 29 * 7, TDays: 400, averageValue: 10 });
    // An order on the first day, arriving late, is that day's; one before it starts the customer earlier.
    tally = noteOrder(tally, DAY, 5);
    expect(historyOf(tally, DAY + 400)!.x).toBe(29);
    tally = noteOrder(tally, DAY - 3, 7);
    expect(historyOf(tally, DAY + 400)).toEqual({ x: 30, txDays: 29 * 7 + 3, TDays: 403, averageValue: (29 * 10 + 15) / 30 });
  });

  it('takes only positive, finite revenue', () => {
    const tally = noteOrder(noteOrder(noteOrder(undefined, DAY, Number.NaN), DAY + 1, -20), DAY + 2, Number.POSITIVE_INFINITY);
    expect(tally.slice(0, 4)).toEqual([3, DAY, 0, 0]);
  });
});

describe('historyOf', () => {
  it('has nothing to say before the first order, or once orders after the day are counted', () => {
    expect(historyOf(undefined, DAY)).toBeUndefined();
    expect(historyOf(tallied([[DAY, 10]]), DAY - 1)).toBeUndefined();
    expect(
      historyOf(
        tallied([
          [DAY, 10],
          [DAY + 5, 10],
        ]),
        DAY + 4,
      ),
    ).toBeUndefined();
    expect(historyOf(tallied([[DAY, 10]]), DAY)).toEqual({ x: 0, txDays: 0, TDays: 0 });
  });
});

describe('mergeOrderTallies', () => {
  it('counts the days both people ordered on once, and keeps the earlier first day', () => {
    fc.assert(
      fc.property(orderLists, orderLists, (mine, theirs) => {
        const all = [...mine, ...theirs];
        if (new Set(all.map(([day]) => day)).size > RECENT_ORDER_DAYS) return;
        const merged = mergeOrderTallies(tallied(mine), tallied(theirs));
        const want = expected(all);
        const history = historyOf(merged, DAY + 1000)!;
        expect(history.x).toBe(want.days.length - 1);
        expect(history.TDays).toBe(DAY + 1000 - want.first);
        expect(merged![2]).toBeCloseTo(want.firstRevenue, 6);
        expect(merged![3]).toBeCloseTo(want.later, 6);
        expect(merged).toEqual(tallied(all));
      }),
    );
  });

  it('keeps either side when the other has no orders', () => {
    const tally = tallied([[DAY, 10]]);
    expect(mergeOrderTallies(undefined, tally)).toBe(tally);
    expect(mergeOrderTallies(tally, undefined)).toBe(tally);
  });
});

describe('ordersView', () => {
  it('writes the tally in words for the access export', () => {
    expect(
      ordersView(
        tallied([
          [DAY, 10],
          [DAY + 2, 4.5],
          [DAY + 2, 1],
        ]),
      ),
    ).toEqual({
      orderDays: 2,
      firstOrderDay: '2024-10-04',
      lastOrderDay: '2024-10-06',
      firstDayRevenue: 10,
      laterRevenue: 5.5,
      latestOrderDays: ['2024-10-06', '2024-10-04'],
    });
  });
});
