/**
 * A profile's memberships re-evaluated against compiled segments in dependency order, only those its
 * changes can affect, with the transitions (entered, exited) they make. Pure: no I/O.
 */
import { ANY_EVENT, type CompiledSpec, compileSpec } from './aggregates';
import { behaviourName } from './buckets';
import type { EnrichedEvent } from './events';
import type { OrderRule } from './fold';
import type { GroupTraits } from './groups';
import { isFrozenIndicator } from './indicator-settings';
import { compileIndicators, type IndicatorModel, type IndicatorValues } from './indicators';
import type { Profile, TransitionReason } from './profile';
import { compile, type Evaluator } from './segment-compiler';
import type { Condition, Segment } from './segment-definition';
import { aggregateStarts, type Dependencies, dependenciesOf, orderByDependencies } from './segment-dependencies';
import { type Transition, transitionId } from './transitions';

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

/** What the events just folded change, for `evaluateMemberships` to evaluate only the segments they can affect. */
export function changesOf(events: readonly EnrichedEvent[]): ProfileChanges {
  const names = new Set<string>();
  const traits = new Set<string>();
  let groups = false;
  for (const event of events) {
    const name = behaviourName(event);
    if (name !== undefined) names.add(name);
    // A group call's traits are the group's: they change the person's groups, not their traits.
    if (event.type === 'group') groups = true;
    else for (const trait of Object.keys(event.traits)) traits.add(trait);
  }
  return { events: names, traits, groups };
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

/**
 * The rules a writer evaluates a profile with, compiled from the catalog's definitions: segments in
 * dependency order, the aggregates to fold (for segments and for indicators), the indicator model.
 */
export interface CompiledRules {
  segments: CompiledSegment[];
  specs: CompiledSpec[];
  indicators: IndicatorModel;
  /** A segment compares a frozen indicator: writers must read the profile's frozen values. */
  needsFrozen: boolean;
  /** A segment compares the traits of a profile's groups: writers must read them. */
  needsGroups: boolean;
  /** The order event and its revenue, tallied on every profile for the customer-base models. */
  orders: OrderRule;
}

export function compileRules(segments: readonly Segment[], indicators: IndicatorModel = compileIndicators()): CompiledRules {
  const compiled = orderByDependencies(segments).map(compileSegment);
  const needsFrozen = compiled.some((s) => s.dependsOn.indicators.some(isFrozenIndicator));
  const compiledSpecs = [...aggregateStarts(segments, indicators.specs).values()].map(({ spec, since }) =>
    compileSpec(spec, since === undefined ? undefined : Date.parse(since)),
  );
  const needsGroups = compiled.some((s) => s.dependsOn.groupTraits.length > 0);
  return {
    segments: compiled,
    specs: compiledSpecs,
    indicators,
    needsFrozen,
    needsGroups,
    orders: compileSpec(indicators.aggregates.revenue),
  };
}
