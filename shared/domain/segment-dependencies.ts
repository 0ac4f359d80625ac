/**
 * What a condition depends on (events, traits, indicators, other segments, time, aggregates), the
 * order segments are evaluated in, and the refusal of cycles and unknown references. Pure: no I/O.
 */

import type { AggregateSpec } from './aggregates';
import { assertUnreachable } from './assert-unreachable';
import { PrismeError } from './errors';
import type { Condition, Segment } from './segment-definition';
import { bucketSpecOf, edgeSpecOf, eventOf, sequenceStepSpec } from './segment-events';

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
        for (const inner of c.conditions) visit(inner);
        return;
      case 'not':
        visit(c.condition);
        return;
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
        assertUnreachable(c);
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
 * The aggregate specs kept for these segments and indicators, each with the ISO time its live events count
 * from (`specsSince`, until a backfill adds the older ones), or undefined when it holds every event: any
 * indicator or segment holding a spec whole makes it whole.
 */
export function aggregateStarts(
  segments: readonly Segment[],
  indicatorSpecs: readonly AggregateSpec[],
): Map<string, { spec: AggregateSpec; since?: string }> {
  const starts = new Map<string, { spec: AggregateSpec; since?: string }>(indicatorSpecs.map((spec) => [spec.id, { spec }]));
  for (const segment of segments) {
    for (const spec of aggregateSpecsOf(segment.condition)) {
      const mine = segment.specsSince?.[spec.id];
      const known = starts.get(spec.id);
      const since = !known ? mine : known.since === undefined || mine === undefined ? undefined : [mine, known.since].sort()[0];
      starts.set(spec.id, { spec, ...(since !== undefined && { since }) });
    }
  }
  return starts;
}
