/** Groups (accounts): their traits, a profile's list of them, and segment conditions and exports on them. */
import { describe, expect, it } from 'vitest';
import { decodeProfile, encodeProfile } from '#shared/adapters/dynamodb/profile-codec';
import { audienceInputSchema } from '#shared/domain/audiences';
import { explain } from '#shared/domain/explain';
import { foldEvents, groupIdsOf } from '#shared/domain/fold';
import { foldGroupCalls, GROUP_LIMITS, newGroup } from '#shared/domain/groups';
import { compileRules, evaluateMemberships } from '#shared/domain/memberships';
import { mergeProfiles } from '#shared/domain/merge';
import { newProfile, PROFILE_LIMITS } from '#shared/domain/profile';
import { compile } from '#shared/domain/segment-compiler';
import { type Condition, conditionSchema, type Segment } from '#shared/domain/segment-definition';
import { dependenciesOf } from '#shared/domain/segment-dependencies';
import { fieldValue } from '#shared/domain/snapshot-rows';
import { anEvent } from '../helpers/events';

const now = Date.parse('2026-03-15T12:00:00.000Z');
const groupCall = (groupId: string, traits: Record<string, unknown>, at = '2026-03-15T10:00:00.000Z') =>
  anEvent({ type: 'group', event: undefined, groupId, traits, at });

describe('a group call on the profile', () => {
  it('lists the group on the person and leaves their traits untouched', () => {
    const identify = anEvent({ type: 'identify', event: undefined, traits: { name: 'Ada', plan: 'pro' }, at: '2026-03-15T09:00:00.000Z' });
    const { profile } = foldEvents(
      newProfile('p1', identify.timestamp),
      [identify, groupCall('acme', { name: 'Acme', employees: 120 })],
      [],
      now,
    );
    expect(profile.traits).toEqual({ name: 'Ada', plan: 'pro' });
    expect(groupIdsOf(profile)).toEqual(['acme']);
    expect(profile.groups!.acme).toBe(Date.parse('2026-03-15T10:00:00.000Z'));
  });

  it('keeps the most recently joined groups only, whatever the order the calls arrive in', () => {
    const calls = Array.from({ length: PROFILE_LIMITS.groups + 3 }, (_, i) =>
      groupCall(`g${i}`, {}, new Date(Date.UTC(2026, 2, 1 + i)).toISOString()),
    );
    const inOrder = foldEvents(newProfile('p1', calls[0]!.timestamp), calls, [], now).profile;
    const reversed = foldEvents(newProfile('p1', calls[0]!.timestamp), [...calls].reverse(), [], now).profile;
    expect(groupIdsOf(inOrder)).toEqual(
      calls
        .slice(3)
        .map((c) => c.groupId)
        .reverse(),
    );
    expect(reversed.groups).toEqual(inOrder.groups);
  });

  it("survives a merge (both profiles' groups, the newest kept) and the stored form", () => {
    const a = foldEvents(
      newProfile('p_a', '2026-03-01T00:00:00.000Z'),
      [groupCall('acme', {}, '2026-03-02T00:00:00.000Z')],
      [],
      now,
    ).profile;
    const b = foldEvents(
      newProfile('p_b', '2026-03-01T00:00:00.000Z'),
      [groupCall('globex', {}, '2026-03-03T00:00:00.000Z'), groupCall('acme', {}, '2026-03-04T00:00:00.000Z')],
      [],
      now,
    ).profile;
    const merged = mergeProfiles(a, b, now);
    expect(groupIdsOf(merged)).toEqual(['acme', 'globex']);
    expect(merged.groups!.acme).toBe(Date.parse('2026-03-04T00:00:00.000Z'));
    expect(decodeProfile(encodeProfile(merged) as unknown as Record<string, unknown>).groups).toEqual(merged.groups);
  });
});

describe('group traits', () => {
  it('keep the latest value per trait, in any order, and a repeated call changes nothing', () => {
    const older = groupCall('acme', { employees: 40, plan: 'trial' }, '2026-03-01T00:00:00.000Z');
    const newer = groupCall('acme', { employees: 120 }, '2026-03-10T00:00:00.000Z');
    const inOrder = foldGroupCalls(newGroup('acme'), [older, newer]);
    const reversed = foldGroupCalls(newGroup('acme'), [newer, older]);
    expect(inOrder.group.traits).toEqual({ employees: 120, plan: 'trial' });
    expect(reversed.group.traits).toEqual(inOrder.group.traits);
    expect(foldGroupCalls(inOrder.group, [older, newer]).changed).toEqual([]);
    // Another group's calls are not this one's.
    expect(foldGroupCalls(newGroup('globex'), [older]).changed).toEqual([]);
  });

  it('treat names such as __proto__ and constructor as plain data', () => {
    const { group } = foldGroupCalls(newGroup('acme'), [
      groupCall('acme', JSON.parse('{"__proto__": {"polluted": 1}, "constructor": "x"}') as Record<string, unknown>),
    ]);
    expect(Object.keys(group.traits).sort()).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(group.traits)).toBeNull();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('stay bounded in count and size, and say so', () => {
    const many = Object.fromEntries(Array.from({ length: GROUP_LIMITS.traits + 2 }, (_, i) => [`t${i}`, i]));
    const { group, limits } = foldGroupCalls(newGroup('acme'), [
      groupCall('acme', { ...many, big: 'x'.repeat(GROUP_LIMITS.traitBytes + 1) }),
    ]);
    expect(Object.keys(group.traits)).toHaveLength(GROUP_LIMITS.traits);
    expect(limits.map((l) => l.limit)).toContain('traits');
  });
});

describe('group conditions', () => {
  const bigCompany: Condition = { type: 'group', trait: 'employees', operator: 'gt', value: 50 };
  const profile = foldEvents(newProfile('p1', '2026-03-15T10:00:00.000Z'), [groupCall('small', {}), groupCall('big', {})], [], now).profile;

  it("hold when at least one of the profile's groups has the trait matching", () => {
    const matches = compile(bigCompany);
    expect(matches(profile, now, new Set(), undefined, [{ employees: 12 }, { employees: 120 }])).toBe(true);
    expect(matches(profile, now, new Set(), undefined, [{ employees: 12 }, { name: 'Acme' }])).toBe(false);
    // No group (or a caller that did not read them): nothing holds, not even a negation's inner part.
    expect(matches(profile, now, new Set(), undefined, [])).toBe(false);
    expect(matches(profile, now, new Set(), undefined, undefined)).toBe(false);
    const inAnd = compile({
      type: 'and',
      conditions: [bigCompany, { type: 'not', condition: { type: 'group', trait: 'plan', operator: 'eq', value: 'trial' } }],
    });
    expect(inAnd(profile, now, new Set(), undefined, [{ employees: 120, plan: 'enterprise' }])).toBe(true);
    expect(inAnd(profile, now, new Set(), undefined, [{ employees: 120, plan: 'trial' }])).toBe(false);
  });

  it('are validated like trait comparisons and named in the dependencies', () => {
    expect(conditionSchema.safeParse(bigCompany).success).toBe(true);
    const wrong = conditionSchema.safeParse({ type: 'group', trait: 'employees', operator: 'between', value: 5 });
    expect(wrong.success).toBe(false);
    expect(wrong.error?.issues[0]?.path).toEqual(['value']);
    expect(dependenciesOf(bigCompany)).toMatchObject({ groupTraits: ['employees'], traits: [], time: false });
    const segment = (id: string, condition: Condition): Segment => ({
      id,
      name: id,
      condition,
      revision: 1,
      languageVersion: 1,
      status: 'ready',
      createdAt: '',
      updatedAt: '',
    });
    expect(compileRules([segment('big', bigCompany)]).needsGroups).toBe(true);
    expect(compileRules([segment('vip', { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' })]).needsGroups).toBe(false);
  });

  it('are re-evaluated on a group call, not on other events', () => {
    const catalog = compileRules([
      { id: 'big', name: 'big', condition: bigCompany, revision: 1, languageVersion: 1, status: 'ready', createdAt: '', updatedAt: '' },
    ]);
    const groups = [{ employees: 120 }];
    const unrelated = evaluateMemberships(
      profile,
      catalog.segments,
      now,
      { events: new Set(['Order Completed']), traits: new Set() },
      'events',
      undefined,
      groups,
    );
    expect(unrelated.transitions).toEqual([]);
    const joined = evaluateMemberships(
      profile,
      catalog.segments,
      now,
      { events: new Set(), traits: new Set(), groups: true },
      'events',
      undefined,
      groups,
    );
    expect(joined.transitions.map((t) => [t.segmentId, t.change])).toEqual([['big', 'entered']]);
  });

  it("are explained with each group's value", () => {
    const explanation = explain(bigCompany, profile, now, new Set(), undefined, [
      { groupId: 'small', traits: { employees: 12 } },
      { groupId: 'big', traits: { employees: 120 } },
    ]);
    expect(explanation.held).toBe(true);
    expect(explanation.seen).toEqual({
      groups: [
        { groupId: 'small', value: 12 },
        { groupId: 'big', value: 120 },
      ],
    });
  });
});

describe('exported group fields', () => {
  it('give the group ids, and a trait of the most recently joined group that has it', () => {
    const profile = foldEvents(
      newProfile('p1', '2026-03-01T00:00:00.000Z'),
      [groupCall('acme', {}, '2026-03-01T00:00:00.000Z'), groupCall('globex', {}, '2026-03-02T00:00:00.000Z')],
      [],
      now,
    ).profile;
    const traits = [{ employees: 8 }, { name: 'Acme', employees: 120 }]; // globex first: joined last
    expect(fieldValue(profile, 'groups')).toBe('globex;acme');
    expect(fieldValue(profile, 'groups.name', undefined, traits)).toBe('Acme');
    expect(fieldValue(profile, 'groups.employees', undefined, traits)).toBe(8);
    expect(fieldValue(newProfile('p2', ''), 'groups')).toBeUndefined();
    expect(audienceInputSchema.safeParse({ name: 'a', segmentId: 's', fields: ['groups', 'groups.name'] }).success).toBe(true);
    expect(audienceInputSchema.safeParse({ name: 'a', segmentId: 's', fields: ['groups.'] }).success).toBe(false);
  });
});
