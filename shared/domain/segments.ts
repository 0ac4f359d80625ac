/**
 * Segment definitions: a versioned, validated condition tree compiled once into
 * plain closures, then evaluated against profiles. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CHANNELS, type Channel } from './events';
import { aggregateKey, countSince, dayIndex, type Profile, type Transition } from './profile';

export const CONDITION_LANGUAGE_VERSION = 1;

export const TRAIT_OPERATORS = ['eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'in', 'not_in', 'contains', 'exists', 'not_exists'] as const;
export type TraitOperator = (typeof TRAIT_OPERATORS)[number];
export const COUNT_OPERATORS = ['gte', 'gt', 'eq', 'lte', 'lt'] as const;
export type CountOperator = (typeof COUNT_OPERATORS)[number];

export interface AndCondition { type: 'and'; conditions: Condition[] }
export interface OrCondition { type: 'or'; conditions: Condition[] }
export interface NotCondition { type: 'not'; condition: Condition }
export interface TraitCondition { type: 'trait'; trait: string; operator: TraitOperator; value?: unknown }
export interface EventCondition {
  type: 'event';
  event: string;
  /** One channel or a list; any channel when absent. */
  channel?: Channel | Channel[];
  /** Defaults to "at least once". */
  count?: { operator: CountOperator; value: number };
  /** Rolling window in whole UTC days, today included; all retained history when absent. */
  within?: { days: number };
}
export type Condition = AndCondition | OrCondition | NotCondition | TraitCondition | EventCondition;

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const channelSchema = z.enum(CHANNELS);

const traitConditionSchema = z
  .strictObject({
    type: z.literal('trait'),
    trait: z.string().min(1).max(200),
    operator: z.enum(TRAIT_OPERATORS),
    value: z.union([scalar, z.array(scalar).max(1000)]).optional(),
  })
  .superRefine((c, ctx) => {
    const needsList = c.operator === 'in' || c.operator === 'not_in';
    const needsNone = c.operator === 'exists' || c.operator === 'not_exists';
    if (needsNone && c.value !== undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: `must be absent for ${c.operator}` });
    if (needsList && !Array.isArray(c.value)) ctx.addIssue({ code: 'custom', path: ['value'], message: `must be a list for ${c.operator}` });
    if (!needsList && !needsNone && (c.value === undefined || Array.isArray(c.value))) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `must be a string, number or boolean for ${c.operator}` });
    }
  });

const eventConditionSchema = z.strictObject({
  type: z.literal('event'),
  event: z.string().min(1).max(200),
  channel: z.union([channelSchema, z.array(channelSchema).min(1)]).optional(),
  count: z.strictObject({ operator: z.enum(COUNT_OPERATORS), value: z.number().int().min(0) }).optional(),
  within: z.strictObject({ days: z.number().int().min(1).max(400) }).optional(),
});

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('and'), conditions: z.array(conditionSchema).min(1).max(100) }),
    z.strictObject({ type: z.literal('or'), conditions: z.array(conditionSchema).min(1).max(100) }),
    z.strictObject({ type: z.literal('not'), condition: conditionSchema }),
    traitConditionSchema,
    eventConditionSchema,
  ]),
);

export const segmentInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).optional(),
  condition: conditionSchema,
});
export type SegmentInput = z.infer<typeof segmentInputSchema>;

export const SEGMENT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export interface Segment extends SegmentInput {
  id: string;
  /** Bumped on every change; transitions name the revision that caused them. */
  revision: number;
  languageVersion: number;
  /** `building` until every existing profile has been evaluated once. */
  status: 'building' | 'ready';
  createdAt: string;
  updatedAt: string;
}

export type Evaluator = (profile: Profile, now: number) => boolean;

export function assertUnreachable(value: never): never {
  throw new Error(`Unhandled case: ${JSON.stringify(value)}`);
}

/** Compiles a condition tree once into closures, so evaluation never walks the JSON. */
export function compile(condition: Condition): Evaluator {
  switch (condition.type) {
    // Plain loops: no closure allocated per evaluation on the hot path.
    case 'and': {
      const parts = condition.conditions.map(compile);
      return (profile, now) => {
        for (const part of parts) if (!part(profile, now)) return false;
        return true;
      };
    }
    case 'or': {
      const parts = condition.conditions.map(compile);
      return (profile, now) => {
        for (const part of parts) if (part(profile, now)) return true;
        return false;
      };
    }
    case 'not': {
      const inner = compile(condition.condition);
      return (profile, now) => !inner(profile, now);
    }
    case 'trait':
      return compileTrait(condition);
    case 'event':
      return compileEvent(condition);
    default:
      return assertUnreachable(condition);
  }
}

function compileTrait({ trait, operator, value }: TraitCondition): Evaluator {
  const read = (profile: Profile): unknown => profile.traits[trait];
  const compare = (actual: unknown, test: (a: number | string, b: number | string) => boolean): boolean => {
    if (typeof actual === 'number' && typeof value === 'number') return test(actual, value);
    if (typeof actual === 'string' && typeof value === 'string') return test(actual, value);
    if (typeof actual === 'string' && typeof value === 'number' && actual.trim() !== '' && !Number.isNaN(Number(actual))) {
      return test(Number(actual), value);
    }
    return false;
  };
  switch (operator) {
    case 'eq':
      return (p) => looselyEqual(read(p), value);
    case 'neq':
      return (p) => read(p) !== undefined && !looselyEqual(read(p), value);
    case 'lt':
      return (p) => compare(read(p), (a, b) => a < b);
    case 'lte':
      return (p) => compare(read(p), (a, b) => a <= b);
    case 'gt':
      return (p) => compare(read(p), (a, b) => a > b);
    case 'gte':
      return (p) => compare(read(p), (a, b) => a >= b);
    case 'in': {
      const set = new Set((value as unknown[]).map(normalised));
      return (p) => set.has(normalised(read(p)));
    }
    case 'not_in': {
      const set = new Set((value as unknown[]).map(normalised));
      return (p) => read(p) !== undefined && !set.has(normalised(read(p)));
    }
    case 'contains': {
      const needle = String(value).toLowerCase();
      return (p) => {
        const actual = read(p);
        if (Array.isArray(actual)) return actual.some((item) => looselyEqual(item, value));
        return typeof actual === 'string' && actual.toLowerCase().includes(needle);
      };
    }
    case 'exists':
      return (p) => read(p) !== undefined && read(p) !== null;
    case 'not_exists':
      return (p) => read(p) === undefined || read(p) === null;
    default:
      return assertUnreachable(operator);
  }
}

/** Strings compare case-insensitively: "VIP" and "vip" are the same tier to a marketer. */
function looselyEqual(actual: unknown, expected: unknown): boolean {
  if (actual === expected) return true;
  if (typeof actual !== 'string' || typeof expected !== 'string') return false;
  return actual.toLowerCase() === expected.toLowerCase();
}

const normalised = (value: unknown): unknown => (typeof value === 'string' ? value.toLowerCase() : value);

function compileEvent(condition: EventCondition): Evaluator {
  // The exact aggregate keys are known at compile time: direct lookups, no scan of the profile's keys.
  const channels = condition.channel === undefined ? CHANNELS : ([] as Channel[]).concat(condition.channel);
  const keys = channels.map((channel) => aggregateKey(condition.event, channel));
  const days = condition.within?.days;
  const { operator, value } = condition.count ?? { operator: 'gte' as const, value: 1 };
  const test = countTest(operator, value);

  return (profile, now) => {
    const firstDay = days === undefined ? -Infinity : dayIndex(now) - days + 1;
    let total = 0;
    for (const key of keys) {
      const buckets = profile.aggregates[key];
      if (buckets !== undefined) total += countSince(buckets, firstDay);
    }
    return test(total);
  };
}

function countTest(operator: CountOperator, value: number): (count: number) => boolean {
  switch (operator) {
    case 'gte':
      return (n) => n >= value;
    case 'gt':
      return (n) => n > value;
    case 'eq':
      return (n) => n === value;
    case 'lte':
      return (n) => n <= value;
    case 'lt':
      return (n) => n < value;
    default:
      return assertUnreachable(operator);
  }
}

export interface CompiledSegment {
  id: string;
  revision: number;
  matches: Evaluator;
}

export const compileSegment = (segment: Segment): CompiledSegment => ({
  id: segment.id,
  revision: segment.revision,
  matches: compile(segment.condition),
});

export interface MembershipResult {
  segments: string[];
  transitions: Transition[];
}

/**
 * Re-evaluates every segment for one profile. Memberships of segments this
 * caller does not know (a catalog cached before the segment was created) are
 * kept as they are: only a caller that knows a segment may move a profile out.
 */
export function evaluateMemberships(profile: Profile, segments: readonly CompiledSegment[], now: number): MembershipResult {
  const before = new Set(profile.segments);
  const after: string[] = [];
  const transitions: Transition[] = [];
  const at = new Date(now).toISOString();
  const transition = (segmentId: string, change: Transition['change']): Transition => ({
    id: transitionId(profile.profileId, segmentId, change, profile.version),
    segmentId,
    profileId: profile.profileId,
    change,
    at,
  });

  for (const segment of segments) {
    if (segment.matches(profile, now)) {
      after.push(segment.id);
      if (!before.has(segment.id)) transitions.push(transition(segment.id, 'entered'));
    } else if (before.has(segment.id)) {
      transitions.push(transition(segment.id, 'exited'));
    }
  }
  const known = new Set(segments.map((s) => s.id));
  for (const segmentId of before) if (!known.has(segmentId)) after.push(segmentId);
  return { segments: after.sort(), transitions };
}

/** Deterministic, so a retried write publishes the same id and consumers can drop the duplicate. */
const transitionId = (profileId: string, segmentId: string, change: string, version: number): string =>
  createHash('sha256').update(`${profileId}\u0000${segmentId}\u0000${change}\u0000${version}`).digest('hex').slice(0, 32);
