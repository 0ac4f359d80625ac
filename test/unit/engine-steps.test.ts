/**
 * The segment engine step by step, on a fake clock, as table cases (test/helpers/engine-timeline.ts):
 * events are sent, the clock moves, the sweep re-evaluates a profile only once it is due (as the time
 * sweep does), and assertions say who is in. A membership that changes at the right instant proves both
 * the evaluation and the due time; the cases sit on the edges: the 35-day coarsening of daily counts,
 * window ends to the millisecond, midnight UTC, any event, case, and steps in the same second. Long
 * as a table is: each case is data, one row of the timeline each.
 */
import { describe, expect, it } from 'vitest';
import { PROFILE_LIMITS } from '#shared/domain/profile';
import type { Condition } from '#shared/domain/segment-definition';
import { DAY, expectThat, HOUR, MINUTE, plus, runTableTest, sleep, submit, sweep, tableTests, until } from '../helpers/engine-timeline';

describe('first and last performed, across the coarsening of old days into weeks', () => {
  // A Wednesday afternoon: its week bucket is keyed by another day, which once read as the order's day.
  const order = '2026-01-07T15:30:00.000Z';
  const lapsed: Condition = {
    type: 'performed_date',
    event: 'Order Completed',
    which: 'last',
    operator: 'date_before',
    value: { daysAgo: 90 },
  };
  const newcomer: Condition = {
    type: 'performed_date',
    event: 'Order Completed',
    which: 'first',
    operator: 'date_after',
    value: { daysAgo: 60 },
  };

  it('keeps the daily counts of the last 35 days only', () => {
    expect(PROFILE_LIMITS.dailyDays).toBe(35);
  });

  tableTests([
    {
      description: '"last order more than 90 days ago" starts the millisecond after 90 x 24 h',
      segments: { lapsed },
      steps: [
        until(order),
        submit({ event: 'Order Completed', channel: 'store' }),
        expectThat({ out: ['lapsed'], due: plus(order, 90 * DAY + 1) }),
        // A page view 40 days on folds the order's day into its week.
        until(plus(order, 40 * DAY)),
        submit({ event: 'Page Viewed', type: 'page' }),
        expectThat({ out: ['lapsed'], due: plus(order, 90 * DAY + 1) }),
        until(plus(order, 87 * DAY)),
        sweep,
        expectThat({ out: ['lapsed'] }),
        until(plus(order, 90 * DAY)),
        sweep,
        expectThat({ out: ['lapsed'] }),
        until(plus(order, 90 * DAY + 1)),
        sweep,
        expectThat({ in: ['lapsed'], due: null }),
        // A new order ends it at once, and the next 90 days start from it.
        until(plus(order, 100 * DAY)),
        submit({ event: 'Order Completed', channel: 'web' }),
        expectThat({ out: ['lapsed'], due: plus(order, 190 * DAY + 1) }),
      ],
    },
    {
      description: '"first order in the last 60 days" ends exactly 60 x 24 h after the first, whatever came later',
      segments: { newcomer },
      steps: [
        until(order),
        submit({ event: 'Order Completed' }),
        expectThat({ in: ['newcomer'], due: plus(order, 60 * DAY) }),
        until(plus(order, 50 * DAY)),
        submit({ event: 'Order Completed' }),
        expectThat({ in: ['newcomer'] }),
        until(plus(order, 60 * DAY - 1)),
        sweep,
        expectThat({ in: ['newcomer'] }),
        until(plus(order, 60 * DAY)),
        sweep,
        expectThat({ out: ['newcomer'], due: null }),
      ],
    },
    {
      description: '"stopped ordering": ordered in the last 90 days, not in the last 30, to the millisecond',
      segments: { stopped: { type: 'stopped', event: 'Order Completed', recent: { days: 30 }, before: { days: 90 } } },
      steps: [
        until(order),
        submit({ event: 'Order Completed' }),
        expectThat({ out: ['stopped'], due: plus(order, 30 * DAY) }),
        until(plus(order, 30 * DAY - 1)),
        sweep,
        expectThat({ out: ['stopped'] }),
        until(plus(order, 30 * DAY)),
        sweep,
        expectThat({ in: ['stopped'], due: plus(order, 90 * DAY) }),
        until(plus(order, 45 * DAY)),
        submit({ event: 'Page Viewed', type: 'page' }),
        expectThat({ in: ['stopped'] }),
        until(plus(order, 90 * DAY - 1)),
        sweep,
        expectThat({ in: ['stopped'] }),
        until(plus(order, 90 * DAY)),
        sweep,
        expectThat({ out: ['stopped'], due: null }),
      ],
    },
    {
      description: '"restarted": an order after a 60-day gap, the one before it long coarsened',
      segments: { restarted: { type: 'restarted', event: 'Order Completed', recent: { days: 7 }, gap: { days: 60 } } },
      steps: [
        until(order),
        submit({ event: 'Order Completed' }),
        expectThat({ out: ['restarted'] }),
        until(plus(order, 66 * DAY)),
        submit({ event: 'Order Completed' }),
        expectThat({ out: ['restarted'] }), // the gap is 66 days, but the first order is inside recent + gap
        until(plus(order, 80 * DAY)),
        submit({ event: 'Order Completed' }),
        expectThat({ out: ['restarted'] }),
        until(plus(order, 170 * DAY)),
        submit({ event: 'Order Completed' }),
        expectThat({ in: ['restarted'], due: plus(order, 177 * DAY) }),
        until(plus(order, 177 * DAY - 1)),
        sweep,
        expectThat({ in: ['restarted'] }),
        until(plus(order, 177 * DAY)),
        sweep,
        expectThat({ out: ['restarted'] }),
      ],
    },
  ]);
});

describe('rolling windows: the last N x 24 h at the evaluation instant', () => {
  const visit = '2026-03-15T09:41:27.000Z';

  tableTests([
    {
      description: '"visited in the last 7 days" ends 7 x 24 h after the visit, not at a midnight',
      segments: { recent: { type: 'event', event: 'Page Viewed', within: { days: 7 } } },
      steps: [
        until(visit),
        submit({ type: 'page', event: undefined }),
        expectThat({ in: ['recent'], due: plus(visit, 7 * DAY) }),
        until(plus(visit, 7 * DAY - 1)),
        sweep,
        expectThat({ in: ['recent'] }),
        until(plus(visit, 7 * DAY)),
        sweep,
        expectThat({ out: ['recent'], due: null }),
      ],
    },
    {
      description: 'counts and sums over the window, the oldest part of it already coarsened',
      segments: {
        spenders: {
          type: 'event',
          event: 'Order Completed',
          count: { operator: 'gte', value: 2 },
          aggregate: { fn: 'sum', property: 'revenue', operator: 'gte', value: 100 },
          within: { days: 60 },
        },
      },
      steps: [
        until(visit),
        submit({ event: 'Order Completed', properties: { revenue: 60 } }),
        expectThat({ out: ['spenders'] }),
        until(plus(visit, 10 * DAY)),
        submit({ event: 'Order Completed', properties: { revenue: 45 } }),
        expectThat({ in: ['spenders'], due: plus(visit, 60 * DAY) }),
        // 40 days on, the first order's day is in a week bucket: its exact time is still known at the edge.
        until(plus(visit, 40 * DAY)),
        submit({ event: 'Page Viewed', type: 'page' }),
        expectThat({ in: ['spenders'] }),
        until(plus(visit, 60 * DAY - 1)),
        sweep,
        expectThat({ in: ['spenders'] }),
        until(plus(visit, 60 * DAY)),
        sweep,
        expectThat({ out: ['spenders'] }),
        // A third order brings it back: 45 + 70 within 60 days.
        until(plus(visit, 65 * DAY)),
        submit({ event: 'Order Completed', properties: { revenue: 70 } }),
        expectThat({ in: ['spenders'], due: plus(visit, 70 * DAY) }),
        until(plus(visit, 70 * DAY)),
        sweep,
        expectThat({ out: ['spenders'] }),
      ],
    },
    {
      description: 'the window is half-open: an event exactly N x 24 h old is out',
      segments: { lastDay: { type: 'event', event: 'Order Completed', within: { days: 1 } } },
      steps: [
        until(plus(visit, DAY)),
        submit({ event: 'Order Completed', at: visit }),
        expectThat({ out: ['lastDay'], due: null }),
        submit({ event: 'Order Completed', at: plus(visit, 1000) }),
        expectThat({ in: ['lastDay'], due: plus(visit, DAY + 1000) }),
      ],
    },
    {
      description: 'minutes: "in the last 30 minutes" ends at the 30th minute',
      segments: { now: { type: 'event', event: 'Product Viewed', within: { minutes: 30 } } },
      steps: [
        until(visit),
        submit({ event: 'Product Viewed' }),
        expectThat({ in: ['now'], due: plus(visit, 30 * MINUTE) }),
        until(plus(visit, 30 * MINUTE - 1)),
        sweep,
        expectThat({ in: ['now'] }),
        until(plus(visit, 30 * MINUTE)),
        sweep,
        expectThat({ out: ['now'] }),
      ],
    },
    {
      description: 'a count in minutes: "3 product views in 10 minutes" ends when the first of the three leaves the window',
      segments: { browsing: { type: 'event', event: 'Product Viewed', count: { operator: 'gte', value: 3 }, within: { minutes: 10 } } },
      steps: [
        until(visit),
        submit({ event: 'Product Viewed' }),
        sleep(4 * MINUTE),
        submit({ event: 'Product Viewed' }),
        // Two views: out (the schedule may check again as the first leaves; that cannot bring it in).
        expectThat({ out: ['browsing'], transitions: [] }),
        sleep(4 * MINUTE),
        submit({ event: 'Product Viewed' }),
        // The first view leaves at minute 10: from then on two are left.
        expectThat({ in: ['browsing'], due: plus(visit, 10 * MINUTE), transitions: ['entered browsing (events)'] }),
        until(plus(visit, 10 * MINUTE - 1)),
        sweep,
        expectThat({ in: ['browsing'] }),
        until(plus(visit, 10 * MINUTE)),
        sweep,
        expectThat({ out: ['browsing'], transitions: ['exited browsing (time)'] }),
        // A fourth view makes three again (minutes 4, 8, 11), until minute 14.
        until(plus(visit, 11 * MINUTE)),
        submit({ event: 'Product Viewed' }),
        expectThat({ in: ['browsing'], due: plus(visit, 14 * MINUTE), transitions: ['entered browsing (events)'] }),
      ],
    },
  ]);
});

describe('calendar windows: whole UTC days, today included', () => {
  tableTests([
    {
      description: '"today" ends at midnight UTC, whatever the hour of the visit',
      segments: { today: { type: 'event', event: 'Page Viewed', within: { days: 1, calendar: true } } },
      steps: [
        until('2026-03-15T23:59:59.000Z'),
        submit({ type: 'page' }),
        expectThat({ in: ['today'], due: '2026-03-16T00:00:00.000Z' }),
        until('2026-03-15T23:59:59.999Z'),
        sweep,
        expectThat({ in: ['today'] }),
        until('2026-03-16T00:00:00.000Z'),
        sweep,
        expectThat({ out: ['today'], due: null }),
      ],
    },
    {
      description: '"this week" (7 calendar days) keeps a Monday-morning visit until the 7th midnight',
      segments: { week: { type: 'event', event: 'Page Viewed', within: { days: 7, calendar: true } } },
      steps: [
        until('2026-03-16T00:00:01.000Z'),
        submit({ type: 'page' }),
        expectThat({ in: ['week'], due: '2026-03-23T00:00:00.000Z' }),
        until('2026-03-22T23:59:59.999Z'),
        sweep,
        expectThat({ in: ['week'] }),
        until('2026-03-23T00:00:00.000Z'),
        sweep,
        expectThat({ out: ['week'] }),
      ],
    },
  ]);
});

describe('any event', () => {
  const at = '2026-03-15T10:00:00.000Z';

  tableTests([
    {
      description: '"active on the web in the last hour" takes an event name no one listed, and not the app',
      segments: { active: { type: 'event', channel: 'web', within: { hours: 1 } } },
      steps: [
        until(at),
        submit({ event: 'Loyalty Card Scanned', channel: 'app' }),
        expectThat({ out: ['active'], due: null }),
        until(plus(at, MINUTE)),
        submit({ event: 'Brand New Widget Clicked', channel: 'web' }),
        expectThat({ in: ['active'], due: plus(at, 61 * MINUTE) }),
        // Identify calls are not behaviour.
        until(plus(at, 30 * MINUTE)),
        submit({ type: 'identify', event: undefined, traits: { tier: 'gold' }, channel: 'web' }),
        expectThat({ in: ['active'], due: plus(at, 61 * MINUTE) }),
        until(plus(at, 61 * MINUTE)),
        sweep,
        expectThat({ out: ['active'] }),
      ],
    },
    {
      description: '"last seen more than 30 days ago" reads the last event of any name',
      segments: { dormant: { type: 'performed_date', which: 'last', operator: 'date_before', value: { daysAgo: 30 } } },
      steps: [
        until(at),
        submit({ event: 'Order Completed' }),
        expectThat({ out: ['dormant'] }),
        until(plus(at, 20 * DAY)),
        submit({ event: 'Newsletter Clicked', channel: 'email' }),
        expectThat({ out: ['dormant'], due: plus(at, 50 * DAY + 1) }),
        until(plus(at, 50 * DAY + 1)),
        sweep,
        expectThat({ in: ['dormant'] }),
      ],
    },
  ]);
});

describe('text comparisons', () => {
  const at = '2026-03-15T10:00:00.000Z';

  tableTests([
    {
      description: 'ignore case unless the condition asks for the exact case',
      segments: {
        vip: { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' },
        exactVip: { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip', caseSensitive: true },
        coupon: {
          type: 'event',
          event: 'Coupon Redeemed',
          where: [{ property: 'code', operator: 'eq', value: 'SPRING', caseSensitive: true }],
        },
      },
      steps: [
        until(at),
        submit({ type: 'identify', event: undefined, traits: { tier: 'VIP' } }),
        expectThat({ in: ['vip'], out: ['exactVip'] }),
        submit({ type: 'identify', event: undefined, traits: { tier: 'vip' } }),
        expectThat({ in: ['vip', 'exactVip'] }),
        submit({ event: 'Coupon Redeemed', properties: { code: 'spring' } }),
        expectThat({ out: ['coupon'] }),
        submit({ event: 'Coupon Redeemed', properties: { code: 'SPRING' } }),
        expectThat({ in: ['coupon'] }),
      ],
    },
  ]);
});

describe('sequences', () => {
  const webinarThenPricing: Condition = {
    type: 'sequence',
    steps: [{ event: 'Webinar Attended' }, { event: 'Page Viewed', where: [{ property: 'name', operator: 'eq', value: 'Pricing' }] }],
    within: { hours: 24 },
  };
  const pricing = { type: 'page' as const, event: undefined, properties: { name: 'Pricing' } };
  const at = '2026-03-15T10:00:00.000Z';

  tableTests([
    {
      description: 'take a next step from the same second on, and refuse one before',
      segments: { webinarThenPricing },
      steps: [
        until(at),
        submit({ ...pricing, at: plus(at, -1000) }),
        expectThat({ out: ['webinarThenPricing'] }),
        submit({ event: 'Webinar Attended' }),
        expectThat({ out: ['webinarThenPricing'] }),
        submit(pricing),
        expectThat({ in: ['webinarThenPricing'], due: null }),
      ],
    },
    {
      description: 'refuse a next step a second past the gap',
      segments: { webinarThenPricing },
      steps: [
        until(at),
        submit({ event: 'Webinar Attended' }),
        expectThat({ out: ['webinarThenPricing'] }),
        until(plus(at, DAY + 1000)),
        submit(pricing),
        expectThat({ out: ['webinarThenPricing'] }),
        until(plus(at, DAY + 2000)),
        submit({ event: 'Webinar Attended', at }, { ...pricing, at: plus(at, DAY) }),
        expectThat({ in: ['webinarThenPricing'] }),
      ],
    },
    {
      description: 'A then B within a delay: the cart added, then the order within an hour; a later A does not undo it, nor does time',
      segments: {
        converted: {
          type: 'sequence',
          steps: [{ event: 'Product Added' }, { event: 'Order Completed', channel: 'web' }],
          within: { hours: 1 },
        },
      },
      steps: [
        until(at),
        submit({ event: 'Product Added' }),
        expectThat({ segments: [], due: null }),
        // The order on another channel is not the step.
        sleep(10 * MINUTE),
        submit({ event: 'Order Completed', channel: 'store' }),
        expectThat({ segments: [] }),
        sleep(50 * MINUTE),
        submit({ event: 'Order Completed', channel: 'web' }),
        expectThat({ segments: ['converted'], due: null, transitions: ['entered converted (events)'] }),
        sleep(30 * DAY),
        submit({ event: 'Product Added' }),
        sweep,
        expectThat({ segments: ['converted'], transitions: [] }),
      ],
    },
    {
      description: 'A then B since a relative date: the sequence stops counting when its first step is older than the bound, by time alone',
      segments: {
        recentConversion: {
          type: 'sequence',
          steps: [{ event: 'Product Added' }, { event: 'Order Completed' }],
          within: { hours: 2 },
          since: { daysAgo: 7 },
        },
      },
      steps: [
        until(at),
        submit({ event: 'Product Added' }),
        sleep(HOUR),
        submit({ event: 'Order Completed' }),
        // The bound is inclusive (a first step exactly 7 x 24 h old still counts), unlike date_after and the
        // half-open windows: it ends the millisecond after.
        expectThat({ segments: ['recentConversion'], due: plus(at, 7 * DAY + 1), transitions: ['entered recentConversion (events)'] }),
        until(plus(at, 7 * DAY)),
        sweep,
        expectThat({ segments: ['recentConversion'] }),
        until(plus(at, 7 * DAY + 1)),
        sweep,
        expectThat({ segments: [], due: null, transitions: ['exited recentConversion (time)'] }),
      ],
    },
  ]);
});

describe('not performed in a window', () => {
  const order = '2026-02-10T08:15:00.000Z';
  const noOrderFor30Days: Condition = {
    type: 'event',
    event: 'Order Completed',
    count: { operator: 'lt', value: 1 },
    within: { days: 30 },
  };

  tableTests([
    {
      description: '"no order in the last 30 days" flips in with time alone, exactly 30 x 24 h after the last order, and out on the next',
      segments: { noOrderFor30Days },
      steps: [
        until(order),
        submit({ event: 'Order Completed' }),
        expectThat({ segments: [], due: plus(order, 30 * DAY) }),
        // Other behaviour changes nothing.
        until(plus(order, 12 * DAY)),
        submit({ event: 'Page Viewed', type: 'page' }),
        expectThat({ segments: [], due: plus(order, 30 * DAY), transitions: [] }),
        until(plus(order, 30 * DAY - 1)),
        sweep,
        expectThat({ segments: [] }),
        until(plus(order, 30 * DAY)),
        sweep,
        expectThat({ segments: ['noOrderFor30Days'], due: null, transitions: ['entered noOrderFor30Days (time)'] }),
        until(plus(order, 45 * DAY)),
        submit({ event: 'Order Completed' }),
        expectThat({ segments: [], due: plus(order, 75 * DAY), transitions: ['exited noOrderFor30Days (events)'] }),
      ],
    },
    {
      description: 'a sweep before the profile is due does not evaluate it, and misses nothing',
      segments: { noOrderFor30Days },
      steps: [
        until(order),
        submit({ event: 'Order Completed' }),
        until(plus(order, DAY)),
        sweep,
        until(plus(order, 29 * DAY)),
        sweep,
        expectThat({ segments: [], due: plus(order, 30 * DAY), transitions: [] }),
        // Past due without a sweep: what the profile shows is late until the sweep comes.
        until(plus(order, 31 * DAY)),
        expectThat({ segments: [] }),
        sweep,
        expectThat({ segments: ['noOrderFor30Days'], transitions: ['entered noOrderFor30Days (time)'] }),
      ],
    },
  ]);
});

describe('a segment on another segment', () => {
  const visit = '2026-04-01T12:00:00.000Z';
  const segments: Record<string, Condition> = {
    recent: { type: 'event', channel: 'web', within: { days: 3 } },
    vip: { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' },
    vipRecent: {
      type: 'and',
      conditions: [
        { type: 'segment', segment: 'vip', member: true },
        { type: 'segment', segment: 'recent', member: true },
      ],
    },
    lapsedVip: {
      type: 'and',
      conditions: [
        { type: 'segment', segment: 'vip', member: true },
        { type: 'segment', segment: 'recent', member: false },
      ],
    },
  };

  tableTests([
    {
      description: 'follows the segment it names: in the same evaluation on events, and when that one ends by time',
      segments,
      steps: [
        until(visit),
        submit({ type: 'page', event: undefined, channel: 'web' }),
        expectThat({ segments: ['recent'], due: plus(visit, 3 * DAY), transitions: ['entered recent (events)'] }),
        // A trait alone makes the person VIP: both segments that use vip follow, in the same evaluation.
        sleep(HOUR),
        submit({ type: 'identify', event: undefined, traits: { tier: 'VIP' } }),
        expectThat({ segments: ['recent', 'vip', 'vipRecent'], transitions: ['entered vip (events)', 'entered vipRecent (events)'] }),
        // The visit leaves the window: recent ends by time, and with it vipRecent; lapsedVip starts.
        until(plus(visit, 3 * DAY)),
        sweep,
        expectThat({
          segments: ['lapsedVip', 'vip'],
          due: null,
          transitions: ['exited recent (time)', 'exited vipRecent (time)', 'entered lapsedVip (time)'],
        }),
        // A visit on the app is not on the web: nothing moves.
        until(plus(visit, 4 * DAY)),
        submit({ type: 'screen', event: undefined, channel: 'app' }),
        expectThat({ segments: ['lapsedVip', 'vip'], transitions: [] }),
        until(plus(visit, 5 * DAY)),
        submit({ type: 'page', event: undefined, channel: 'web' }),
        // Transitions come in the order segments are evaluated: a segment after those it names.
        expectThat({
          segments: ['recent', 'vip', 'vipRecent'],
          transitions: ['entered recent (events)', 'entered vipRecent (events)', 'exited lapsedVip (events)'],
        }),
        // No longer VIP: every segment built on vip follows the trait.
        submit({ type: 'identify', event: undefined, traits: { tier: 'standard' } }),
        expectThat({ segments: ['recent'], due: plus(visit, 8 * DAY), transitions: ['exited vip (events)', 'exited vipRecent (events)'] }),
      ],
    },
  ]);
});

describe('the timeline harness', () => {
  it('fails a case whose assertion does not hold, and refuses to turn the clock back', () => {
    const segments: Record<string, Condition> = { recent: { type: 'event', event: 'Page Viewed', within: { days: 7 } } };
    const at = '2026-03-15T10:00:00.000Z';
    expect(() =>
      runTableTest({ segments, steps: [until(at), submit({ type: 'page', event: undefined }), expectThat({ out: ['recent'] })] }),
    ).toThrow(/out of recent/);
    expect(() =>
      runTableTest({ segments, steps: [until(at), submit({ type: 'page', event: undefined }), expectThat({ due: plus(at, 8 * DAY) })] }),
    ).toThrow(/due/);
    expect(() => runTableTest({ segments, steps: [until(at), until(plus(at, -1))] })).toThrow(/forward only/);
  });
});
