/**
 * The unified profile and how events fold into it. Folding is commutative for
 * counts and last-timestamp-wins for traits, so out-of-order delivery ends in
 * the same profile as in-order delivery. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import type { Channel, EnrichedEvent } from './events';
import { VALUE_STRIDE, addTime, addValue, eventKey, isTimesKey, keyParts, specKey, takesEvent, timesKey, timesStride, type CompiledSpec } from './aggregates';
import type { Identifier, IdentifierType } from './identity';
import { foldCategory, type CategoryRule } from './categories';
import { foldConsent, type Consents } from './consent';
import { emptyRecord, withoutPrototypes } from './records';
import { foldTraits } from './traits';
import { TOKEN_CHARS, holdsToken, messageToken } from './message-tokens';
import { forgetLateFolds, hasLateFold, isLate, noteLateFold, type LateFolded } from './late-folds';
import { DAY_MS, dayIndex } from './time';
import { DAILY_DAYS, weekStart } from './windows';

export { DAY_MS, dayIndex };

export const PROFILE_LIMITS = {
  /** Daily buckets older than this are dropped: the longest window a segment can look back. */
  horizonDays: 400,
  /** Buckets stay daily this long; older ones are merged into weeks, so a key holds at most ~90 buckets. */
  dailyDays: DAILY_DAYS,
  /** Distinct aggregate keys kept; the least recently active is evicted first. */
  aggregateKeys: 64,
  identifiersPerType: 10,
  /** Distinct traits kept; new ones beyond this are ignored (existing ones still update). */
  traits: 64,
  /** A trait value larger than this, as JSON, is not stored. */
  traitBytes: 1024,
  /** Message ids remembered to drop redelivered duplicates without an extra table. */
  recentMessages: 64,
  /** Groups (accounts) listed on the profile, by id: the most recently joined are kept. */
  groups: 10,
  /** Late events noted for the backfills under way, all specs together (see late-folds.ts); beyond, the backfill takes them. */
  lateFolded: 32,
} as const;

/**
 * Why a membership changed: new `events` for the profile, a saved segment `definition` evaluated over
 * stored profiles, `time` passing (the time sweep, the daily freeze), or a `merge` of two profiles.
 */
export type TransitionReason = 'events' | 'definition' | 'time' | 'merge';

/** A membership change: published, written to the membership table, counted in the segment's history. */
export interface Transition {
  id: string;
  segmentId: string;
  /** The segment definition's revision that decided this change. */
  segmentRevision: number;
  profileId: string;
  change: 'entered' | 'exited';
  at: string;
  reason: TransitionReason;
}

export interface Profile {
  profileId: string;
  /** Optimistic-locking version; every write is conditional on it. */
  version: number;
  firstSeen: string;
  lastSeen: string;
  identifiers: Partial<Record<IdentifierType, string[]>>;
  /** `type:value` -> [first seen ms, last seen ms, source of the first sighting]. */
  identifierSeen?: Record<string, [number, number, string]>;
  traits: Record<string, unknown>;
  /** Epoch milliseconds of the event that last set each trait. */
  traitsAt: Record<string, number>;
  /** Events seen per channel, all time. */
  channels: Partial<Record<Channel, number>>;
  /** `event|channel` -> daily counts as flat `[day, count, day, count, ...]`, newest day first (see `Buckets`). */
  aggregates: Record<string, Buckets>;
  /**
   * `event|channel` -> [first, last] instant performed, epoch seconds: exact whatever the buckets'
   * granularity, and kept past their horizon, for "last purchase more than 90 days ago".
   */
  performed?: Record<string, [number, number]>;
  /** Ids of the segments the profile is in. */
  segments: string[];
  /** Groups (accounts, Segment's `group` calls) the person belongs to: groupId -> epoch ms of the latest call, at most PROFILE_LIMITS.groups. */
  groups?: Record<string, number>;
  /** Fixed-width tokens of the last message ids folded, newest last. */
  recent: string;
  /** The membership changes of the write that made this version, perhaps not yet applied (the outbox). */
  pending?: PendingChanges;
  /** Epoch ms when a membership can next change with time alone (absent: never). */
  nextCheckAt?: number;
  /** Key of the sparse `due` index: the minute (and shard) `nextCheckAt` rounds up to (shared/domain/due-index.ts). */
  due?: string;
  /** Set on a profile merged into another: reads and writes follow it to the survivor. */
  mergedInto?: string;
  /** Profiles this one absorbed (the latest MAX_MERGES). */
  mergedFrom?: string[];
  /** Epoch ms of each of those merges. */
  mergedAt?: Record<string, number>;
  /** On a merged-away profile: every step of the merge is done; only the redirect is left. */
  mergeCompleted?: boolean;
  /** Interest per product category: `[decayed score, day index]`, the strongest few (see categories.ts). */
  categories?: Record<string, [number, number]>;
  /** Consent per channel, latest statement wins (see consent.ts). */
  consents?: Consents;
  /** The latest push token (Segment's `context.device.token`): the address of the push channel. */
  pushToken?: string;
  /** Epoch ms: the latest `receivedAt` among the live (not replayed) events folded. A replay folds only later ones. */
  liveWatermark?: number;
  /** Backfills under way: run id -> [day index the run started, position of the last archived part added]. */
  backfills?: Record<string, [number, string]>;
  /** Late live events folded into specs still being backfilled, which their backfill skips (see late-folds.ts). */
  lateFolded?: LateFolded;
}

export function newProfile(profileId: string, at: string): Profile {
  return {
    profileId,
    version: 0,
    firstSeen: at,
    lastSeen: at,
    // Keyed by names clients chose (`__proto__` included): records without a prototype (see records.ts).
    identifiers: emptyRecord(),
    traits: emptyRecord(),
    traitsAt: emptyRecord(),
    channels: emptyRecord(),
    aggregates: emptyRecord(),
    segments: [],
    recent: '',
  };
}

/**
 * The outbox as the profile item keeps it. Every write is billed by the whole item's size, so it is
 * compact: the transitions of one write share their profile, time and reason, and their ids follow
 * from the version the write read (a fifth of the size of the transitions written out). That version
 * is kept, not inferred from the item's: marking a profile merged bumps the item's version and
 * carries the outbox over as it is.
 */
export interface PendingChanges {
  /** The version the write read (it made the next one): the transitions' ids follow from it. */
  baseVersion: number;
  /** Epoch ms of the evaluation. */
  at: number;
  reason: TransitionReason;
  /** Segment id -> revision of the definition that decided the change. */
  entered?: Record<string, number>;
  exited?: Record<string, number>;
}

/** The outbox to store with a write, from that write's transitions and the version it read. */
export function packPending(transitions: readonly Transition[], baseVersion: number): PendingChanges | undefined {
  const first = transitions[0];
  if (!first) return undefined;
  const pending: PendingChanges = { baseVersion, at: Date.parse(first.at), reason: first.reason };
  for (const t of transitions) (pending[t.change] ??= emptyRecord())[t.segmentId] = t.segmentRevision;
  return pending;
}

/** The transitions a stored profile's outbox holds, ids included, as the write that made them produced them. */
export function pendingTransitions(profile: Pick<Profile, 'profileId' | 'pending'>): Transition[] {
  const { pending } = profile;
  if (!pending) return [];
  if (Array.isArray(pending)) return pending as Transition[]; // written before the outbox was compact: the transitions themselves
  const at = new Date(pending.at).toISOString();
  return (['entered', 'exited'] as const).flatMap((change) =>
    Object.entries(pending[change] ?? {}).map(([segmentId, segmentRevision]) => ({
      id: transitionId(profile.profileId, segmentId, change, pending.baseVersion),
      segmentId,
      segmentRevision,
      profileId: profile.profileId,
      change,
      at,
      reason: pending.reason,
    })),
  );
}

/**
 * Deterministic, so a retried write publishes the same id and consumers can drop the duplicate:
 * `version` is the one the write read (it makes `version + 1`).
 */
export const transitionId = (profileId: string, segmentId: string, change: string, version: number): string =>
  createHash('sha256').update(`${profileId}\u0000${segmentId}\u0000${change}\u0000${version}`).digest('hex').slice(0, 32);

/** The id of a change made of these transitions (published as one event): the same transitions, the same id. */
export const changeId = (transitions: readonly Pick<Transition, 'id'>[]): string =>
  createHash('sha256').update(transitions.map((t) => t.id).sort().join('\u0000')).digest('hex').slice(0, 32);

/** The name under which an event's occurrences are counted, or undefined for events that are not behaviour. */
export function behaviourName(event: Pick<EnrichedEvent, 'type' | 'event'>): string | undefined {
  switch (event.type) {
    case 'track':
      return event.event;
    case 'page':
      return 'Page Viewed';
    case 'screen':
      return 'Screen Viewed';
    case 'identify':
    case 'group':
    case 'alias':
      return undefined;
  }
}

export const aggregateKey = (event: string, channel: Channel): string => eventKey(event, channel);

/**
 * Daily counts of one `event|channel`, flat and newest first: `[day, count, day, count, ...]`
 * with UTC day indexes strictly decreasing. A window "since day D" is read from the front and
 * stops at the first older day, so recent windows cost a few steps whatever the history.
 */
export type Buckets = number[];

export function addToBuckets(buckets: Buckets, day: number, count: number): void {
  let i = 0;
  while (i < buckets.length && buckets[i]! > day) i += 2;
  if (buckets[i] === day) buckets[i + 1]! += count;
  else buckets.splice(i, 0, day, count);
}

/** Sum of the counts on `firstDay` or later. */
export function countSince(buckets: Buckets, firstDay: number): number {
  let total = 0;
  for (let i = 0; i < buckets.length && buckets[i]! >= firstDay; i += 2) total += buckets[i + 1]!;
  return total;
}

export const totalCount = (buckets: Buckets): number => countSince(buckets, -Infinity);

/** Sum of the counts from `firstDay` to `lastDay`, both included. */
export function countBetween(buckets: Buckets, firstDay: number, lastDay: number): number {
  let total = 0;
  for (let i = 0; i < buckets.length && buckets[i]! >= firstDay; i += 2) if (buckets[i]! <= lastDay) total += buckets[i + 1]!;
  return total;
}

export const hasSeen = (profile: Profile, messageId: string): boolean => holdsToken(profile.recent, messageToken(messageId));

/**
 * A bound of PROFILE_LIMITS (or of merges) that made a fold leave something out. `what` names a type,
 * trait or aggregate key, never a value: these are logged, and values may be personal data.
 */
export interface LimitReached {
  limit: 'identifiersPerType' | 'traits' | 'traitBytes' | 'traitValue' | 'aggregateKeys' | 'merges' | 'lateFolded';
  what: string;
}

export interface FoldResult {
  profile: Profile;
  applied: EnrichedEvent[];
  duplicates: EnrichedEvent[];
  /** Bounds reached by this fold, for the logs: a profile stays bounded, and says so. */
  limits: LimitReached[];
}

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
    if (categories) foldCategory(profile, event, behaviourName(event), categories);
  }
  for (const id of identifiers) addIdentifier(profile, id, limits);
  forgetLateFolds(profile, specs, dayIndex(now) - BACKFILL_MAX_DAYS);
  pruneAggregates(profile, now, limits);
  return { profile, applied, duplicates, limits: dedupe(limits) };
}

const dedupe = (limits: LimitReached[]): LimitReached[] =>
  [...new Map(limits.map((l) => [`${l.limit}\u0000${l.what}`, l])).values()];

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
  if (typeof device?.token === 'string' && device.token.length <= 4096 && at >= Date.parse(profile.lastSeen)) profile.pushToken = device.token;

  const name = behaviourName(event);
  if (name !== undefined) {
    const key = aggregateKey(name, event.channel);
    addToBuckets((profile.aggregates[key] ??= []), dayIndex(at), 1);
    notePerformed(profile, key, Math.floor(at / 1000));
    const received = Date.parse(event.receivedAt);
    // A replayed event was never folded live, and no backfill is left to add it: every spec takes it.
    // A live one received before a spec's start is late (the queue does not keep order): folded once,
    // and noted so the backfill skips it if the archive has it by then.
    foldSpecs(profile, event, name, specs, now, (spec) => event.replayed === true || !isLate(spec, received) || lateFoldNoted(profile, spec.id, token, now, limits));
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
function foldSpecs(profile: Profile, event: EnrichedEvent, name: string, specs: readonly CompiledSpec[], now: number, claims: (spec: CompiledSpec) => boolean): boolean {
  const at = Date.parse(event.timestamp);
  let folded = false;
  for (const spec of specs) {
    if (!takesEvent(spec, name)) continue;
    const value = spec.valueOf(event, now);
    if (value === undefined || !claims(spec)) continue;
    if (spec.kind === 'times') addTime((profile.aggregates[timesKey(spec)] ??= []), Math.floor(at / 1000), spec.property === undefined ? undefined : value);
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

/** A backfill runs at most this long: its markers on profiles are dropped after it. */
export const BACKFILL_MAX_DAYS = 30;

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
    if (name !== undefined && foldSpecs(profile, event, name, change.specs, now, (spec) => !hasLateFold(profile, spec.id, token))) folded = true;
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
      ? [Math.min(previous[0], id.seenAt), Math.max(previous[1], id.seenAt), id.seenAt < previous[0] ? id.source ?? previous[2] : previous[2]]
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

function pruneAggregates(profile: Profile, now: number, limits: LimitReached[]): void {
  if (profile.backfills) {
    for (const [runId, [startDay]] of Object.entries(profile.backfills)) if (startDay < dayIndex(now) - BACKFILL_MAX_DAYS) delete profile.backfills[runId];
    if (Object.keys(profile.backfills).length === 0) delete profile.backfills;
  }
  const oldest = dayIndex(now) - PROFILE_LIMITS.horizonDays;
  const lastActive = new Map<string, number>();
  for (const [key, buckets] of Object.entries(profile.aggregates)) {
    // Times start with epoch seconds (one or two numbers per entry); buckets start with a day index.
    const [stride, oldestEntry] = isTimesKey(key) ? [timesStride(key), oldest * 86_400] : [isSpecKey(key) ? VALUE_STRIDE : 2, oldest];
    let keep = 0;
    while (keep < buckets.length && buckets[keep]! >= oldestEntry) keep += stride;
    buckets.length = keep;
    if (!isTimesKey(key)) coarsen(buckets, stride, dayIndex(now) - PROFILE_LIMITS.dailyDays);
    if (keep === 0) delete profile.aggregates[key];
    else lastActive.set(key, isTimesKey(key) ? Math.floor(buckets[0]! / 86_400) : buckets[0]!);
  }
  const excess = lastActive.size - PROFILE_LIMITS.aggregateKeys;
  if (excess > 0) {
    const stalest = [...lastActive.entries()].sort((a, b) => a[1] - b[1]).slice(0, excess);
    for (const [key] of stalest) {
      delete profile.aggregates[key];
      limits.push({ limit: 'aggregateKeys', what: key });
    }
  }
  // First and last instants outlive the buckets' horizon, under the same bound on keys.
  const performed = Object.entries(profile.performed ?? {});
  if (performed.length > PROFILE_LIMITS.aggregateKeys) {
    for (const [key] of performed.sort((a, b) => a[1][1] - b[1][1]).slice(0, performed.length - PROFILE_LIMITS.aggregateKeys)) delete profile.performed![key];
  }
}

/**
 * Merges buckets of days before `cutoff` into week buckets (keyed by the week's first day index),
 * in place. Counts and sums add up, minima and maxima combine. Windows reaching that far back
 * are therefore week-granular: a week counts when it starts inside the window.
 */
export function coarsen(buckets: number[], stride: number, cutoff: number): void {
  let write = 0;
  for (let read = 0; read < buckets.length; read += stride) {
    const day = buckets[read]!;
    const target = day >= cutoff ? day : weekStart(day);
    const previous = write - stride;
    if (previous >= 0 && buckets[previous] === target) {
      buckets[previous + 1]! += buckets[read + 1]!;
      if (stride === VALUE_STRIDE) {
        buckets[previous + 2]! += buckets[read + 2]!;
        buckets[previous + 3] = Math.min(buckets[previous + 3]!, buckets[read + 3]!);
        buckets[previous + 4] = Math.max(buckets[previous + 4]!, buckets[read + 4]!);
      }
      continue;
    }
    for (let k = 0; k < stride; k++) buckets[write + k] = buckets[read + k]!;
    buckets[write] = target;
    write += stride;
  }
  buckets.length = write;
}

/** Keys of filtered and valued aggregates have a third part, the spec id. */
export const isSpecKey = (key: string): boolean => key.split('|').length === 3;

/**
 * The plain counts (not the filtered aggregates kept for segments) by event name, then channel, each
 * channel's buckets read through `read`. Keyed by names a client chose: records without a prototype.
 */
export function perEventAndChannel<T>(profile: Pick<Profile, 'aggregates'>, read: (buckets: Buckets) => T): Record<string, Record<string, T>> {
  const events = emptyRecord<Record<string, T>>();
  for (const [key, buckets] of Object.entries(profile.aggregates)) {
    if (isSpecKey(key)) continue;
    const { event, channel } = keyParts(key);
    (events[event] ??= emptyRecord())[channel] = read(buckets);
  }
  return events;
}

/** Email of a profile for display and export: the most recently seen address. */
export const primaryEmail = (profile: Profile): string | undefined => profile.identifiers.email?.at(-1);
