/**
 * Segment conditions, one operator and edge at a time, then memberships and history. Long because the
 * language has many forms and each has its edges; the timeline cases are in engine-steps.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { foldEvents } from '#shared/domain/fold';
import { itemSize } from '#shared/domain/item-size';
import { compileSegment, evaluateMemberships } from '#shared/domain/memberships';
import { newProfile, type Profile } from '#shared/domain/profile';
import { compile } from '#shared/domain/segment-compiler';
import { type Condition, conditionSchema, type Segment } from '#shared/domain/segment-definition';
import { dependenciesOf, orderByDependencies, SegmentGraphError, segmentReferences } from '#shared/domain/segment-dependencies';
import { bucketOf } from '#shared/domain/segment-events';
import { segmentHistory } from '#shared/domain/segment-history';
import { DAY_MS } from '#shared/domain/time';
import { packPending, pendingTransitions } from '#shared/domain/transitions';
import { anEvent } from '../helpers/events';

const now = Date.parse('2026-03-15T12:00:00.000Z');
const daysAgo = (days: number) => new Date(now - days * DAY_MS).toISOString();

function profileWith(traits: Record<string, unknown>, events: Parameters<typeof anEvent>[0][] = []): Profile {
  const base = newProfile('p1', daysAgo(300));
  const identify = anEvent({ type: 'identify', event: undefined, traits, at: daysAgo(300) });
  return foldEvents(base, [identify, ...events.map((e) => anEvent(e))], [], now).profile;
}

// Seed 001: "VIP customers who bought at least twice in store in the last 6 months".
const vipStoreBuyers: Condition = {
  type: 'and',
  conditions: [
    { type: 'trait', trait: 'tier', operator: 'eq', value: 'VIP' },
    { type: 'event', event: 'Order Completed', channel: 'store', count: { operator: 'gte', value: 2 }, within: { days: 180 } },
  ],
};

describe('segment conditions', () => {
  const cases: Array<{ description: string; condition: Condition; profile: Profile; expected: boolean }> = [
    {
      description: 'VIP with two store orders in 6 months is in',
      condition: vipStoreBuyers,
      profile: profileWith({ tier: 'vip' }, [
        { channel: 'store', at: daysAgo(10) },
        { channel: 'store', at: daysAgo(170) },
      ]),
      expected: true,
    },
    {
      description: 'an order older than 6 months does not count',
      condition: vipStoreBuyers,
      profile: profileWith({ tier: 'VIP' }, [
        { channel: 'store', at: daysAgo(10) },
        { channel: 'store', at: daysAgo(200) },
      ]),
      expected: false,
    },
    {
      description: 'web orders do not count for a store condition',
      condition: vipStoreBuyers,
      profile: profileWith({ tier: 'VIP' }, [
        { channel: 'web', at: daysAgo(1) },
        { channel: 'web', at: daysAgo(2) },
      ]),
      expected: false,
    },
    {
      description: 'not VIP is out whatever the orders',
      condition: vipStoreBuyers,
      profile: profileWith({ tier: 'standard' }, [
        { channel: 'store', at: daysAgo(1) },
        { channel: 'store', at: daysAgo(2) },
      ]),
      expected: false,
    },
    {
      description: 'or: either branch is enough',
      condition: {
        type: 'or',
        conditions: [
          { type: 'trait', trait: 'city', operator: 'eq', value: 'Nice' },
          { type: 'trait', trait: 'age', operator: 'gte', value: 30 },
        ],
      },
      profile: profileWith({ city: 'Paris', age: 31 }),
      expected: true,
    },
    {
      description: 'not: negates',
      condition: { type: 'not', condition: { type: 'trait', trait: 'city', operator: 'exists' } },
      profile: profileWith({ city: 'Paris' }),
      expected: false,
    },
    {
      description: 'numeric comparison on a numeric string',
      condition: { type: 'trait', trait: 'age', operator: 'lt', value: 18 },
      profile: profileWith({ age: '17' }),
      expected: true,
    },
    {
      description: 'in: list membership, case-insensitive',
      condition: { type: 'trait', trait: 'city', operator: 'in', value: ['nice', 'cannes'] },
      profile: profileWith({ city: 'Nice' }),
      expected: true,
    },
    {
      description: 'not_in is false for a missing trait',
      condition: { type: 'trait', trait: 'city', operator: 'not_in', value: ['nice'] },
      profile: profileWith({}),
      expected: false,
    },
    {
      description: 'contains on a string',
      condition: { type: 'trait', trait: 'company', operator: 'contains', value: 'acme' },
      profile: profileWith({ company: 'ACME Corp' }),
      expected: true,
    },
    {
      description: 'fewer than N times in the window, counting zero',
      condition: { type: 'event', event: 'Email Opened', count: { operator: 'lt', value: 1 }, within: { days: 30 } },
      profile: profileWith({}, [{ event: 'Email Opened', channel: 'email', at: daysAgo(40) }]),
      expected: true,
    },
    {
      description: 'exactly N times on any of several channels, ever',
      condition: { type: 'event', event: 'Order Completed', channel: ['store', 'call_center'], count: { operator: 'eq', value: 2 } },
      profile: profileWith({}, [
        { channel: 'store', at: daysAgo(300) },
        { channel: 'call_center', at: daysAgo(1) },
        { channel: 'web', at: daysAgo(1) },
      ]),
      expected: true,
    },
    {
      description: 'between two numbers, inclusive',
      condition: { type: 'trait', trait: 'age', operator: 'between', value: [30, 40] },
      profile: profileWith({ age: 40 }),
      expected: true,
    },
    {
      description: 'between two dates',
      condition: { type: 'trait', trait: 'signedUpAt', operator: 'between', value: ['2026-01-01T00:00:00Z', '2026-01-31T23:59:59Z'] },
      profile: profileWith({ signedUpAt: '2026-01-15T10:00:00Z' }),
      expected: true,
    },
    {
      description: 'starts_with, case-insensitive',
      condition: { type: 'trait', trait: 'postcode', operator: 'starts_with', value: '06' },
      profile: profileWith({ postcode: '06000' }),
      expected: true,
    },
    {
      description: 'regex on a string trait',
      condition: { type: 'trait', trait: 'company', operator: 'regex', value: '^acme( corp)?$' },
      profile: profileWith({ company: 'ACME Corp' }),
      expected: true,
    },
    {
      description: '"signed up more than 30 days ago"',
      condition: { type: 'trait', trait: 'signedUpAt', operator: 'date_before', value: { daysAgo: 30 } },
      profile: profileWith({ signedUpAt: daysAgo(31) }),
      expected: true,
    },
    {
      description: '"signed up more than 30 days ago" is false for 29 days',
      condition: { type: 'trait', trait: 'signedUpAt', operator: 'date_before', value: { daysAgo: 30 } },
      profile: profileWith({ signedUpAt: daysAgo(29) }),
      expected: false,
    },
    {
      description: 'date_after an absolute date, epoch milliseconds trait',
      condition: { type: 'trait', trait: 'lastLogin', operator: 'date_after', value: '2026-03-01T00:00:00Z' },
      profile: profileWith({ lastLogin: Date.parse('2026-03-02T00:00:00Z') }),
      expected: true,
    },
    {
      description: 'a date condition on a trait that is not a date is false',
      condition: { type: 'trait', trait: 'lastLogin', operator: 'date_after', value: { daysAgo: 10 } },
      profile: profileWith({ lastLogin: 'yesterday' }),
      expected: false,
    },
    {
      description: '"last purchase more than 90 days ago"',
      condition: { type: 'performed_date', event: 'Order Completed', which: 'last', operator: 'date_before', value: { daysAgo: 90 } },
      profile: profileWith({}, [
        { channel: 'store', at: daysAgo(120) },
        { channel: 'web', at: daysAgo(95) },
      ]),
      expected: true,
    },
    {
      description: '"last purchase more than 90 days ago" is false after a recent one',
      condition: { type: 'performed_date', event: 'Order Completed', which: 'last', operator: 'date_before', value: { daysAgo: 90 } },
      profile: profileWith({}, [
        { channel: 'store', at: daysAgo(120) },
        { channel: 'web', at: daysAgo(10) },
      ]),
      expected: false,
    },
    {
      description: '"last purchase more than 90 days ago" is false for someone who never bought',
      condition: { type: 'performed_date', event: 'Order Completed', which: 'last', operator: 'date_before', value: { daysAgo: 90 } },
      profile: profileWith({}),
      expected: false,
    },
    {
      description: 'first performed in store after a date',
      condition: {
        type: 'performed_date',
        event: 'Order Completed',
        channel: 'store',
        which: 'first',
        operator: 'date_after',
        value: { daysAgo: 60 },
      },
      profile: profileWith({}, [
        { channel: 'store', at: daysAgo(50) },
        { channel: 'web', at: daysAgo(100) },
      ]),
      expected: true,
    },
    {
      description: 'stopped: bought in the last 180 days, not in the last 60',
      condition: { type: 'stopped', event: 'Order Completed', recent: { days: 60 }, before: { days: 180 } },
      profile: profileWith({}, [{ at: daysAgo(100) }]),
      expected: true,
    },
    {
      description: 'stopped is false while still buying',
      condition: { type: 'stopped', event: 'Order Completed', recent: { days: 60 }, before: { days: 180 } },
      profile: profileWith({}, [{ at: daysAgo(100) }, { at: daysAgo(5) }]),
      expected: false,
    },
    {
      description: 'stopped is false for someone who never bought',
      condition: { type: 'stopped', event: 'Order Completed', recent: { days: 60 }, before: { days: 180 } },
      profile: profileWith({}),
      expected: false,
    },
    {
      description: 'restarted: bought this week, not in the 90 days before, but earlier',
      condition: { type: 'restarted', event: 'Order Completed', channel: 'store', recent: { days: 7 }, gap: { days: 90 } },
      profile: profileWith({}, [
        { channel: 'store', at: daysAgo(2) },
        { channel: 'store', at: daysAgo(150) },
      ]),
      expected: true,
    },
    {
      description: 'restarted is false for a first purchase',
      condition: { type: 'restarted', event: 'Order Completed', channel: 'store', recent: { days: 7 }, gap: { days: 90 } },
      profile: profileWith({}, [{ channel: 'store', at: daysAgo(2) }]),
      expected: false,
    },
    {
      description: 'restarted is false for a regular buyer',
      condition: { type: 'restarted', event: 'Order Completed', channel: 'store', recent: { days: 7 }, gap: { days: 90 } },
      profile: profileWith({}, [
        { channel: 'store', at: daysAgo(2) },
        { channel: 'store', at: daysAgo(40) },
        { channel: 'store', at: daysAgo(150) },
      ]),
      expected: false,
    },
    {
      description: 'pages count as "Page Viewed"',
      condition: { type: 'event', event: 'Page Viewed', within: { days: 3 } },
      profile: profileWith({}, [{ type: 'page', event: undefined, at: daysAgo(2) }]),
      expected: true,
    },
  ];

  it.each(cases)('$description', ({ condition, profile, expected }) => {
    expect(conditionSchema.parse(condition)).toEqual(condition);
    expect(compile(condition)(profile, now, new Set())).toBe(expected);
  });

  it('a rolling window moves with time: the membership ends without a new event', () => {
    const condition: Condition = { type: 'event', event: 'Page Viewed', within: { days: 7 } };
    const profile = profileWith({}, [{ type: 'page', event: undefined, at: daysAgo(0) }]);
    const matches = compile(condition);
    expect(matches(profile, now, new Set())).toBe(true);
    expect(matches(profile, now + 6 * DAY_MS, new Set())).toBe(true);
    expect(matches(profile, now + 7 * DAY_MS, new Set())).toBe(false);
  });

  it.each([
    [{ type: 'trait', trait: 'x', operator: 'between', value: [1] }, 'value', 'must be [low, high]'],
    [{ type: 'trait', trait: 'x', operator: 'regex', value: '(a+)+$' }, 'value', 'exponential'],
    [{ type: 'trait', trait: 'x', operator: 'regex', value: '([' }, 'value', 'not a valid pattern'],
    [{ type: 'trait', trait: 'x', operator: 'date_before', value: 'last tuesday' }, 'value', 'ISO-8601'],
    [{ type: 'trait', trait: 'x', operator: 'exists', value: 1 }, 'value', 'must be absent'],
    [{ type: 'bucket', from: 50, to: 10 }, 'to', 'greater than from'],
    [{ type: 'stopped', event: 'X', recent: { days: 60 }, before: { days: 30 } }, 'before', 'longer than recent'],
    [{ type: 'segment', segment: 'Not An Id' }, 'segment', 'segment id'],
  ])('rejects %j at %s', (condition, path, message) => {
    const result = conditionSchema.safeParse(condition);
    expect(result.success).toBe(false);
    expect(result.error!.issues).toContainEqual(expect.objectContaining({ path: [path], message: expect.stringContaining(message) }));
  });

  it('splits profiles into stable, even buckets', () => {
    const holdout = compile({ type: 'bucket', from: 0, to: 10, salt: 'holdout-2026' });
    const profiles = Array.from({ length: 10_000 }, (_, i) => ({ ...newProfile(`p_${i}`, daysAgo(1)) }));
    const inHoldout = profiles.filter((p) => holdout(p, now, new Set())).length;
    expect(inHoldout).toBeGreaterThan(900);
    expect(inHoldout).toBeLessThan(1100);
    expect(profiles.filter((p) => holdout(p, now + DAY_MS, new Set())).length).toBe(inHoldout);
    // Another salt draws another, independent split.
    const other = profiles.filter((p) => bucketOf(p.profileId, 'other-test') < 10 && bucketOf(p.profileId, 'holdout-2026') < 10).length;
    expect(other).toBeLessThan(200);
    expect(new Set(profiles.slice(0, 200).map((p) => bucketOf(p.profileId, 'x'))).size).toBeGreaterThan(80);
  });

  it('rejects invalid trees with the path of the problem', () => {
    const result = conditionSchema.safeParse({
      type: 'and',
      conditions: [
        { type: 'trait', trait: 'tier', operator: 'in', value: 'VIP' },
        { type: 'event', event: 'X', within: { days: 0 } },
      ],
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toContain('conditions.0.value');
    expect(paths).toContain('conditions.1.within.days');
    expect(conditionSchema.safeParse({ type: 'sometimes' }).success).toBe(false);
  });
});

describe('segments of segments', () => {
  const def = (id: string, condition: Condition) => ({ id, condition });
  const inSegment = (segment: string): Condition => ({ type: 'segment', segment });

  it('orders segments after those they refer to', () => {
    const ordered = orderByDependencies([
      def('a', inSegment('b')),
      def('b', inSegment('c')),
      def('c', { type: 'trait', trait: 't', operator: 'exists' }),
    ]);
    expect(ordered.map((s) => s.id)).toEqual(['c', 'b', 'a']);
  });

  it('rejects a cycle, naming it, and a reference to an unknown segment', () => {
    expect(() => orderByDependencies([def('a', inSegment('b')), def('b', { type: 'not', condition: inSegment('a') })])).toThrow(
      'segments refer to each other in a cycle: a -> b -> a',
    );
    expect(() => orderByDependencies([def('a', inSegment('a'))])).toThrow('cycle: a -> a');
    expect(() => orderByDependencies([def('a', inSegment('ghost'))])).toThrow(SegmentGraphError);
    expect(
      segmentReferences({ type: 'and', conditions: [inSegment('x'), { type: 'or', conditions: [inSegment('y'), inSegment('x')] }] }),
    ).toEqual(['x', 'y']);
  });
});

describe('evaluateMemberships', () => {
  const segment = (id: string, condition: Condition): Segment => ({
    id,
    name: id,
    condition,
    revision: 1,
    languageVersion: 1,
    status: 'ready',
    createdAt: daysAgo(1),
    updatedAt: daysAgo(1),
  });

  it('reports entries and exits against the current memberships, with deterministic ids', () => {
    const profile = { ...profileWith({ tier: 'VIP' }), segments: ['old-one'] };
    const segments = [
      segment('vip', { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' }),
      segment('old-one', { type: 'trait', trait: 'tier', operator: 'eq', value: 'bronze' }),
    ].map(compileSegment);
    const first = evaluateMemberships(profile, segments, now);
    expect(first.segments).toEqual(['vip']);
    expect(first.transitions.map((t) => [t.segmentId, t.change])).toEqual([
      ['vip', 'entered'],
      ['old-one', 'exited'],
    ]);
    expect(evaluateMemberships(profile, segments, now).transitions.map((t) => t.id)).toEqual(first.transitions.map((t) => t.id));
  });

  it("keeps a write's transitions in the profile item compactly, and gives them back whole, ids included", () => {
    const profile = { ...profileWith({ tier: 'VIP' }), segments: ['old-one'], version: 6 };
    const segments = [
      segment('vip', { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' }),
      segment('old-one', { type: 'trait', trait: 'tier', operator: 'eq', value: 'bronze' }),
    ].map(compileSegment);
    const { transitions } = evaluateMemberships(profile, segments, now);
    const pending = packPending(transitions, profile.version)!;
    expect(pending).toEqual({ baseVersion: 6, at: now, reason: 'time', entered: { vip: 1 }, exited: { 'old-one': 1 } });
    // Stored with the write that makes version 7, and still right once a merge's marking has bumped the item to 8.
    expect(pendingTransitions({ profileId: profile.profileId, pending })).toEqual(transitions);
    expect(itemSize({ pending })).toBeLessThan(itemSize({ pending: transitions }) / 3);
    expect(packPending([], 6)).toBeUndefined();
    // A profile written before the outbox was compact keeps the transitions themselves.
    expect(pendingTransitions({ profileId: profile.profileId, pending: transitions as never })).toEqual(transitions);
  });

  it("evaluates a segment of segments against this pass's results", () => {
    const profile = profileWith({ tier: 'VIP', city: 'Nice' });
    const segments = orderByDependencies([
      segment('vip-outside-nice', {
        type: 'and',
        conditions: [
          { type: 'segment', segment: 'vip' },
          { type: 'segment', segment: 'nice', member: false },
        ],
      }),
      segment('vip-in-nice', {
        type: 'and',
        conditions: [
          { type: 'segment', segment: 'vip' },
          { type: 'segment', segment: 'nice' },
        ],
      }),
      segment('vip', { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' }),
      segment('nice', { type: 'trait', trait: 'city', operator: 'eq', value: 'nice' }),
    ]).map(compileSegment);
    expect(evaluateMemberships(profile, segments, now).segments).toEqual(['nice', 'vip', 'vip-in-nice']);
  });

  it('re-evaluates only the segments an event can affect, and those built on a segment that changed', () => {
    const calls: string[] = [];
    const spy = (seg: Segment) => {
      const compiled = compileSegment(seg);
      return {
        ...compiled,
        matches: (...args: Parameters<typeof compiled.matches>) => {
          calls.push(seg.id);
          return compiled.matches(...args);
        },
      };
    };
    const segments = orderByDependencies([
      segment('vip', { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' }),
      segment('buyers', { type: 'event', event: 'Order Completed' }),
      segment('recent-openers', { type: 'event', event: 'Email Opened', within: { days: 30 } }),
      segment('vip-buyers', {
        type: 'and',
        conditions: [
          { type: 'segment', segment: 'vip' },
          { type: 'segment', segment: 'buyers' },
        ],
      }),
      segment('holdout', { type: 'bucket', from: 0, to: 10 }),
    ]).map(spy);
    const profile = { ...profileWith({ tier: 'vip' }, [{ channel: 'store', at: daysAgo(2) }]), segments: ['vip'] };

    const result = evaluateMemberships(profile, segments, now, { events: new Set(['Order Completed']), traits: new Set() });
    expect(calls.sort()).toEqual(['buyers', 'recent-openers', 'vip-buyers']); // recent-openers: its window moves with time
    expect(result.segments).toEqual(['buyers', 'vip', 'vip-buyers']);

    calls.length = 0;
    evaluateMemberships({ ...profile, segments: result.segments }, segments, now, {
      events: new Set(['Page Viewed']),
      traits: new Set(['city']),
    });
    expect(calls).toEqual(['recent-openers']);
    expect(
      dependenciesOf({
        type: 'and',
        conditions: [
          { type: 'trait', trait: 'signedUpAt', operator: 'date_before', value: { daysAgo: 30 } },
          { type: 'segment', segment: 'vip' },
        ],
      }),
    ).toEqual({
      traits: ['signedUpAt'],
      events: [],
      segments: ['vip'],
      indicators: [],
      groupTraits: [],
      time: true,
    });
    // Indicators fade and count days: time-dependent, re-checked on every event.
    expect(dependenciesOf({ type: 'indicator', indicator: 'engagement_score', operator: 'gte', value: 50 })).toMatchObject({
      indicators: ['engagement_score'],
      time: true,
    });
  });

  it('keeps memberships of segments the caller does not know (a stale catalog never evicts)', () => {
    const profile = { ...profileWith({}), segments: ['created-later'] };
    const result = evaluateMemberships(profile, [], now);
    expect(result.segments).toEqual(['created-later']);
    expect(result.transitions).toEqual([]);
  });
});

describe('segmentHistory', () => {
  it("walks back from today's size through the daily entries and exits", () => {
    const history = segmentHistory(
      10,
      [
        { day: '2026-03-15', entered: 3, exited: 1 },
        { day: '2026-03-13', entered: 5, exited: 0 },
      ],
      4,
      now,
    );
    expect(history).toEqual([
      { day: '2026-03-12', entered: 0, exited: 0, size: 3 },
      { day: '2026-03-13', entered: 5, exited: 0, size: 8 },
      { day: '2026-03-14', entered: 0, exited: 0, size: 8 },
      { day: '2026-03-15', entered: 3, exited: 1, size: 10 },
    ]);
  });
});
