/**
 * Segment definitions: a versioned, validated condition tree compiled once into
 * plain closures, then evaluated against profiles. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CHANNELS, type Channel } from './events';
import { PrismeError } from './errors';
import {
  COMPARISON_OPERATORS,
  COUNT_OPERATORS,
  DATE_OPERATORS,
  assertUnreachable,
  compileComparison,
  dateThreshold,
  dateValueSchema,
  isoInstant,
  valueProblem,
  type ComparisonOperator,
  type CountOperator,
  type DateOperator,
  type DateValue,
} from './comparisons';
import { ANY_EVENT, MAX_OCCURRENCES, VALUE_STRIDE, aggregateSpec, compileSpec, emptyWindow, isTimesKey, keyParts, occurrenceSpec, timesKey, timesStride, propertyFilterSchema, readValues, specKey, type AggregateSpec, type CompiledSpec, type PropertyFilter, type WindowValues } from './aggregates';
import { INDICATOR_IDS, compileIndicators, indicatorInfo, indicatorKey, isFrozenIndicator, type IndicatorModel, type IndicatorValues } from './indicators';
import { DAY_MS, aggregateKey, countBetween, type TransitionReason, countSince, dayIndex, isSpecKey, type Profile, type Transition, transitionId } from './profile';
import { addEdgeOccurrences, hasBucket, windowEdge } from './windows';
import { own } from './records';
import type { GroupTraits } from './groups';

export const CONDITION_LANGUAGE_VERSION = 1;

export interface AndCondition { type: 'and'; conditions: Condition[] }
export interface OrCondition { type: 'or'; conditions: Condition[] }
export interface NotCondition { type: 'not'; condition: Condition }
/** `caseSensitive`: text compared exactly; by default "VIP" equals "vip". */
export interface TraitCondition { type: 'trait'; trait: string; operator: TraitOperator; value?: unknown; caseSensitive?: boolean }
/** A trait of the profile's groups (accounts): true when at least one of its groups has the trait matching. */
export interface GroupTraitCondition { type: 'group'; trait: string; operator: TraitOperator; value?: unknown; caseSensitive?: boolean }
export interface EventCondition {
  type: 'event';
  /** An event name; absent (or `"*"`) for any event: every track, page and screen call. */
  event?: string;
  /** One channel or a list; any channel when absent. */
  channel?: Channel | Channel[];
  /** Defaults to "at least once". */
  count?: { operator: CountOperator; value: number };
  /**
   * A window ending at the evaluation instant: the last `days` x 24 h, `hours` or `minutes`, exactly.
   * With `calendar: true`, `days` are whole UTC days instead, today included. All retained history when
   * absent (and no `between`).
   */
  within?: { days?: number; hours?: number; minutes?: number; calendar?: boolean };
  /** A fixed period instead: from one date to another, whole UTC days, both included. */
  between?: { from: string; to: string };
  /** Only occurrences whose properties pass every filter count. */
  where?: PropertyFilter[];
  /** A figure over a numeric property of the (filtered) occurrences: "average order value above 50". */
  aggregate?: { fn: AggregateFunction; property: string; operator: CountOperator; value: number };
}
export const AGGREGATE_FUNCTIONS = ['sum', 'avg', 'min', 'max'] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];
/** When an event was first or last performed ("last purchase more than 90 days ago"); false if never. */
export interface PerformedDateCondition {
  type: 'performed_date';
  /** An event name; absent (or `"*"`) for any event ("last seen more than 30 days ago"). */
  event?: string;
  channel?: Channel | Channel[];
  which: 'first' | 'last';
  operator: DateOperator;
  value: DateValue;
}
/**
 * A change of habit. `stopped`: performed in the last `before` days but not in the last `recent` days.
 * `restarted`: performed in the last `recent` days, not in the `gap` days before those, and before that.
 */
export interface HabitCondition {
  type: 'stopped' | 'restarted';
  /** An event name; absent (or `"*"`) for any event ("stopped visiting the site"). */
  event?: string;
  channel?: Channel | Channel[];
  where?: PropertyFilter[];
  recent: { days: number };
  before?: { days: number };
  gap?: { days: number };
}
export interface SequenceStep {
  event: string;
  channel?: Channel | Channel[];
  where?: PropertyFilter[];
}
/**
 * Steps performed in order, each within `within` of the previous one: "attended the 15 March
 * webinar, then viewed the pricing page within 24 h". `since` bounds when the first step happened.
 * A step counts from the same second as the previous one on: instants are kept to the second, and two
 * events sent together (a page and its track) often share one.
 */
export interface SequenceCondition {
  type: 'sequence';
  steps: SequenceStep[];
  within: { minutes?: number; hours?: number; days?: number };
  since?: DateValue;
}
/** Membership of another segment (no cycles). */
export interface SegmentCondition { type: 'segment'; segment: string; member?: boolean }
/** A deterministic share of profiles, [from, to) out of 100, by hash of profile id and salt: holdouts, A/B tests. */
export interface BucketCondition { type: 'bucket'; from: number; to: number; salt?: string }
/** An indicator compared to a value ("engagement score at least 50", "lifecycle stage is at_risk"); `channel` for per-channel figures. */
export interface IndicatorCondition { type: 'indicator'; indicator: string; channel?: Channel; operator: ComparisonOperator; value?: unknown }
export type Condition =
  | AndCondition
  | OrCondition
  | NotCondition
  | TraitCondition
  | GroupTraitCondition
  | EventCondition
  | PerformedDateCondition
  | SequenceCondition
  | HabitCondition
  | SegmentCondition
  | BucketCondition
  | IndicatorCondition;

const channelSchema = z.enum(CHANNELS);
const channelsSchema = z.union([channelSchema, z.array(channelSchema).min(1)]);
export { COUNT_OPERATORS, DATE_OPERATORS, assertUnreachable } from './comparisons';
export type { CountOperator, DateOperator, DateValue } from './comparisons';
/** Trait conditions use every comparison operator. */
export const TRAIT_OPERATORS = COMPARISON_OPERATORS;
export type TraitOperator = ComparisonOperator;

/** A trait comparison, of the person's traits (`trait`) or of their groups' (`group`). */
const traitComparisonSchema = <T extends 'trait' | 'group'>(type: T) =>
  z
    .strictObject({
      type: z.literal(type),
      trait: z.string().min(1).max(200),
      operator: z.enum(TRAIT_OPERATORS),
      value: z.unknown().optional(),
      caseSensitive: z.boolean().optional(),
    })
    .superRefine((c, ctx) => {
      const problem = valueProblem(c.operator, c.value);
      if (problem) ctx.addIssue({ code: 'custom', path: ['value'], message: problem });
    });
const traitConditionSchema = traitComparisonSchema('trait');
const groupTraitConditionSchema = traitComparisonSchema('group');

/** An event name, or absent or `"*"` for any event. */
const eventNameSchema = z.string().min(1).max(200).optional();

const eventConditionSchema = z
  .strictObject({
  type: z.literal('event'),
  event: eventNameSchema,
  channel: channelsSchema.optional(),
  count: z.strictObject({ operator: z.enum(COUNT_OPERATORS), value: z.number().int().min(0) }).optional(),
  within: z
    .strictObject({
      days: z.number().int().min(1).max(400).optional(),
      hours: z.number().int().min(1).max(24 * 400).optional(),
      minutes: z.number().int().min(1).max(60 * 24 * 400).optional(),
      calendar: z.boolean().optional(),
    })
    .refine((w) => [w.days, w.hours, w.minutes].filter((v) => v !== undefined).length === 1, { message: 'give exactly one of days, hours or minutes' })
    .refine((w) => !w.calendar || w.days !== undefined, { path: ['calendar'], message: 'calendar windows are in days' })
    .optional(),
  between: z.strictObject({ from: isoInstant, to: isoInstant }).refine((b) => Date.parse(b.from) <= Date.parse(b.to), { path: ['to'], message: 'must not be before from' }).optional(),
  where: z.array(propertyFilterSchema).min(1).max(10).optional(),
  aggregate: z
    .strictObject({
      fn: z.enum(AGGREGATE_FUNCTIONS),
      property: z.string().min(1).max(200),
      operator: z.enum(COUNT_OPERATORS),
      value: z.number(),
    })
    .optional(),
  })
  .superRefine((c, ctx) => {
    if (c.within && c.between) ctx.addIssue({ code: 'custom', path: ['between'], message: 'give within or between, not both' });
    // Inside a day only the latest occurrences have instants: past them, a window in hours cannot count.
    if (c.within && c.within.days === undefined) {
      if (c.aggregate) ctx.addIssue({ code: 'custom', path: ['aggregate'], message: 'needs a window in days (or none): figures are kept per day' });
      if (c.count && c.count.value > MAX_OCCURRENCES) {
        ctx.addIssue({ code: 'custom', path: ['count', 'value'], message: `at most ${MAX_OCCURRENCES} with an hours or minutes window` });
      }
    }
  });

const performedDateSchema = z.strictObject({
  type: z.literal('performed_date'),
  event: eventNameSchema,
  channel: channelsSchema.optional(),
  which: z.enum(['first', 'last']),
  operator: z.enum(DATE_OPERATORS),
  value: dateValueSchema,
});

const sequenceConditionSchema = z.strictObject({
  type: z.literal('sequence'),
  steps: z
    .array(
      z.strictObject({
        event: z.string().min(1).max(200),
        channel: channelsSchema.optional(),
        where: z.array(propertyFilterSchema).min(1).max(10).optional(),
      }),
    )
    .min(2)
    .max(5),
  within: z
    .strictObject({
      minutes: z.number().int().min(1).optional(),
      hours: z.number().int().min(1).optional(),
      days: z.number().int().min(1).optional(),
    })
    .refine((w) => gapSeconds(w) > 0 && gapSeconds(w) <= 400 * 86_400, { message: 'give minutes, hours or days, at most 400 days in all' }),
  since: dateValueSchema.optional(),
});

const days = z.strictObject({ days: z.number().int().min(1).max(400) });
const habitBase = {
  event: eventNameSchema,
  channel: channelsSchema.optional(),
  where: z.array(propertyFilterSchema).min(1).max(10).optional(),
  recent: days,
};
const stoppedSchema = z
  .strictObject({ type: z.literal('stopped'), ...habitBase, before: days })
  .refine((c) => c.before.days > c.recent.days, { path: ['before'], message: 'must be longer than recent' });
const restartedSchema = z
  .strictObject({ type: z.literal('restarted'), ...habitBase, gap: days })
  .refine((c) => c.recent.days + c.gap.days <= 400, { path: ['gap'], message: 'recent + gap must be at most 400 days' });

const segmentConditionSchema = z.strictObject({
  type: z.literal('segment'),
  segment: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a segment id'),
  member: z.boolean().optional(),
});

const bucketConditionSchema = z
  .strictObject({
    type: z.literal('bucket'),
    from: z.number().int().min(0).max(100),
    to: z.number().int().min(0).max(100),
    salt: z.string().max(100).optional(),
  })
  .refine((b) => b.from < b.to, { path: ['to'], message: 'must be greater than from' });

const indicatorConditionSchema = z
  .strictObject({
    type: z.literal('indicator'),
    indicator: z.enum(INDICATOR_IDS as [string, ...string[]], { error: `must be one of ${INDICATOR_IDS.join(', ')}` }),
    channel: channelSchema.optional(),
    operator: z.enum(COMPARISON_OPERATORS),
    value: z.unknown().optional(),
  })
  .superRefine((c, ctx) => {
    const info = indicatorInfo(c.indicator)!;
    if (c.channel !== undefined && !info.perChannel) {
      ctx.addIssue({ code: 'custom', path: ['channel'], message: `${c.indicator} is not a per-channel figure` });
    }
    const problem = valueProblem(c.operator, c.value);
    if (problem) return ctx.addIssue({ code: 'custom', path: ['value'], message: problem });
    const values = [c.value].flat();
    if (info.values && c.value !== undefined && !values.every((v) => info.values!.includes(v as string))) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `${c.indicator} is one of ${info.values.join(', ')}` });
    }
  });

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('and'), conditions: z.array(conditionSchema).min(1).max(100) }),
    z.strictObject({ type: z.literal('or'), conditions: z.array(conditionSchema).min(1).max(100) }),
    z.strictObject({ type: z.literal('not'), condition: conditionSchema }),
    traitConditionSchema,
    groupTraitConditionSchema,
    eventConditionSchema,
    performedDateSchema,
    sequenceConditionSchema,
    stoppedSchema,
    restartedSchema,
    segmentConditionSchema,
    bucketConditionSchema,
    indicatorConditionSchema,
  ]),
);

export const segmentInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).optional(),
  condition: conditionSchema,
});
export type SegmentInput = z.infer<typeof segmentInputSchema>;

/**
 * The published JSON Schema of a segment definition (`GET /v1/schemas/segment`, `schemas/segment.v1.json`).
 * Per-operator value rules are checked by the API beyond what JSON Schema states.
 */
export const segmentJsonSchema = (): Record<string, unknown> => ({
  $id: `urn:prisme:segment:v${CONDITION_LANGUAGE_VERSION}`,
  title: 'Prisme segment definition',
  ...z.toJSONSchema(segmentInputSchema, { unrepresentable: 'any' }),
});

export const SEGMENT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Segments in a catalog: memberships and their outbox live in each profile item, which must stay bounded. */
export const MAX_SEGMENTS = 200;

export interface Segment extends SegmentInput {
  id: string;
  /** Bumped on every change; transitions name the revision that caused them. */
  revision: number;
  languageVersion: number;
  /** `building` until every existing profile has been evaluated once. */
  status: 'building' | 'ready';
  /**
   * Set while the condition needs filtered or valued aggregates that count only events received from
   * this time on: the latest of `specsSince`. Cleared when a backfill from the archive has added the
   * older ones (or kept, when there is no archive to read).
   */
  aggregatesSince?: string;
  /** Per aggregate spec id: live events received before this time are left to the backfill. */
  specsSince?: Record<string, string>;
  /** Stored profiles the first evaluation of this revision has gone through so far. */
  evaluatedProfiles?: number;
  /** When that evaluation finished. */
  readyAt?: string;
  /** Set on the segments Prisme keeps for a stage indicator: they change with the indicator definitions, not through PUT. */
  managedBy?: string;
  createdAt: string;
  updatedAt: string;
}

/**
 * A compiled condition. `memberOf` holds the segments the profile is in as evaluated so far
 * in this pass (segments are evaluated in dependency order), for `segment` conditions;
 * `indicators` the profile's indicator values at `now`, for `indicator` conditions; `groups` the
 * traits of the profile's groups, for `group` conditions.
 */
export type Evaluator = (profile: Profile, now: number, memberOf: ReadonlySet<string>, indicators?: IndicatorValues, groups?: readonly GroupTraits[]) => boolean;


/** Compiles a condition tree once into closures, so evaluation never walks the JSON. */
export function compile(condition: Condition): Evaluator {
  switch (condition.type) {
    // Plain loops: no closure allocated per evaluation on the hot path.
    case 'and': {
      const parts = condition.conditions.map(compile);
      return (profile, now, memberOf, indicators, groups) => {
        for (const part of parts) if (!part(profile, now, memberOf, indicators, groups)) return false;
        return true;
      };
    }
    case 'or': {
      const parts = condition.conditions.map(compile);
      return (profile, now, memberOf, indicators, groups) => {
        for (const part of parts) if (part(profile, now, memberOf, indicators, groups)) return true;
        return false;
      };
    }
    case 'not': {
      const inner = compile(condition.condition);
      return (profile, now, memberOf, indicators, groups) => !inner(profile, now, memberOf, indicators, groups);
    }
    case 'trait':
      return compileTrait(condition);
    case 'group':
      return compileGroupTrait(condition);
    case 'event':
      return compileEvent(condition);
    case 'performed_date':
      return compilePerformedDate(condition);
    case 'sequence':
      return compileSequence(condition);
    case 'stopped':
    case 'restarted': {
      const counts = habitCounts(condition);
      return (profile, now) => {
        const c = counts(profile, now);
        return condition.type === 'stopped' ? c.longer > 0 && c.recent === 0 : c.recent > 0 && c.longer === c.recent && c.ever > c.longer;
      };
    }
    case 'segment': {
      const { segment, member = true } = condition;
      return (_profile, _now, memberOf) => memberOf.has(segment) === member;
    }
    case 'bucket': {
      const { from, to, salt = '' } = condition;
      return (profile) => {
        const bucket = bucketOf(profile.profileId, salt);
        return bucket >= from && bucket < to;
      };
    }
    case 'indicator': {
      const key = indicatorKey(condition.indicator, condition.channel);
      const test = compileComparison(condition.operator, condition.value);
      // Without values (a caller that does not compute indicators) nothing holds, not even not_exists.
      return (_profile, now, _memberOf, indicators) => indicators !== undefined && test(own(indicators, key), now);
    }
    default:
      return assertUnreachable(condition);
  }
}

function compileTrait({ trait, operator, value, caseSensitive }: TraitCondition): Evaluator {
  const comparison = compileComparison(operator, value, caseSensitive);
  return (profile, now) => comparison(own(profile.traits, trait), now);
}

/**
 * "Their company has more than 50 employees": at least one of the profile's groups has the trait
 * matching. Without the groups' traits (a caller that does not read them), or with no group, nothing holds.
 */
function compileGroupTrait({ trait, operator, value, caseSensitive }: GroupTraitCondition): Evaluator {
  const comparison = compileComparison(operator, value, caseSensitive);
  return (_profile, now, _memberOf, _indicators, groups) => {
    if (groups === undefined) return false;
    for (const traits of groups) if (comparison(own(traits, trait), now)) return true;
    return false;
  };
}

/** The event a condition names, ANY_EVENT when it names none. */
export const eventOf = (condition: { event?: string }): string => condition.event ?? ANY_EVENT;
const isAnyEvent = (event: string): boolean => event === ANY_EVENT;
const channelList = (channel?: Channel | Channel[]): readonly Channel[] => (channel === undefined ? CHANNELS : ([] as Channel[]).concat(channel));

/**
 * The plain `event|channel` keys of the profile a condition reads: fixed for a named event, every
 * behaviour's on those channels for any event.
 */
export function plainKeysOf(event: string, channel?: Channel | Channel[]): (profile: Pick<Profile, 'aggregates' | 'performed'>, from?: 'aggregates' | 'performed') => readonly string[] {
  const channels = channelList(channel);
  if (!isAnyEvent(event)) {
    const keys = channels.map((c) => aggregateKey(event, c));
    return () => keys;
  }
  const wanted = new Set<string>(channels);
  return (profile, from = 'aggregates') =>
    Object.keys((from === 'aggregates' ? profile.aggregates : profile.performed) ?? {}).filter((key) => !isSpecKey(key) && !isTimesKey(key) && wanted.has(keyParts(key).channel));
}

/**
 * The first or last instant (epoch ms) an event was performed on the condition's channels, exact from
 * the profile's `performed` record; from the buckets' days for profiles folded before it existed.
 */
export function performedAt(condition: Pick<PerformedDateCondition, 'event' | 'channel' | 'which'>): (profile: Profile) => number | undefined {
  const keysOf = plainKeysOf(eventOf(condition), condition.channel);
  const last = condition.which === 'last';
  return (profile) => {
    let at: number | undefined;
    const consider = (ms: number) => {
      if (at === undefined || (last ? ms > at : ms < at)) at = ms;
    };
    for (const key of new Set([...keysOf(profile), ...keysOf(profile, 'performed')])) {
      const exact = own(profile.performed, key);
      if (exact) {
        consider((last ? exact[1] : exact[0]) * 1000);
        continue;
      }
      const buckets = profile.aggregates[key];
      if (!buckets || buckets.length === 0) continue;
      consider(last ? (buckets[0]! + 1) * DAY_MS - 1 : buckets[buckets.length - 2]! * DAY_MS);
    }
    return at;
  };
}

/** "Last purchase more than 90 days ago": compares the exact first or last instant the event was performed. */
function compilePerformedDate(condition: PerformedDateCondition): Evaluator {
  const read = performedAt(condition);
  const threshold = dateThreshold(condition.value);
  return (profile, now) => {
    const at = read(profile);
    if (at === undefined) return false;
    return condition.operator === 'date_before' ? at < threshold(now) : at > threshold(now);
  };
}

/**
 * Counts of a habit's event in the recent window, in the longer window (`before`, or `recent + gap`),
 * and over all retained history.
 */
export function habitCounts(condition: HabitCondition): (profile: Profile, now: number) => { recent: number; longer: number; ever: number } {
  const base = { type: 'event' as const, event: condition.event, channel: condition.channel, where: condition.where };
  // Rolling windows, like event conditions': "not in the last 30 days" is the last 30 x 24 h.
  const longerDays = condition.type === 'stopped' ? condition.before!.days : condition.recent.days + condition.gap!.days;
  const recent = eventWindowReader({ ...base, within: condition.recent });
  const longer = eventWindowReader({ ...base, within: { days: longerDays } });
  const ever = eventWindowReader(base);
  return (profile, now) => ({ recent: recent(profile, now).count, longer: longer(profile, now).count, ever: ever(profile, now).count });
}

export const gapSeconds = (within: SequenceCondition['within']): number =>
  (within.minutes ?? 0) * 60 + (within.hours ?? 0) * 3_600 + (within.days ?? 0) * 86_400;

export const sequenceStepSpec = (step: SequenceStep): AggregateSpec =>
  occurrenceSpec(step.event, step.where, step.channel === undefined ? undefined : ([] as Channel[]).concat(step.channel));

/**
 * Finds the instants of a run of the steps, each within the gap of the previous, the first on or
 * after `since`; undefined when there is none. Each step's occurrences are newest first.
 */
export function findSequence(occurrences: ReadonlyArray<readonly number[]>, gap: number, since: number): number[] | undefined {
  const [first, ...rest] = occurrences;
  if (!first) return undefined;
  // Earliest first steps first; for each, the earliest possible next steps (greedy is exact here).
  for (let i = first.length - 1; i >= 0; i--) {
    const start = first[i]!;
    if (start < since) continue;
    const run = [start];
    for (const step of rest) {
      const previous = run[run.length - 1]!;
      let next: number | undefined;
      for (let j = step.length - 1; j >= 0; j--) {
        if (step[j]! >= previous) {
          next = step[j];
          break;
        }
      }
      if (next === undefined || next > previous + gap) break;
      run.push(next);
    }
    if (run.length === occurrences.length) return run;
  }
  return undefined;
}

function compileSequence(condition: SequenceCondition): Evaluator {
  const keys = condition.steps.map((step) => timesKey(sequenceStepSpec(step)));
  const gap = gapSeconds(condition.within);
  const since = condition.since === undefined ? () => -Infinity : dateThreshold(condition.since);
  return (profile, now) => {
    const occurrences: number[][] = [];
    for (const key of keys) {
      const times = profile.aggregates[key];
      if (!times || times.length === 0) return false;
      occurrences.push(times);
    }
    return findSequence(occurrences, gap, since(now) / 1000) !== undefined;
  };
}

/** 0-99, stable for a profile and salt. */
export function bucketOf(profileId: string, salt: string): number {
  return createHash('sha256').update(`${salt}\u0000${profileId}`).digest().readUInt32BE(0) % 100;
}

/** Seconds of a rolling window (every `within` but calendar days); undefined for calendar days and none. */
export const rollingSeconds = (within: EventCondition['within']): number | undefined =>
  within && !within.calendar ? (within.days ?? 0) * 86_400 + (within.hours ?? 0) * 3_600 + (within.minutes ?? 0) * 60 : undefined;

/**
 * The daily buckets an event condition reads: its own filtered or valued spec when it filters or
 * aggregates, otherwise the plain counts (undefined).
 */
export function bucketSpecOf(condition: Pick<EventCondition, 'event' | 'where' | 'aggregate'>): AggregateSpec | undefined {
  if (!condition.where && !condition.aggregate) return undefined;
  return aggregateSpec(eventOf(condition), condition.where, condition.aggregate?.property);
}

/** The latest occurrences a rolling window reads at its edge (with the aggregated property's value), or undefined. */
export function edgeSpecOf(condition: Pick<EventCondition, 'event' | 'channel' | 'where' | 'aggregate' | 'within'>): AggregateSpec | undefined {
  if (rollingSeconds(condition.within) === undefined) return undefined;
  return occurrenceSpec(eventOf(condition), condition.where, condition.channel === undefined ? undefined : channelList(condition.channel), condition.aggregate?.property);
}

/** Where an event condition's occurrences are kept on a profile: the bucket keys (and their stride) and the edge's list. */
export interface EventSources {
  bucketKeys: (profile: Profile) => readonly string[];
  stride: number;
  edgeKey?: string;
}

export function eventSourcesOf(condition: Pick<EventCondition, 'event' | 'channel' | 'where' | 'aggregate' | 'within'>): EventSources {
  const spec = bucketSpecOf(condition);
  const edge = edgeSpecOf(condition);
  const edgeKey = edge && timesKey(edge);
  if (!spec) return { bucketKeys: plainKeysOf(eventOf(condition), condition.channel), stride: 2, ...(edgeKey && { edgeKey }) };
  const keys = channelList(condition.channel).map((channel) => specKey(spec, channel));
  return { bucketKeys: () => keys, stride: VALUE_STRIDE, ...(edgeKey && { edgeKey }) };
}

/** Count, sum, min and max of an event condition's occurrences in its window, over its channels. */
export function eventWindowReader(condition: EventCondition): (profile: Profile, now: number) => WindowValues {
  const { bucketKeys, stride, edgeKey } = eventSourcesOf(condition);
  const seconds = rollingSeconds(condition.within);
  const days = condition.within?.days;
  const fixed = condition.between && { first: dayIndex(Date.parse(condition.between.from)), last: dayIndex(Date.parse(condition.between.to)) };
  return (profile, now) => {
    // Rolling: every bucket after the edge's day whole, then the edge's own occurrences.
    const edgeDay = seconds === undefined ? undefined : windowEdge(now, seconds).edgeDay;
    const firstDay = fixed ? fixed.first : edgeDay !== undefined ? edgeDay + 1 : days === undefined ? -Infinity : dayIndex(now) - days + 1;
    const lastDay = fixed ? fixed.last : Infinity;
    const values = emptyWindow();
    const keys = bucketKeys(profile);
    for (const key of keys) {
      const buckets = profile.aggregates[key];
      if (buckets === undefined) continue;
      if (stride === VALUE_STRIDE) readValues(buckets, firstDay, values, lastDay);
      else values.count += countBetween(buckets, firstDay, lastDay);
    }
    if (seconds !== undefined && edgeKey !== undefined) {
      const times = profile.aggregates[edgeKey];
      if (times) addEdgeOccurrences(times, timesStride(edgeKey), now, seconds, (day) => keys.some((key) => hasBucket(profile.aggregates[key] ?? [], stride, day)), values);
    }
    return values;
  };
}

/** The figure an aggregate asks for; NaN (never passing a test) for avg, min, max of no occurrence. */
export function aggregateValue(fn: AggregateFunction, values: WindowValues): number {
  switch (fn) {
    case 'sum':
      return values.sum;
    case 'avg':
      return values.count === 0 ? NaN : values.sum / values.count;
    case 'min':
      return values.count === 0 ? NaN : values.min;
    case 'max':
      return values.count === 0 ? NaN : values.max;
    default:
      return assertUnreachable(fn);
  }
}

function compileEvent(condition: EventCondition): Evaluator {
  const read = eventWindowReader(condition);
  // Without an aggregate, "performed" means at least once; with one, the count is checked only if asked.
  const count = condition.count ?? (condition.aggregate ? undefined : { operator: 'gte' as const, value: 1 });
  const countHolds = count ? countTest(count.operator, count.value) : () => true;
  const { aggregate } = condition;
  const aggregateHolds = aggregate ? countTest(aggregate.operator, aggregate.value) : undefined;

  const seconds = rollingSeconds(condition.within);
  if (!aggregate && !condition.where && !condition.between && condition.event !== undefined && condition.event !== ANY_EVENT) {
    // The hot path: plain counts of a named event, no allocation.
    const keys = channelList(condition.channel).map((channel) => aggregateKey(condition.event!, channel));
    const edge = edgeSpecOf(condition);
    const edgeKey = edge && timesKey(edge);
    const days = condition.within?.days;
    return (profile, now) => {
      const firstDay = seconds !== undefined ? windowEdge(now, seconds).edgeDay + 1 : days === undefined ? -Infinity : dayIndex(now) - days + 1;
      let total = 0;
      for (const key of keys) {
        const buckets = profile.aggregates[key];
        if (buckets !== undefined) total += countSince(buckets, firstDay);
      }
      if (edgeKey !== undefined) {
        const times = profile.aggregates[edgeKey];
        if (times) total += addEdgeOccurrences(times, 1, now, seconds!, (day) => keys.some((key) => hasBucket(profile.aggregates[key] ?? [], 2, day)));
      }
      return countHolds(total);
    };
  }
  return (profile, now) => {
    const values = read(profile, now);
    if (!countHolds(values.count)) return false;
    return !aggregate || aggregateHolds!(aggregateValue(aggregate.fn, values));
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

/** What can change a segment's result: so an event re-evaluates only the segments it can affect. */
export interface Dependencies {
  traits: string[];
  /** Event names, ANY_EVENT for conditions on any event. */
  events: string[];
  segments: string[];
  /** Indicators compared: any new event can move them. */
  indicators: string[];
  /** Traits of the profile's groups compared: a group call, or a change of a group's traits, can move them. */
  groupTraits: string[];
  /** The result can change with time alone (rolling windows, "more than 30 days ago"). */
  time: boolean;
}

export function dependenciesOf(condition: Condition): Dependencies {
  const deps: Dependencies = { traits: [], events: [], segments: [], indicators: [], groupTraits: [], time: false };
  const relative = (value: unknown) => typeof value === 'object' && value !== null && 'daysAgo' in value;
  const visit = (c: Condition): void => {
    switch (c.type) {
      case 'and':
      case 'or':
        return c.conditions.forEach(visit);
      case 'not':
        return visit(c.condition);
      case 'trait':
        deps.traits.push(c.trait);
        deps.time ||= (c.operator === 'date_before' || c.operator === 'date_after') && relative(c.value);
        return;
      case 'group':
        deps.groupTraits.push(c.trait);
        deps.time ||= (c.operator === 'date_before' || c.operator === 'date_after') && relative(c.value);
        return;
      case 'event':
        deps.events.push(eventOf(c));
        deps.time ||= c.within !== undefined;
        return;
      case 'performed_date':
        deps.events.push(eventOf(c));
        deps.time ||= relative(c.value);
        return;
      case 'sequence':
        deps.events.push(...c.steps.map((s) => s.event));
        deps.time ||= relative(c.since);
        return;
      case 'stopped':
      case 'restarted':
        deps.events.push(eventOf(c));
        deps.time = true;
        return;
      case 'segment':
        deps.segments.push(c.segment);
        return;
      case 'bucket':
        return;
      case 'indicator':
        // Scores fade and days pass: re-checked on every event and by the daily freeze.
        deps.indicators.push(c.indicator);
        deps.time = true;
        return;
      default:
        return assertUnreachable(c);
    }
  };
  visit(condition);
  return {
    traits: [...new Set(deps.traits)],
    events: [...new Set(deps.events)],
    segments: [...new Set(deps.segments)],
    indicators: [...new Set(deps.indicators)],
    groupTraits: [...new Set(deps.groupTraits)],
    time: deps.time,
  };
}

export interface CompiledSegment {
  id: string;
  revision: number;
  condition: Condition;
  matches: Evaluator;
  dependsOn: Dependencies;
}

export const compileSegment = (segment: Segment): CompiledSegment => ({
  id: segment.id,
  revision: segment.revision,
  condition: segment.condition,
  matches: compile(segment.condition),
  dependsOn: dependenciesOf(segment.condition),
});

/** What changed in a profile: the behaviours and traits of the events just folded. */
export interface ProfileChanges {
  events: ReadonlySet<string>;
  traits: ReadonlySet<string>;
  /** A group call was folded: the profile's groups, or their traits, may have changed. */
  groups?: boolean;
}

/** Ids of the segments a condition refers to. */
export const segmentReferences = (condition: Condition): string[] => dependenciesOf(condition).segments;

export class SegmentGraphError extends PrismeError {
  constructor(
    message: string,
    readonly path: string[],
  ) {
    super(message);
  }
}

/**
 * Orders segments so that each comes after the segments it refers to, and
 * rejects cycles and references to segments that do not exist.
 */
export function orderByDependencies<T extends Pick<Segment, 'id' | 'condition'>>(segments: readonly T[]): T[] {
  const byId = new Map(segments.map((s) => [s.id, s]));
  const ordered: T[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (segment: T, path: string[]) => {
    if (state.get(segment.id) === 'done') return;
    if (state.get(segment.id) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(segment.id)), segment.id];
      throw new SegmentGraphError(`segments refer to each other in a cycle: ${cycle.join(' -> ')}`, cycle);
    }
    state.set(segment.id, 'visiting');
    for (const reference of segmentReferences(segment.condition)) {
      const target = byId.get(reference);
      if (!target) throw new SegmentGraphError(`segment ${segment.id} refers to unknown segment ${reference}`, [segment.id, reference]);
      visit(target, [...path, segment.id]);
    }
    state.set(segment.id, 'done');
    ordered.push(segment);
  };
  for (const segment of segments) visit(segment, []);
  return ordered;
}

export interface MembershipResult {
  segments: string[];
  transitions: Transition[];
}

/**
 * Re-evaluates every segment for one profile, in the given order (see
 * `orderByDependencies`), so a `segment` condition sees this pass's result of
 * the segment it names. Memberships of segments this
 * caller does not know (a catalog cached before the segment was created) are
 * kept as they are: only a caller that knows a segment may move a profile out.
 */
export function evaluateMemberships(
  profile: Profile,
  segments: readonly CompiledSegment[],
  now: number,
  /** When given, only segments these changes (or time, or a changed segment they use) can affect are evaluated. */
  changes?: ProfileChanges,
  reason: TransitionReason = changes ? 'events' : 'time',
  /** The profile's indicator values at `now`, for segments that compare indicators. */
  indicators?: IndicatorValues,
  /** The traits of the profile's groups, for segments that compare them. */
  groups?: readonly GroupTraits[],
): MembershipResult {
  const before = new Set(profile.segments);
  const after: string[] = [];
  const transitions: Transition[] = [];
  const at = new Date(now).toISOString();
  const transition = ({ id: segmentId, revision }: CompiledSegment, change: Transition['change']): Transition => ({
    id: transitionId(profile.profileId, segmentId, change, profile.version),
    segmentId,
    segmentRevision: revision,
    profileId: profile.profileId,
    change,
    at,
    reason,
  });

  const memberOf = new Set<string>();
  const changedSegments = new Set<string>();
  const affected = (d: Dependencies) =>
    d.time ||
    d.events.some((e) => (e === ANY_EVENT ? changes!.events.size > 0 : changes!.events.has(e))) ||
    d.traits.some((t) => changes!.traits.has(t)) ||
    (changes!.groups === true && d.groupTraits.length > 0) ||
    d.segments.some((s) => changedSegments.has(s));
  for (const segment of segments) {
    if (changes && !affected(segment.dependsOn)) {
      if (before.has(segment.id)) {
        memberOf.add(segment.id);
        after.push(segment.id);
      }
      continue;
    }
    const isIn = segment.matches(profile, now, memberOf, indicators, groups);
    const wasIn = before.has(segment.id);
    if (isIn !== wasIn) changedSegments.add(segment.id);
    if (isIn) {
      memberOf.add(segment.id);
      after.push(segment.id);
      if (!wasIn) transitions.push(transition(segment, 'entered'));
    } else if (wasIn) {
      transitions.push(transition(segment, 'exited'));
    }
  }
  const known = new Set(segments.map((s) => s.id));
  for (const segmentId of before) if (!known.has(segmentId)) after.push(segmentId);
  return { segments: after.sort(), transitions };
}

export interface HistoryDay {
  day: string;
  entered: number;
  exited: number;
  /** Members at the end of the day. */
  size: number;
}

/**
 * Size over time from today's size and the daily entries and exits, walking
 * back: yesterday's size is today's minus today's entries plus today's exits.
 */
export function segmentHistory(
  currentSize: number,
  changes: ReadonlyArray<{ day: string; entered: number; exited: number }>,
  days: number,
  now: number,
): HistoryDay[] {
  const byDay = new Map(changes.map((c) => [c.day, c]));
  const history: HistoryDay[] = [];
  let size = currentSize;
  for (let i = 0; i < days; i++) {
    const day = new Date(now - i * DAY_MS).toISOString().slice(0, 10);
    const { entered = 0, exited = 0 } = byDay.get(day) ?? {};
    history.push({ day, entered, exited, size });
    size = size - entered + exited;
  }
  return history.reverse();
}

/** The filtered and valued aggregates a condition needs profiles to maintain. */
export function aggregateSpecsOf(condition: Condition): AggregateSpec[] {
  switch (condition.type) {
    case 'and':
    case 'or':
      return condition.conditions.flatMap(aggregateSpecsOf);
    case 'not':
      return aggregateSpecsOf(condition.condition);
    case 'event':
      return [bucketSpecOf(condition), edgeSpecOf(condition)].filter((spec) => spec !== undefined);
    case 'sequence':
      return condition.steps.map(sequenceStepSpec);
    case 'stopped':
    case 'restarted': {
      // Both windows share the population, so the same two specs.
      const window = { event: condition.event, channel: condition.channel, where: condition.where, within: condition.recent };
      return [bucketSpecOf(window), edgeSpecOf(window)].filter((spec) => spec !== undefined);
    }
    case 'trait':
    case 'group':
    case 'performed_date':
    case 'segment':
    case 'bucket':
    case 'indicator':
      return [];
    default:
      return assertUnreachable(condition);
  }
}

/**
 * Everything a processor needs from the catalog: segments in dependency order, the aggregates to
 * fold (for segments and for indicators), and the indicator definitions.
 */
export interface CompiledCatalog {
  segments: CompiledSegment[];
  specs: CompiledSpec[];
  indicators: IndicatorModel;
  /** A segment compares a frozen indicator: writers must read the profile's frozen values. */
  needsFrozen: boolean;
  /** A segment compares the traits of a profile's groups: writers must read them. */
  needsGroups: boolean;
}

/**
 * The aggregate specs kept for these segments and indicators, each with the ISO time its live events count
 * from (`specsSince`, until a backfill adds the older ones), or undefined when it holds every event: any
 * indicator or segment holding a spec whole makes it whole.
 */
export function aggregateStarts(segments: readonly Segment[], indicatorSpecs: readonly AggregateSpec[]): Map<string, { spec: AggregateSpec; since?: string }> {
  const starts = new Map<string, { spec: AggregateSpec; since?: string }>(indicatorSpecs.map((spec) => [spec.id, { spec }]));
  for (const segment of segments) {
    for (const spec of aggregateSpecsOf(segment.condition)) {
      const mine = segment.specsSince?.[spec.id];
      const known = starts.get(spec.id);
      const since = !known ? mine : known.since === undefined || mine === undefined ? undefined : mine < known.since ? mine : known.since;
      starts.set(spec.id, { spec, ...(since !== undefined && { since }) });
    }
  }
  return starts;
}

export function compileCatalog(segments: readonly Segment[], indicators: IndicatorModel = compileIndicators()): CompiledCatalog {
  const compiled = orderByDependencies(segments).map(compileSegment);
  const needsFrozen = compiled.some((s) => s.dependsOn.indicators.some(isFrozenIndicator));
  const compiledSpecs = [...aggregateStarts(segments, indicators.specs).values()].map(({ spec, since }) => compileSpec(spec, since === undefined ? undefined : Date.parse(since)));
  const needsGroups = compiled.some((s) => s.dependsOn.groupTraits.length > 0);
  return { segments: compiled, specs: compiledSpecs, indicators, needsFrozen, needsGroups };
}
