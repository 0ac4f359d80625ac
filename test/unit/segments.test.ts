import { describe, expect, it } from 'vitest';
import { DAY_MS, foldEvents, newProfile, type Profile } from '../../shared/domain/profile';
import { compile, compileSegment, conditionSchema, evaluateMemberships, type Condition, type Segment } from '../../shared/domain/segments';
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
      profile: profileWith({ tier: 'vip' }, [{ channel: 'store', at: daysAgo(10) }, { channel: 'store', at: daysAgo(170) }]),
      expected: true,
    },
    {
      description: 'an order older than 6 months does not count',
      condition: vipStoreBuyers,
      profile: profileWith({ tier: 'VIP' }, [{ channel: 'store', at: daysAgo(10) }, { channel: 'store', at: daysAgo(200) }]),
      expected: false,
    },
    {
      description: 'web orders do not count for a store condition',
      condition: vipStoreBuyers,
      profile: profileWith({ tier: 'VIP' }, [{ channel: 'web', at: daysAgo(1) }, { channel: 'web', at: daysAgo(2) }]),
      expected: false,
    },
    {
      description: 'not VIP is out whatever the orders',
      condition: vipStoreBuyers,
      profile: profileWith({ tier: 'standard' }, [{ channel: 'store', at: daysAgo(1) }, { channel: 'store', at: daysAgo(2) }]),
      expected: false,
    },
    {
      description: 'or: either branch is enough',
      condition: { type: 'or', conditions: [{ type: 'trait', trait: 'city', operator: 'eq', value: 'Nice' }, { type: 'trait', trait: 'age', operator: 'gte', value: 30 }] },
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
      profile: profileWith({}, [{ channel: 'store', at: daysAgo(300) }, { channel: 'call_center', at: daysAgo(1) }, { channel: 'web', at: daysAgo(1) }]),
      expected: true,
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
    expect(compile(condition)(profile, now)).toBe(expected);
  });

  it('a rolling window moves with time: the membership ends without a new event', () => {
    const condition: Condition = { type: 'event', event: 'Page Viewed', within: { days: 7 } };
    const profile = profileWith({}, [{ type: 'page', event: undefined, at: daysAgo(0) }]);
    const matches = compile(condition);
    expect(matches(profile, now)).toBe(true);
    expect(matches(profile, now + 6 * DAY_MS)).toBe(true);
    expect(matches(profile, now + 7 * DAY_MS)).toBe(false);
  });

  it('rejects invalid trees with the path of the problem', () => {
    const result = conditionSchema.safeParse({
      type: 'and',
      conditions: [{ type: 'trait', trait: 'tier', operator: 'in', value: 'VIP' }, { type: 'event', event: 'X', within: { days: 0 } }],
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toContain('conditions.0.value');
    expect(paths).toContain('conditions.1.within.days');
    expect(conditionSchema.safeParse({ type: 'sometimes' }).success).toBe(false);
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

  it('keeps memberships of segments the caller does not know (a stale catalog never evicts)', () => {
    const profile = { ...profileWith({}), segments: ['created-later'] };
    const result = evaluateMemberships(profile, [], now);
    expect(result.segments).toEqual(['created-later']);
    expect(result.transitions).toEqual([]);
  });
});
