/**
 * How events fold into a profile. Folding is commutative for counts and last-timestamp-wins for
 * traits, so out-of-order delivery ends in the same profile as in-order delivery; a message folded
 * twice is recognised by its token. Pure: no I/O.
 */

import { addTime, addValue, type CompiledSpec, specKey, takesEvent, timesKey } from './aggregates';
import { addToBuckets, aggregateKey, BACKFILL_MAX_DAYS, behaviourName, hasSeen, pruneAggregates } from './buckets';
import { type CategoryRule, foldCategory } from './categories';
import { foldConsent } from './consent';
import type { EnrichedEvent } from './events';
import type { Identifier } from './identity';
import { forgetLateFolds, hasLateFold, isLate, noteLateFold } from './late-folds';
import { messageToken, TOKEN_CHARS } from './message-tokens';
import { noteOrder } from './order-tally';
import { type LimitReached, PROFILE_LIMITS, type Profile } from './profile';
import { emptyRecord, withoutPrototypes } from './records';
import { dayIndex } from './time';
import { foldTraits } from './traits';

export interface FoldResult {
  profile: Profile;
  applied: EnrichedEvent[];
  duplicates: EnrichedEvent[];
  /** Bounds reached by this fold, for the logs: a profile stays bounded, and says so. */
  limits: LimitReached[];
}

/** The order event and its revenue, for the lifetime order tally (see order-tally.ts). */
export type OrderRule = Pick<CompiledSpec, 'event' | 'valueOf'>;

/**
 * Folds events into a copy of the profile, skipping those it has already folded.
 * `specs` are the filtered and valued aggregates the current segments need.
 */
export function foldEvents(
  original: Profile,
  events: readonly EnrichedEvent[],
  identifiers: readonly Identifier[],
  now: number,
  specs: readonly CompiledSpec[] = [],
  categories?: CategoryRule,
  orders?: OrderRule,
): FoldResult {
  const profile = withoutPrototypes(original);
  const applied: EnrichedEvent[] = [];
  const duplicates: EnrichedEvent[] = [];
  const seenInBatch = new Set<string>();
  const limits: LimitReached[] = [];

  for (const event of events) {
    const received = Date.parse(event.receivedAt);
    // A replayed event the profile had folded live (it came before the latest live one) is a duplicate too.
    const replayedSeen = event.replayed === true && received <= (profile.liveWatermark ?? -Infinity);
    if (seenInBatch.has(event.messageId) || hasSeen(profile, event.messageId) || replayedSeen) {
      duplicates.push(event);
      continue;
    }
    if (!event.replayed && received > (profile.liveWatermark ?? -Infinity)) profile.liveWatermark = received;
    seenInBatch.add(event.messageId);
    applied.push(event);
    foldOne(profile, event, specs, now, limits);
    const name = behaviourName(event);
    if (categories) foldCategory(profile, event, name, categories);
    if (orders && name === orders.event)
      profile.orders = noteOrder(profile.orders, dayIndex(Date.parse(event.timestamp)), orders.valueOf(event, now) ?? 0);
  }
  for (const id of identifiers) addIdentifier(profile, id, limits);
  forgetLateFolds(profile, specs, dayIndex(now) - BACKFILL_MAX_DAYS);
  pruneAggregates(profile, now, limits);
  return { profile, applied, duplicates, limits: dedupe(limits) };
}

const dedupe = (limits: LimitReached[]): LimitReached[] => [...new Map(limits.map((l) => [`${l.limit}\u0000${l.what}`, l])).values()];

function foldOne(profile: Profile, event: EnrichedEvent, specs: readonly CompiledSpec[], now: number, limits: LimitReached[]): void {
  const at = Date.parse(event.timestamp);
  const token = messageToken(event.messageId);
  if (at < Date.parse(profile.firstSeen)) profile.firstSeen = event.timestamp;
  if (at > Date.parse(profile.lastSeen)) profile.lastSeen = event.timestamp;

  // A group call's traits describe the account (Segment's semantics): kept on the group, not on the person.
  if (event.type === 'group') {
    if (event.groupId !== undefined) joinGroup(profile, event.groupId, at);
  } else {
    // Email is an identifier, kept normalised there.
    foldTraits(profile, event.traits, at, PROFILE_LIMITS, limits, (trait) => trait === 'email');
  }
  profile.channels[event.channel] = (profile.channels[event.channel] ?? 0) + 1;
  foldConsent(profile, event);
  const device = event.context.device as { token?: unknown } | undefined;
  if (typeof device?.token === 'string' && device.token.length <= 4096 && at >= Date.parse(profile.lastSeen))
    profile.pushToken = device.token;

  const name = behaviourName(event);
  if (name !== undefined) {
    const key = aggregateKey(name, event.channel);
    addToBuckets((profile.aggregates[key] ??= []), dayIndex(at), 1);
    notePerformed(profile, key, Math.floor(at / 1000));
    const received = Date.parse(event.receivedAt);
    // A replayed event was never folded live, and no backfill is left to add it: every spec takes it.
    // A live one received before a spec's start is late (the queue does not keep order): folded once,
    // and noted so the backfill skips it if the archive has it by then.
    foldSpecs(
      profile,
      event,
      name,
      specs,
      now,
      (spec) => event.replayed === true || !isLate(spec, received) || lateFoldNoted(profile, spec.id, token, now, limits),
    );
  }
  profile.recent = (profile.recent + token).slice(-PROFILE_LIMITS.recentMessages * TOKEN_CHARS);
}

/** Whether a late event may be folded into the spec: noted now; not when noted already or when the notes are full. */
function lateFoldNoted(profile: Profile, specId: string, token: string, now: number, limits: LimitReached[]): boolean {
  const noted = noteLateFold(profile, specId, token, dayIndex(now), PROFILE_LIMITS.lateFolded);
  if (noted === 'full') limits.push({ limit: 'lateFolded', what: specId });
  return noted === 'noted';
}

/**
 * Adds an event to the filtered and valued aggregates of the specs that take it and that `claims`
 * (asked only for a spec the event qualifies for, so it may note the fold); true if any did.
 */
function foldSpecs(
  profile: Profile,
  event: EnrichedEvent,
  name: string,
  specs: readonly CompiledSpec[],
  now: number,
  claims: (spec: CompiledSpec) => boolean,
): boolean {
  const at = Date.parse(event.timestamp);
  let folded = false;
  for (const spec of specs) {
    if (!takesEvent(spec, name)) continue;
    const value = spec.valueOf(event, now);
    if (value === undefined || !claims(spec)) continue;
    if (spec.kind === 'times')
      addTime((profile.aggregates[timesKey(spec)] ??= []), Math.floor(at / 1000), spec.property === undefined ? undefined : value);
    else addValue((profile.aggregates[specKey(spec, event.channel)] ??= []), dayIndex(at), value);
    folded = true;
  }
  return folded;
}

/** Widens the first and last instants an `event|channel` was performed to take `seconds`. */
export function notePerformed(profile: Pick<Profile, 'performed'>, key: string, first: number, last = first): void {
  const performed = (profile.performed ??= emptyRecord());
  const known = performed[key];
  performed[key] = known ? [Math.min(known[0], first), Math.max(known[1], last)] : [first, last];
}

/** Archived events a backfill adds to the aggregates of the specs it fills, for one profile. */
export interface BackfillChange {
  runId: string;
  /** Day index the run started, to forget its marker once it cannot run any more. */
  startDay: number;
  /** Where in the archive these events are: positions only grow during a run. */
  position: string;
  events: readonly EnrichedEvent[];
  specs: readonly CompiledSpec[];
}

/**
 * Adds archived events to the aggregates of the backfilled specs, in place, unless the profile has
 * already taken this position of the run (a redelivered step), or folded the event live, late, into
 * that spec: true when the profile changed.
 */
export function foldBackfill(profile: Profile, change: BackfillChange, now: number, limits: LimitReached[] = []): boolean {
  const marker = profile.backfills?.[change.runId];
  if (marker && marker[1] >= change.position) return false;
  let folded = false;
  for (const event of change.events) {
    const name = behaviourName(event);
    const token = messageToken(event.messageId);
    if (name !== undefined && foldSpecs(profile, event, name, change.specs, now, (spec) => !hasLateFold(profile, spec.id, token)))
      folded = true;
  }
  if (!folded) return false;
  (profile.backfills ??= emptyRecord())[change.runId] = [change.startDay, change.position];
  pruneAggregates(profile, now, limits);
  return true;
}

/**
 * Records the profile's membership of a group (account) as of `at`: the profile lists the groups of
 * its latest group calls, ids only (their traits live in the groups table), the newest few.
 */
export function joinGroup(profile: Pick<Profile, 'groups'>, groupId: string, at: number): void {
  const groups = (profile.groups ??= emptyRecord());
  if ((groups[groupId] ?? -Infinity) >= at) return;
  groups[groupId] = at;
  keepNewestGroups(groups);
}

/** Drops the groups last joined longest ago beyond PROFILE_LIMITS.groups, in place. */
export function keepNewestGroups(groups: Record<string, number>): void {
  const ids = Object.keys(groups);
  if (ids.length <= PROFILE_LIMITS.groups) return;
  for (const id of groupIdsOf({ groups }).slice(PROFILE_LIMITS.groups)) delete groups[id];
}

/** The profile's group ids, the most recently joined first (ties by id, so every reader agrees). */
export const groupIdsOf = (profile: Pick<Profile, 'groups'>): string[] =>
  Object.entries(profile.groups ?? {})
    .sort(([a, at], [b, bt]) => bt - at || (a < b ? -1 : a > b ? 1 : 0))
    .map(([id]) => id);

export function addIdentifier(profile: Profile, id: Identifier, limits?: LimitReached[]): void {
  const values = (profile.identifiers[id.type] ??= []);
  if (id.seenAt !== undefined) {
    const seen = (profile.identifierSeen ??= emptyRecord());
    const key = `${id.type}:${id.value}`;
    const previous = seen[key];
    seen[key] = previous
      ? [
          Math.min(previous[0], id.seenAt),
          Math.max(previous[1], id.seenAt),
          id.seenAt < previous[0] ? (id.source ?? previous[2]) : previous[2],
        ]
      : [id.seenAt, id.seenAt, id.source ?? ''];
  }
  if (values.includes(id.value)) return;
  values.push(id.value);
  if (values.length > PROFILE_LIMITS.identifiersPerType) {
    // Bounded like Segment's profiles: the oldest identifier of the type makes room.
    const dropped = values.shift()!;
    delete profile.identifierSeen?.[`${id.type}:${dropped}`];
    limits?.push({ limit: 'identifiersPerType', what: id.type });
  }
}
