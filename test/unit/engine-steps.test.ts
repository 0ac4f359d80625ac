/**
 * The segment engine step by step, on a fake clock: events are sent, the clock moves, the sweep
 * re-evaluates a profile only once it is due (as the time sweep does), and each step says who is in.
 * A membership that changes at the right instant proves both the evaluation and the due time; the
 * cases sit on the edges: the 35-day coarsening of daily counts, window ends to the millisecond,
 * midnight UTC, any event, case, and steps in the same second.
 */
import { describe, expect, it } from 'vitest';
import type { Channel, EnrichedEvent } from '../../shared/domain/events';
import { nextCheckAt } from '../../shared/domain/next-change';
import { PROFILE_LIMITS, foldEvents, newProfile, type Profile } from '../../shared/domain/profile';
import { compileCatalog, evaluateMemberships, type CompiledCatalog } from '../../shared/domain/memberships';
import { conditionSchema, type Condition, type Segment } from '../../shared/domain/segment-definition';
import { anEvent } from '../helpers/events';

type Sent = { event?: string; type?: EnrichedEvent['type']; channel?: Channel; properties?: Record<string, unknown>; traits?: Record<string, unknown>; at?: string };
interface Step {
  /** The clock, ISO-8601. */
  at: string;
  /** Events received now (each at its own `at`, or now); without them the step is a sweep. */
  send?: Sent[];
  /** Segments the profile is in after the step, and those it is not in. */
  in?: string[];
  out?: string[];
  /** When the profile is next due for the sweep, or null for never. */
  due?: string | null;
}

class Engine {
  private profile: Profile = newProfile('p-engine', '2025-01-01T00:00:00.000Z');
  private readonly catalog: CompiledCatalog;
  private dueAt = Infinity;

  constructor(segments: Record<string, Condition>) {
    const defined: Segment[] = Object.entries(segments).map(([id, condition]) => {
      // The conditions are the language's: each must pass its schema first.
      conditionSchema.parse(condition);
      return { id, name: id, condition, revision: 1, languageVersion: 1, status: 'ready', createdAt: '', updatedAt: '' };
    });
    this.catalog = compileCatalog(defined);
  }

  step({ at, send }: Step): void {
    const now = Date.parse(at);
    // The sweep takes only profiles that are due; a write with events always evaluates.
    if (!send && now < this.dueAt) return;
    const events = (send ?? []).map(({ at: when, ...rest }) => anEvent({ userId: 'engine', ...rest, at: when ?? at, receivedAt: at }));
    // As the writer does: fold (pruning and coarsening at `now`), evaluate, schedule.
    const folded = foldEvents(this.profile, events, [], now, this.catalog.specs).profile;
    const { segments } = evaluateMemberships(folded, this.catalog.segments, now, undefined, send ? 'events' : 'time');
    this.profile = { ...folded, segments };
    this.dueAt = nextCheckAt(this.catalog, this.profile, now);
  }

  get members(): string[] {
    return this.profile.segments;
  }

  get due(): string | null {
    return this.dueAt === Infinity ? null : new Date(this.dueAt).toISOString();
  }
}

function run(segments: Record<string, Condition>, steps: Step[]): void {
  const engine = new Engine(segments);
  for (const step of steps) {
    engine.step(step);
    const where = `at ${step.at}${step.send ? ' (events)' : ' (sweep)'}`;
    for (const id of step.in ?? []) expect(engine.members, `${where}: in ${id}`).toContain(id);
    for (const id of step.out ?? []) expect(engine.members, `${where}: out of ${id}`).not.toContain(id);
    if (step.due !== undefined) expect(engine.due, `${where}: due`).toBe(step.due);
  }
}

const DAY = 86_400_000;
const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

describe('first and last performed, across the coarsening of old days into weeks', () => {
  // A Wednesday afternoon: its week bucket is keyed by another day, which once read as the order's day.
  const order = '2026-01-07T15:30:00.000Z';
  const lapsed: Condition = { type: 'performed_date', event: 'Order Completed', which: 'last', operator: 'date_before', value: { daysAgo: 90 } };
  const newcomer: Condition = { type: 'performed_date', event: 'Order Completed', which: 'first', operator: 'date_after', value: { daysAgo: 60 } };

  it('keeps the daily counts of the last 35 days only', () => {
    expect(PROFILE_LIMITS.dailyDays).toBe(35);
  });

  it('"last order more than 90 days ago" starts the millisecond after 90 x 24 h', () => {
    run({ lapsed }, [
      { at: order, send: [{ event: 'Order Completed', channel: 'store' }], out: ['lapsed'], due: plus(order, 90 * DAY + 1) },
      // A page view 40 days on folds the order's day into its week.
      { at: plus(order, 40 * DAY), send: [{ event: 'Page Viewed', type: 'page' }], out: ['lapsed'], due: plus(order, 90 * DAY + 1) },
      { at: plus(order, 87 * DAY), out: ['lapsed'] },
      { at: plus(order, 90 * DAY), out: ['lapsed'] },
      { at: plus(order, 90 * DAY + 1), in: ['lapsed'], due: null },
      // A new order ends it at once, and the next 90 days start from it.
      { at: plus(order, 100 * DAY), send: [{ event: 'Order Completed', channel: 'web' }], out: ['lapsed'], due: plus(order, 190 * DAY + 1) },
    ]);
  });

  it('"first order in the last 60 days" ends exactly 60 x 24 h after the first, whatever came later', () => {
    run({ newcomer }, [
      { at: order, send: [{ event: 'Order Completed' }], in: ['newcomer'], due: plus(order, 60 * DAY) },
      { at: plus(order, 50 * DAY), send: [{ event: 'Order Completed' }], in: ['newcomer'] },
      { at: plus(order, 60 * DAY - 1), in: ['newcomer'] },
      { at: plus(order, 60 * DAY), out: ['newcomer'], due: null },
    ]);
  });

  it('"stopped ordering": ordered in the last 90 days, not in the last 30, to the millisecond', () => {
    const stopped: Condition = { type: 'stopped', event: 'Order Completed', recent: { days: 30 }, before: { days: 90 } };
    run({ stopped }, [
      { at: order, send: [{ event: 'Order Completed' }], out: ['stopped'], due: plus(order, 30 * DAY) },
      { at: plus(order, 30 * DAY - 1), out: ['stopped'] },
      { at: plus(order, 30 * DAY), in: ['stopped'], due: plus(order, 90 * DAY) },
      { at: plus(order, 45 * DAY), send: [{ event: 'Page Viewed', type: 'page' }], in: ['stopped'] },
      { at: plus(order, 90 * DAY - 1), in: ['stopped'] },
      { at: plus(order, 90 * DAY), out: ['stopped'], due: null },
    ]);
  });

  it('"restarted": an order after a 60-day gap, the one before it long coarsened', () => {
    const restarted: Condition = { type: 'restarted', event: 'Order Completed', recent: { days: 7 }, gap: { days: 60 } };
    run({ restarted }, [
      { at: order, send: [{ event: 'Order Completed' }], out: ['restarted'] },
      { at: plus(order, 66 * DAY), send: [{ event: 'Order Completed' }], out: ['restarted'] }, // the gap is 66 days, but the first order is inside recent + gap
      { at: plus(order, 80 * DAY), send: [{ event: 'Order Completed' }], out: ['restarted'] },
      { at: plus(order, 170 * DAY), send: [{ event: 'Order Completed' }], in: ['restarted'], due: plus(order, 177 * DAY) },
      { at: plus(order, 177 * DAY - 1), in: ['restarted'] },
      { at: plus(order, 177 * DAY), out: ['restarted'] },
    ]);
  });
});

describe('rolling windows: the last N x 24 h at the evaluation instant', () => {
  const visit = '2026-03-15T09:41:27.000Z';

  it('"visited in the last 7 days" ends 7 x 24 h after the visit, not at a midnight', () => {
    const recent: Condition = { type: 'event', event: 'Page Viewed', within: { days: 7 } };
    run({ recent }, [
      { at: visit, send: [{ type: 'page', event: undefined }], in: ['recent'], due: plus(visit, 7 * DAY) },
      { at: plus(visit, 7 * DAY - 1), in: ['recent'] },
      { at: plus(visit, 7 * DAY), out: ['recent'], due: null },
    ]);
  });

  it('counts and sums over the window, the oldest part of it already coarsened', () => {
    const spenders: Condition = { type: 'event', event: 'Order Completed', count: { operator: 'gte', value: 2 }, aggregate: { fn: 'sum', property: 'revenue', operator: 'gte', value: 100 }, within: { days: 60 } };
    run({ spenders }, [
      { at: visit, send: [{ event: 'Order Completed', properties: { revenue: 60 } }], out: ['spenders'] },
      { at: plus(visit, 10 * DAY), send: [{ event: 'Order Completed', properties: { revenue: 45 } }], in: ['spenders'], due: plus(visit, 60 * DAY) },
      // 40 days on, the first order's day is in a week bucket: its exact time is still known at the edge.
      { at: plus(visit, 40 * DAY), send: [{ event: 'Page Viewed', type: 'page' }], in: ['spenders'] },
      { at: plus(visit, 60 * DAY - 1), in: ['spenders'] },
      { at: plus(visit, 60 * DAY), out: ['spenders'] },
      // A third order brings it back: 45 + 70 within 60 days.
      { at: plus(visit, 65 * DAY), send: [{ event: 'Order Completed', properties: { revenue: 70 } }], in: ['spenders'], due: plus(visit, 70 * DAY) },
      { at: plus(visit, 70 * DAY), out: ['spenders'] },
    ]);
  });

  it('the window is half-open: an event exactly N x 24 h old is out', () => {
    const lastDay: Condition = { type: 'event', event: 'Order Completed', within: { days: 1 } };
    run({ lastDay }, [
      { at: plus(visit, DAY), send: [{ event: 'Order Completed', at: visit }], out: ['lastDay'], due: null },
      { at: plus(visit, DAY), send: [{ event: 'Order Completed', at: plus(visit, 1000) }], in: ['lastDay'], due: plus(visit, DAY + 1000) },
    ]);
  });

  it('minutes: "in the last 30 minutes" ends at the 30th minute', () => {
    const now: Condition = { type: 'event', event: 'Product Viewed', within: { minutes: 30 } };
    run({ now }, [
      { at: visit, send: [{ event: 'Product Viewed' }], in: ['now'], due: plus(visit, 30 * 60_000) },
      { at: plus(visit, 30 * 60_000 - 1), in: ['now'] },
      { at: plus(visit, 30 * 60_000), out: ['now'] },
    ]);
  });
});

describe('calendar windows: whole UTC days, today included', () => {
  it('"today" ends at midnight UTC, whatever the hour of the visit', () => {
    const today: Condition = { type: 'event', event: 'Page Viewed', within: { days: 1, calendar: true } };
    run({ today }, [
      { at: '2026-03-15T23:59:59.000Z', send: [{ type: 'page' }], in: ['today'], due: '2026-03-16T00:00:00.000Z' },
      { at: '2026-03-15T23:59:59.999Z', in: ['today'] },
      { at: '2026-03-16T00:00:00.000Z', out: ['today'], due: null },
    ]);
  });

  it('"this week" (7 calendar days) keeps a Monday-morning visit until the 7th midnight', () => {
    const week: Condition = { type: 'event', event: 'Page Viewed', within: { days: 7, calendar: true } };
    run({ week }, [
      { at: '2026-03-16T00:00:01.000Z', send: [{ type: 'page' }], in: ['week'], due: '2026-03-23T00:00:00.000Z' },
      { at: '2026-03-22T23:59:59.999Z', in: ['week'] },
      { at: '2026-03-23T00:00:00.000Z', out: ['week'] },
    ]);
  });
});

describe('any event', () => {
  it('"active on the web in the last hour" takes an event name no one listed, and not the app', () => {
    const active: Condition = { type: 'event', channel: 'web', within: { hours: 1 } };
    const at = '2026-03-15T10:00:00.000Z';
    run({ active }, [
      { at, send: [{ event: 'Loyalty Card Scanned', channel: 'app' }], out: ['active'], due: null },
      { at: plus(at, 60_000), send: [{ event: 'Brand New Widget Clicked', channel: 'web' }], in: ['active'], due: plus(at, 61 * 60_000) },
      // Identify calls are not behaviour.
      { at: plus(at, 30 * 60_000), send: [{ type: 'identify', event: undefined, traits: { tier: 'gold' }, channel: 'web' }], in: ['active'], due: plus(at, 61 * 60_000) },
      { at: plus(at, 61 * 60_000), out: ['active'] },
    ]);
  });

  it('"last seen more than 30 days ago" reads the last event of any name', () => {
    const dormant: Condition = { type: 'performed_date', which: 'last', operator: 'date_before', value: { daysAgo: 30 } };
    const at = '2026-03-15T10:00:00.000Z';
    run({ dormant }, [
      { at, send: [{ event: 'Order Completed' }], out: ['dormant'] },
      { at: plus(at, 20 * DAY), send: [{ event: 'Newsletter Clicked', channel: 'email' }], out: ['dormant'], due: plus(at, 50 * DAY + 1) },
      { at: plus(at, 50 * DAY + 1), in: ['dormant'] },
    ]);
  });
});

describe('text comparisons', () => {
  it('ignore case unless the condition asks for the exact case', () => {
    const vip: Condition = { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' };
    const exactVip: Condition = { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip', caseSensitive: true };
    const coupon: Condition = { type: 'event', event: 'Coupon Redeemed', where: [{ property: 'code', operator: 'eq', value: 'SPRING', caseSensitive: true }] };
    const at = '2026-03-15T10:00:00.000Z';
    run({ vip, exactVip, coupon }, [
      { at, send: [{ type: 'identify', event: undefined, traits: { tier: 'VIP' } }], in: ['vip'], out: ['exactVip'] },
      { at, send: [{ type: 'identify', event: undefined, traits: { tier: 'vip' } }], in: ['vip', 'exactVip'] },
      { at, send: [{ event: 'Coupon Redeemed', properties: { code: 'spring' } }], out: ['coupon'] },
      { at, send: [{ event: 'Coupon Redeemed', properties: { code: 'SPRING' } }], in: ['coupon'] },
    ]);
  });
});

describe('sequences', () => {
  const webinarThenPricing: Condition = {
    type: 'sequence',
    steps: [{ event: 'Webinar Attended' }, { event: 'Page Viewed', where: [{ property: 'name', operator: 'eq', value: 'Pricing' }] }],
    within: { hours: 24 },
  };
  const at = '2026-03-15T10:00:00.000Z';

  it('take a next step from the same second on, and refuse one before', () => {
    run({ webinarThenPricing }, [
      { at, send: [{ type: 'page', event: undefined, properties: { name: 'Pricing' }, at: plus(at, -1000) }], out: ['webinarThenPricing'] },
      { at, send: [{ event: 'Webinar Attended' }], out: ['webinarThenPricing'] },
      { at, send: [{ type: 'page', event: undefined, properties: { name: 'Pricing' } }], in: ['webinarThenPricing'], due: null },
    ]);
  });

  it('refuse a next step a second past the gap', () => {
    run({ webinarThenPricing }, [
      { at, send: [{ event: 'Webinar Attended' }], out: ['webinarThenPricing'] },
      { at: plus(at, DAY + 1000), send: [{ type: 'page', event: undefined, properties: { name: 'Pricing' } }], out: ['webinarThenPricing'] },
      { at: plus(at, DAY + 2000), send: [{ event: 'Webinar Attended', at }, { type: 'page', event: undefined, properties: { name: 'Pricing' }, at: plus(at, DAY) }], in: ['webinarThenPricing'] },
    ]);
  });
});
