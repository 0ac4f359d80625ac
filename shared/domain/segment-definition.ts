/**
 * The segment language: a versioned condition tree (and / or / not, traits, events with windows,
 * first and last performed, habits, sequences, other segments, buckets, indicators) as types and
 * as the zod schemas that validate it at the edge. Pure: no I/O. About 400 lines because each
 * condition's type and its schema sit side by side, so they cannot drift apart.
 */
import { z } from 'zod';
import { MAX_OCCURRENCES, type PropertyFilter, propertyFilterSchema } from './aggregates';
import {
  COMPARISON_OPERATORS,
  COUNT_OPERATORS,
  type ComparisonOperator,
  type CountOperator,
  DATE_OPERATORS,
  type DateOperator,
  type DateValue,
  dateValueSchema,
  isoInstant,
  valueProblem,
} from './comparisons';
import { CHANNELS, type Channel } from './events';
import { INDICATOR_IDS, indicatorInfo } from './indicator-settings';

export const CONDITION_LANGUAGE_VERSION = 1;

export interface AndCondition {
  type: 'and';
  conditions: Condition[];
}

export interface OrCondition {
  type: 'or';
  conditions: Condition[];
}

export interface NotCondition {
  type: 'not';
  condition: Condition;
}

/** `caseSensitive`: text compared exactly; by default "VIP" equals "vip". */
export interface TraitCondition {
  type: 'trait';
  trait: string;
  operator: TraitOperator;
  value?: unknown;
  caseSensitive?: boolean;
}

/** A trait of the profile's groups (accounts): true when at least one of its groups has the trait matching. */
export interface GroupTraitCondition {
  type: 'group';
  trait: string;
  operator: TraitOperator;
  value?: unknown;
  caseSensitive?: boolean;
}

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

/** A sequence's `within`, in seconds. */
export const gapSeconds = (within: SequenceCondition['within']): number =>
  (within.minutes ?? 0) * 60 + (within.hours ?? 0) * 3_600 + (within.days ?? 0) * 86_400;

/** Membership of another segment (no cycles). */
export interface SegmentCondition {
  type: 'segment';
  segment: string;
  member?: boolean;
}

/** A deterministic share of profiles, [from, to) out of 100, by hash of profile id and salt: holdouts, A/B tests. */
export interface BucketCondition {
  type: 'bucket';
  from: number;
  to: number;
  salt?: string;
}

/** An indicator compared to a value ("engagement score at least 50", "lifecycle stage is at_risk"); `channel` for per-channel figures. */
export interface IndicatorCondition {
  type: 'indicator';
  indicator: string;
  channel?: Channel;
  operator: ComparisonOperator;
  value?: unknown;
}

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
        hours: z
          .number()
          .int()
          .min(1)
          .max(24 * 400)
          .optional(),
        minutes: z
          .number()
          .int()
          .min(1)
          .max(60 * 24 * 400)
          .optional(),
        calendar: z.boolean().optional(),
      })
      .refine((w) => [w.days, w.hours, w.minutes].filter((v) => v !== undefined).length === 1, {
        message: 'give exactly one of days, hours or minutes',
      })
      .refine((w) => !w.calendar || w.days !== undefined, { path: ['calendar'], message: 'calendar windows are in days' })
      .optional(),
    between: z
      .strictObject({ from: isoInstant, to: isoInstant })
      .refine((b) => Date.parse(b.from) <= Date.parse(b.to), { path: ['to'], message: 'must not be before from' })
      .optional(),
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
      if (c.aggregate)
        ctx.addIssue({ code: 'custom', path: ['aggregate'], message: 'needs a window in days (or none): figures are kept per day' });
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

export const days = z.strictObject({ days: z.number().int().min(1).max(400) });

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

// Named where JSON Schemas refer to it (the published segment schema, the API's document), not `__schema0`.
z.globalRegistry.add(conditionSchema, { id: 'SegmentCondition' });

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
