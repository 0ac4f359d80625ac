/**
 * Aggregates that segments ask profiles to maintain beyond plain event counts:
 * occurrences of an event whose properties pass filters, with the sum, min and
 * max of one numeric property, per channel and UTC day. Each is identified by
 * a hash of its definition, so two segments asking the same share one. Pure.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { COMPARISON_OPERATORS, type ComparisonOperator, compileComparison, valueProblem } from './comparisons';
import type { Channel, EnrichedEvent } from './events';
import { hasKey, own } from './records';

export interface PropertyFilter {
  /** A property name, or a dotted path into nested objects (`product.category`). */
  property: string;
  operator: ComparisonOperator;
  value?: unknown;
  /** Text compared exactly (`eq`, `in`, `contains`, `regex`...); case is ignored by default. */
  caseSensitive?: boolean;
}

export const propertyFilterSchema = z
  .strictObject({
    property: z.string().min(1).max(200),
    operator: z.enum(COMPARISON_OPERATORS),
    value: z.unknown().optional(),
    caseSensitive: z.boolean().optional(),
  })
  .superRefine((f, ctx) => {
    const problem = valueProblem(f.operator, f.value);
    if (problem) ctx.addIssue({ code: 'custom', path: ['value'], message: problem });
  });

/** The event of a spec that takes every behaviour (track, page, screen): "any event on the web". */
export const ANY_EVENT = '*';

/** Whether a spec takes occurrences of the behaviour `name`. */
export const takesEvent = (spec: Pick<AggregateSpec, 'event'>, name: string): boolean => spec.event === ANY_EVENT || spec.event === name;

export interface AggregateSpec {
  id: string;
  /**
   * `values`: per channel and day, count, sum, min and max (of `property` when given).
   * `times`: the instants of the latest occurrences (with the value of `property` when given), for
   * sequences ("A then B within 24 h") and for the edge of rolling windows.
   */
  kind: 'values' | 'times';
  /** An event name, or ANY_EVENT. */
  event: string;
  where: PropertyFilter[];
  /** Numeric property whose sum, min and max (or, for `times`, value) are kept; only events where it is a number are folded. */
  property?: string;
  /** For `times`: the channels that count (all when absent). */
  channels?: Channel[];
}

const canonicalFilters = (where: readonly PropertyFilter[]) =>
  [...where].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
/** What identifies a filter in a spec id; `caseSensitive` only when set, so older ids stay as they were. */
const filterIdentity = (f: PropertyFilter): unknown[] => [f.property, f.operator, f.value ?? null, ...(f.caseSensitive ? ['cs'] : [])];
const hashOf = (canonical: unknown[]) => createHash('sha256').update(JSON.stringify(canonical)).digest('base64url').slice(0, 10);

export function aggregateSpec(event: string, where: readonly PropertyFilter[] = [], property?: string): AggregateSpec {
  const filters = canonicalFilters(where);
  const id = hashOf([event, filters.map(filterIdentity), property ?? null]);
  return { id, kind: 'values', event, where: filters, property };
}

export function occurrenceSpec(
  event: string,
  where: readonly PropertyFilter[] = [],
  channels?: readonly Channel[],
  property?: string,
): AggregateSpec {
  const filters = canonicalFilters(where);
  const sortedChannels = channels ? [...new Set(channels)].sort() : undefined;
  // The property joins the hash only when given: the ids of instants-only specs stay as they were.
  const id = hashOf(['times', event, filters.map(filterIdentity), sortedChannels ?? null, ...(property === undefined ? [] : [property])]);
  return { id, kind: 'times', event, where: filters, channels: sortedChannels, ...(property !== undefined && { property }) };
}

/**
 * Aggregate keys join an event's name, a channel and a spec id with `|`. Inside a key, a name's own `|`
 * is written as U+001F, which no event name holds (ingest removes control characters), so a name such
 * as `Checkout | Step 2` or `A|store` can pass neither for a channel nor for a spec.
 */
const nameInKey = (event: string): string => event.replaceAll('|', '\u001F');

/** Storage key of an event's counts on one channel: `event|channel`. */
export const eventKey = (event: string, channel: string): string => `${nameInKey(event)}|${channel}`;
/** Storage key of a `values` spec's buckets for one channel: `event|channel|specId`. */
export const specKey = (spec: Pick<AggregateSpec, 'id' | 'event'>, channel: string): string =>
  `${nameInKey(spec.event)}|${channel}|${spec.id}`;
/**
 * Storage key of a `times` spec: `event|*|specId` for instants, `event|+|specId` for instants with a
 * value (its channels are part of the spec).
 */
export const timesKey = (spec: Pick<AggregateSpec, 'id' | 'event' | 'property'>): string =>
  `${nameInKey(spec.event)}|${spec.property === undefined ? '*' : '+'}|${spec.id}`;
export const isTimesKey = (key: string): boolean => {
  const channel = key.split('|')[1];
  return channel === '*' || channel === '+';
};
/** Numbers per occurrence in a `times` key: the instant, and its value for `event|+|...`. */
export const timesStride = (key: string): 1 | 2 => (key.split('|')[1] === '+' ? 2 : 1);

/** What a key of any kind names: the event (with its own `|` back), the channel (`*` for times), the spec. */
export function keyParts(key: string): { event: string; channel: string; specId?: string } {
  const [name, channel, specId] = key.split('|') as [string, string, string | undefined];
  return { event: name.replaceAll('\u001F', '|'), channel, specId };
}

/** Latest occurrences kept per `times` spec: enough for sequences over recent behaviour, bounded. */
export const MAX_OCCURRENCES = 50;

/**
 * Inserts an occurrence into a newest-first list, capped at MAX_OCCURRENCES: its instant (epoch
 * seconds), followed by its value when the list keeps values (`stride` 2).
 */
export function addTime(times: number[], seconds: number, value?: number): void {
  const stride = value === undefined ? 1 : 2;
  let i = 0;
  while (i < times.length && times[i]! > seconds) i += stride;
  if (value === undefined) times.splice(i, 0, seconds);
  else times.splice(i, 0, seconds, value);
  if (times.length > MAX_OCCURRENCES * stride) times.length = MAX_OCCURRENCES * stride;
}

export interface CompiledSpec extends AggregateSpec {
  /**
   * Epoch ms, on a spec a new segment introduced: a backfill from the archive adds the events
   * received before this; a live one received before is late, folded and noted on its profile so the
   * backfill skips it (see late-folds.ts). Absent once the spec holds every event.
   */
  receivedFrom?: number;
  /** The value to fold for this event, or undefined when the event does not qualify. */
  valueOf(event: EnrichedEvent, now: number): number | undefined;
}

// Own properties only: a filter on `constructor` must not find Object's function on every event.
const readPath = (properties: Record<string, unknown>, path: string): unknown => {
  if (hasKey(properties, path)) return properties[path];
  let current: unknown = properties;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = own(current as Record<string, unknown>, part);
  }
  return current;
};

export function compileSpec(spec: AggregateSpec, receivedFrom?: number): CompiledSpec {
  const filters = spec.where.map((f) => ({ path: f.property, test: compileComparison(f.operator, f.value, f.caseSensitive) }));
  const channels = spec.channels ? new Set<string>(spec.channels) : undefined;
  return {
    ...spec,
    ...(receivedFrom !== undefined && { receivedFrom }),
    valueOf(event, now) {
      if (channels && !channels.has(event.channel)) return undefined;
      for (const filter of filters) if (!filter.test(readPath(event.properties, filter.path), now)) return undefined;
      if (spec.property === undefined) return 0;
      const value = readPath(event.properties, spec.property);
      const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      // Figures summed into DynamoDB numbers: beyond a plausible range, an amount is noise, not revenue.
      return Number.isFinite(number) && Math.abs(number) < 1e15 ? number : undefined;
    },
  };
}

/**
 * Value buckets, flat and newest first like plain counts but five wide:
 * `[day, count, sum, min, max, day, count, ...]`.
 */
export const VALUE_STRIDE = 5;

export function addValue(buckets: number[], day: number, value: number): void {
  let i = 0;
  while (i < buckets.length && buckets[i]! > day) i += VALUE_STRIDE;
  if (buckets[i] === day) {
    buckets[i + 1]! += 1;
    buckets[i + 2]! += value;
    buckets[i + 3] = Math.min(buckets[i + 3]!, value);
    buckets[i + 4] = Math.max(buckets[i + 4]!, value);
  } else {
    buckets.splice(i, 0, day, 1, value, value, value);
  }
}

export interface WindowValues {
  count: number;
  sum: number;
  min: number;
  max: number;
}

export const emptyWindow = (): WindowValues => ({ count: 0, sum: 0, min: Infinity, max: -Infinity });

/** Adds the buckets from `firstDay` to `lastDay` (both included) into `into`. */
export function readValues(buckets: readonly number[], firstDay: number, into: WindowValues, lastDay = Infinity): WindowValues {
  for (let i = 0; i < buckets.length && buckets[i]! >= firstDay; i += VALUE_STRIDE) {
    if (buckets[i]! > lastDay) continue;
    into.count += buckets[i + 1]!;
    into.sum += buckets[i + 2]!;
    if (buckets[i + 3]! < into.min) into.min = buckets[i + 3]!;
    if (buckets[i + 4]! > into.max) into.max = buckets[i + 4]!;
  }
  return into;
}
