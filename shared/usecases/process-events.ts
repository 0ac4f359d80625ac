/**
 * The processor's use case: resolve each event to a profile, coalesce a batch's
 * events per profile into one write, and report which inputs failed.
 */
import { eachConcurrently } from '../concurrency';
import type { IdentityStore } from '../ports/identities';
import type { EnrichedEvent } from '../domain/events';
import type { ProfileStore } from '../ports/profiles';
import { DEFAULT_IDENTITY_CONFIG, breaksLimits, heldForm, identifierKey, identifierKeysOf, limitOf, identifiersOf, previousIdentifiersOf, type Identifier, type IdentityConfig } from '../domain/identity';
import { gzipSync } from 'node:zlib';
import type { ObjectStore } from '../ports/objects';
import { archiveKey, newArchiveKey, seal } from '../domain/archive';
import { consentStatements } from '../domain/consent';
import { survivorOf } from '../domain/merge';
import type { CompiledRules } from '../domain/memberships';
import { PoisonMessageError, VersionConflictError } from '../errors';
import type { Logger } from '../logger';
import type { ProfileWriter } from './profile-writer';
import { IdentityLimits, type Reservation } from './identity-limits';
import { writeGroupCalls, type GroupWriterDeps } from './group-writer';
import type { GroupStore } from '../ports/groups';
import { GroupTraitsReader } from './group-traits';
import { groupCallsById } from '../domain/groups';
import type { RulesCache } from './rules-cache';

export interface ProcessEventsDeps {
  identities: IdentityStore;
  /** Read to check identity limits before two profiles are joined. */
  profiles: ProfileStore;
  writer: ProfileWriter;
  rules: RulesCache;
  logger: Logger;
  newProfileId: () => string;
  /** Profiles written at once; bounded so a large batch does not flood DynamoDB. */
  concurrency: number;
  /** Where raw events are archived (sealed per person); no archive when absent. */
  archive?: Pick<ObjectStore, 'put' | 'list' | 'get'>;
  identity?: IdentityConfig;
  /** Where group calls keep their traits; a batch with group calls fails without it. */
  groups?: GroupStore;
  /** Takes the re-evaluation of a group's members when its traits change. */
  queue?: GroupWriterDeps['queue'];
}

/** An event and the queue message it came in, so failures map back to messages. */
export interface SourcedEvent {
  event: EnrichedEvent;
  origin: string;
  /** Its message is on its last receive: a failure now is final, and the event is parked. */
  lastAttempt?: boolean;
  /** Folded by an earlier delivery that could not archive it: archived though its profile has it. */
  unarchived?: boolean;
}

/** An event that will not succeed (poison, or failing on its message's last receive), to park alone. */
export interface ParkedEvent extends SourcedEvent {
  error: Error;
}

export interface ProcessResult {
  /** Origins to retry whole: one of their events failed in a way a redelivery may fix (refolding is a no-op). */
  failed: Map<string, Error>;
  /** Events to park one by one; the rest of their messages succeeded. */
  parked: ParkedEvent[];
  profiles: number;
  applied: number;
  duplicates: number;
  /** Events of erased people who did not come back with consent: dropped on purpose. */
  suppressed: number;
}

interface Resolved {
  profileId: string;
  identifiers: Identifier[];
}

/** The events of one profile in the batch, and the identifiers they bring. */
interface ProfileBatch {
  items: SourcedEvent[];
  identifiers: Identifier[];
}

/** DynamoDB refuses the request itself (a key too long): the same event fails the same way every time. */
const isFinal = (item: SourcedEvent, error: Error) => error instanceof PoisonMessageError || error.name === 'ValidationException' || item.lastAttempt === true;

/**
 * Failures are kept per event, so one event or one person never fails the others of the batch: a step
 * shared by the batch that fails is done again event by event (or person by person), and only the
 * events that fail that way are parked or retried.
 */
export async function processEvents(input: readonly SourcedEvent[], deps: ProcessEventsDeps): Promise<ProcessResult> {
  const errors = new Map<SourcedEvent, Error>();
  // Identities resolve in arrival order, not event time: an import of old store orders must not
  // create a profile before the login that, in the stream, already linked its identifiers.
  const ordered = input;

  const { owners, erased } = await lookUp(ordered, errors, deps);
  // Not one event's doing: if the catalog cannot be read, the whole batch is retried.
  const rules = await deps.rules.current();
  const redirects = new Map<string, string>();
  const limits = new IdentityLimits({ identities: deps.identities, profiles: deps.profiles, config: deps.identity ?? DEFAULT_IDENTITY_CONFIG });
  let suppressed = 0;
  const byProfile = new Map<string, ProfileBatch>();
  for (const item of ordered) {
    if (errors.has(item)) continue;
    try {
      const resolved = await resolve(item.event, { owners, redirects, erased, limits }, deps, rules);
      if (!resolved) {
        suppressed++;
        continue;
      }
      const { profileId, identifiers } = resolved;
      let batch = byProfile.get(profileId);
      if (!batch) byProfile.set(profileId, (batch = { items: [], identifiers: [] }));
      batch.items.push(item);
      batch.identifiers.push(...identifiers);
    } catch (error) {
      errors.set(item, error as Error);
    }
  }

  // Profiles merged while resolving later events of this batch: their events go to the survivor.
  const finalOf = (profileId: string) => {
    for (let hops = 0; redirects.has(profileId) && hops < 20; hops++) profileId = redirects.get(profileId)!;
    return profileId;
  };
  for (const [profileId, batch] of [...byProfile]) {
    const target = finalOf(profileId);
    if (target === profileId) continue;
    byProfile.delete(profileId);
    const into = byProfile.get(target);
    if (!into) byProfile.set(target, batch);
    else {
      into.items.push(...batch.items);
      into.identifiers.push(...batch.identifiers);
    }
  }

  // Groups first, so the batch's profiles are evaluated with the traits their group calls just set.
  const groupTraits = await writeGroups(byProfile, rules, errors, deps);

  let applied = 0;
  let duplicates = 0;
  // Per profile, the events this delivery folded: each event is archived by the delivery that folds it,
  // so a redelivered message (a timeout, SQS's at-least-once) or a client's retry is never archived twice.
  const toArchive: Array<[string, SourcedEvent[]]> = [];
  await eachConcurrently([...byProfile], deps.concurrency, async ([profileId, batch]) => {
    try {
      const outcome = await deps.writer.apply({ profileId, events: batch.items.map((i) => i.event), identifiers: batch.identifiers, reason: 'events', groups: groupTraits }, rules);
      applied += outcome.applied;
      duplicates += outcome.duplicates;
      const folded = batch.items.filter((i) => i.unarchived === true || !outcome.duplicateEvents.has(i.event));
      if (folded.length > 0) toArchive.push([profileId, folded]);
    } catch (error) {
      deps.logger.error('profile update failed', { profileId, error: error as Error });
      for (const item of batch.items) errors.set(item, error as Error);
    }
  });
  if (deps.archive) await archiveBatch(toArchive, deps);

  const retried = () => new Set([...errors].filter(([item, error]) => !isFinal(item, error)).map(([item]) => item.origin));

  const failed = new Map<string, Error>();
  const parked: ParkedEvent[] = [];
  const finallyRetried = retried();
  for (const [item, error] of errors) {
    if (finallyRetried.has(item.origin)) failed.set(item.origin, failed.get(item.origin) ?? error);
    else parked.push({ ...item, error });
  }
  return { failed, parked, profiles: byProfile.size, applied, duplicates, suppressed };
}

/**
 * Writes the traits of the batch's group calls, one conditional write per group, and returns the reader
 * of groups' traits the batch's profile writes share (seeded with the groups just written). A group that
 * cannot be written fails its calls' messages, which are retried whole (folding again is a no-op).
 */
async function writeGroups(byProfile: ReadonlyMap<string, ProfileBatch>, rules: CompiledRules, errors: Map<SourcedEvent, Error>, deps: ProcessEventsDeps): Promise<GroupTraitsReader | undefined> {
  const calls = groupCallsById([...byProfile.values()].flatMap(({ items }) => items), (item) => item.event);
  const { groups, queue } = deps;
  if (!groups || !queue) {
    const missing = new Error('this processor has no group store: group calls cannot be kept');
    for (const items of calls.values()) for (const item of items) errors.set(item, missing);
    return undefined;
  }
  const written: Awaited<ReturnType<typeof writeGroupCalls>>[] = [];
  await eachConcurrently([...calls], deps.concurrency, async ([groupId, items]) => {
    try {
      written.push(await writeGroupCalls(groupId, items.map((i) => i.event), { groups, queue, logger: deps.logger, now: Date.now }, rules.needsGroups));
    } catch (error) {
      deps.logger.error('group update failed', { error: error as Error });
      for (const item of items) errors.set(item, error as Error);
    }
  });
  return new GroupTraitsReader(groups, written);
}

/**
 * Owners and tombstones of the batch's identifiers, in one BatchGet each. If that fails (one event's
 * identifier can make the whole call invalid), each event is looked up alone, and only those that
 * still fail are marked.
 */
async function lookUp(items: readonly SourcedEvent[], errors: Map<SourcedEvent, Error>, deps: ProcessEventsDeps): Promise<{ owners: Map<string, string>; erased: Map<string, string> }> {
  const keysOf = ({ event }: SourcedEvent) => identifierKeysOf(event, deps.identity);
  const lookUpKeys = async (keys: string[]) => {
    const owners = await deps.identities.owners(keys);
    // Identifiers nobody owns may have been erased: their hashed tombstones say so (read only for those).
    const unknown = keys.filter((key) => !owners.has(key));
    const erased = unknown.length > 0 ? await deps.identities.erasedAmong(unknown) : new Map<string, string>();
    return { owners, erased };
  };
  try {
    return await lookUpKeys(items.flatMap(keysOf));
  } catch (error) {
    if (items.length === 1) errors.set(items[0]!, error as Error);
    else deps.logger.warn('identity lookup failed for the batch: looking up each event alone', { error: error as Error });
  }
  const owners = new Map<string, string>();
  const erased = new Map<string, string>();
  for (const item of items.length === 1 ? [] : items) {
    try {
      const found = await lookUpKeys(keysOf(item));
      for (const [key, owner] of found.owners) owners.set(key, owner);
      for (const [key, at] of found.erased) erased.set(key, at);
    } catch (error) {
      errors.set(item, error as Error);
    }
  }
  return { owners, erased };
}

/**
 * Archives the events this delivery folded, each sealed with its person's key, as one object. If that
 * fails, each queue message's events are archived as an object of their own, so one person's key or
 * object does not hold back the other messages. Events still not archived go back to the queue marked
 * `unarchived`, to be archived though their profiles have them (a retry of their message would find
 * them folded and archive nothing); if that send fails too, the error log names them.
 */
async function archiveBatch(folded: ReadonlyArray<readonly [string, SourcedEvent[]]>, deps: ProcessEventsDeps): Promise<void> {
  if (folded.length === 0) return;
  const archive = async (part: ReadonlyArray<readonly [string, SourcedEvent[]]>) => {
    const keys = await deps.identities.archiveKeys(part.map(([profileId]) => profileId), newArchiveKey);
    // Replayed events came from the archive: they are there already.
    const records = part.flatMap(([profileId, items]) => items.filter((i) => !i.event.replayed).map((i) => seal(i.event, profileId, keys.get(profileId)!)));
    if (records.length === 0) return;
    await deps.archive!.put(archiveKey(records), gzipSync(`${records.map((r) => JSON.stringify(r)).join('\n')}\n`), 'application/gzip');
  };
  try {
    await archive(folded);
    return;
  } catch (error) {
    deps.logger.warn('archive write failed for the batch: archiving each message alone', { error: error as Error });
  }
  const byOrigin = new Map<string, Array<readonly [string, SourcedEvent[]]>>();
  for (const [profileId, items] of folded) {
    for (const item of items) {
      const parts = byOrigin.get(item.origin) ?? byOrigin.set(item.origin, []).get(item.origin)!;
      const part = parts.find(([id]) => id === profileId);
      if (part) part[1].push(item);
      else parts.push([profileId, [item]]);
    }
  }
  for (const [origin, parts] of byOrigin) {
    try {
      await archive(parts);
    } catch (error) {
      const items = parts.flatMap(([, part]) => part);
      try {
        if (!deps.queue) throw new Error('this processor has no queue to hand the events back to');
        await deps.queue.send({ v: 1, kind: 'events', events: items.map((i) => i.event), unarchived: true });
        deps.logger.warn('archive write failed: the events are queued again to be archived', { origin, events: items.length, error: error as Error });
      } catch (sendError) {
        // Their profiles have them: a retry would find them folded. Named, so an operator knows which.
        const messageIds = items.map((i) => i.event.messageId);
        deps.logger.error('archive write failed and the events could not be queued again: they are missing from the archive', { origin, messageIds, error: error as Error, sendError: sendError as Error });
      }
    }
  }
}

/** Merges profiles into one; a profile already merged elsewhere brings its survivor into the merge. */
async function mergeAll(profileIds: string[], context: ResolveContext, deps: ProcessEventsDeps, rules: CompiledRules): Promise<string> {
  const pending = new Set(profileIds);
  for (let round = 0; round < 10 && pending.size > 1; round++) {
    const survivor = survivorOf([...pending]);
    for (const other of [...pending]) {
      if (other === survivor) continue;
      const result = await deps.writer.merge(survivor, other, rules);
      // The loser may not be written yet (first seen earlier in this batch): move what it claimed too.
      for (const [key, owner] of context.owners) if (owner === other) await deps.identities.repoint(key, other, result);
      context.redirects.set(other, result);
      pending.delete(other);
      if (result !== survivor) pending.add(result);
    }
  }
  return survivorOf([...pending]);
}

/**
 * Identity rules: walks the identifiers from the most trusted down, adding each (with everything its
 * profile already holds) to the person being assembled, and leaves out one that would break a limit,
 * so two customers who shared a device or a family email are never merged. Reads profiles only when
 * the event reaches an existing profile with something new.
 */
async function withinLimits(candidates: Identifier[], event: EnrichedEvent, context: ResolveContext, deps: ProcessEventsDeps): Promise<Identifier[]> {
  const config = deps.identity ?? DEFAULT_IDENTITY_CONFIG;
  const ownersOf = new Set(candidates.map((id) => context.owners.get(identifierKey(id))).filter((o): o is string => o !== undefined));
  const adds = candidates.some((id) => !context.owners.has(identifierKey(id)) && limitOf(id.type, config) !== undefined);
  if (ownersOf.size === 0 || (ownersOf.size === 1 && !adds)) return candidates;

  const collected = new Map<string, Set<string>>();
  const included = new Set<string>();
  const kept: Identifier[] = [];
  for (const id of candidates) {
    const owner = context.owners.get(identifierKey(id));
    // Values by their `heldForm`, as holdings keep them, so one value read from both sides counts once.
    const union = new Map([...collected].map(([type, values]) => [type, new Set(values)]));
    const add = (type: string, hash: string) => (union.get(type) ?? union.set(type, new Set()).get(type)!).add(hash);
    add(id.type, heldForm(id.type, id.value));
    if (owner && !included.has(owner)) for (const [type, hash] of await identifiersHeldBy(owner, context)) add(type, hash);
    const broken = breaksLimits(union, config);
    if (broken) {
      leftOut([id], event, `the ${broken} limit`, deps);
      continue;
    }
    collected.clear();
    for (const [type, values] of union) collected.set(type, values);
    if (owner) included.add(owner);
    kept.push(id);
  }
  return kept;
}

/** Logged by type only: the values may be personal data. */
function leftOut(ids: readonly Identifier[], event: EnrichedEvent, why: string, deps: ProcessEventsDeps): void {
  for (const id of ids) {
    deps.logger.warn('identifier left out of the match: it would join profiles beyond an identity limit', { messageId: event.messageId, type: id.type, why });
  }
}

/**
 * The identifiers a profile holds, as [type, heldForm] (holdings keep no value in clear): its holdings
 * (following merges) and those claimed in this batch.
 */
async function identifiersHeldBy(profileId: string, context: ResolveContext): Promise<Array<[string, string]>> {
  const held: Array<[string, string]> = [];
  for (const [key, owner] of context.owners) {
    if (owner !== profileId) continue;
    const separator = key.indexOf(':');
    held.push([key.slice(0, separator), heldForm(key.slice(0, separator), key.slice(separator + 1))]);
  }
  // Not the profile item: it is written after the claims, and a concurrent batch's would be missed.
  const { held: stored } = await context.limits.current(profileId);
  for (const [type, hashes] of Object.entries(stored)) for (const hash of hashes) held.push([type, hash]);
  return held;
}

interface ResolveContext {
  /** Identifier key -> owning profile, as known in this batch. */
  owners: Map<string, string>;
  /** Profiles merged away in this batch -> where they went. */
  redirects: Map<string, string>;
  /** Identifier keys of erased people -> when they were erased (from their tombstones). */
  erased: Map<string, string>;
  limits: IdentityLimits;
}

/** Matches made again when the profile chosen filled up meanwhile, before the message is retried. */
const RESOLVE_ATTEMPTS = 3;

/**
 * Picks the profile an event belongs to: the owner of its most trusted known
 * identifier, else a new profile. Unclaimed identifiers are claimed for it by
 * conditional put, so two concurrent first events agree on one profile.
 */
async function resolve(event: EnrichedEvent, context: ResolveContext, deps: ProcessEventsDeps, rules: CompiledRules): Promise<Resolved | undefined> {
  const { owners } = context;
  const identifiers = identifiersOf(event, deps.identity, (blocked) =>
    // The value itself may be personal data: log its type and length only.
    deps.logger.warn('blocked identifier value ignored', { messageId: event.messageId, type: blocked.type, length: blocked.value.length }),
  );
  const named = [...identifiers, ...previousIdentifiersOf(event, deps.identity)];
  // An erased person's identifiers bring nothing back, unless the event grants consent again, after
  // the erasure: one received before it (retried, or redriven from the DLQ) was sent before they asked.
  const erased = named.map(identifierKey).filter((key) => context.erased.has(key));
  if (erased.length > 0) {
    const afterErasure = erased.every((key) => event.receivedAt > context.erased.get(key)!);
    if (!afterErasure || !consentStatements(event).some((s) => s.granted === 1)) {
      deps.logger.warn('event of an erased person dropped: no new consent', { messageId: event.messageId });
      return undefined;
    }
    for (const key of erased) {
      await deps.identities.release(key);
      context.erased.delete(key);
    }
    deps.logger.info('an erased person came back with consent', { messageId: event.messageId });
  }
  const { limits } = context;
  let candidates: Identifier[], toClaim: Identifier[], refused: Identifier[], reservation: Reservation;
  let fresh: string | undefined, profileId: string;
  for (let attempt = 1; ; attempt++) {
    candidates = await withinLimits(named, event, context, deps);
    // The most trusted identifier someone owns chooses the profile.
    const chooser = candidates.findIndex((id) => owners.has(identifierKey(id)));
    fresh = chooser < 0 ? deps.newProfileId() : undefined;
    profileId = fresh ?? owners.get(identifierKey(candidates[chooser]!))!;
    toClaim = identifiers.filter((i) => candidates.includes(i) && !owners.has(identifierKey(i)));
    // Room is taken in the target's holdings before the claims, so whoever finds a claim finds it counted.
    // One more trusted than the chooser must fit: refused, the holdings read changed meanwhile (a
    // concurrent login took the profile's userId), and dropping it would fold this person into someone
    // else's profile. Nothing is taken then, and the match is made again on the holdings as they are now.
    const above = toClaim.filter((id) => candidates.indexOf(id) < chooser);
    reservation = await limits.reserve(profileId, toClaim, fresh !== undefined, above);
    ({ refused } = reservation);
    if (!refused.some((id) => above.includes(id))) break;
    if (attempt >= RESOLVE_ATTEMPTS) throw new VersionConflictError(`event ${event.messageId}: the profile it matched kept filling up under it`);
    deps.logger.warn('profile matched filled up meanwhile: matching again', { messageId: event.messageId, attempt });
  }
  let claimed = false;
  for (const [index, id] of toClaim.entries()) {
    if (refused.includes(id)) continue;
    const key = identifierKey(id);
    // A claim can lose to a concurrent batch: the owner it returns is then another profile of this person.
    const owner = await deps.identities.claim(key, profileId, event.timestamp);
    owners.set(key, owner);
    if (owner === profileId) claimed = true;
    else if (profileId === fresh && !claimed) {
      // A concurrent first event of this person won: its profile is this event's, the fresh one is given up.
      await limits.drop(fresh);
      profileId = owner;
      const rest = await limits.reserve(profileId, toClaim.slice(index + 1).filter((i) => !refused.includes(i)));
      refused.push(...rest.refused);
      reservation = rest;
    } else await limits.release(reservation, [id], owner); // only room it took, and none that counts for the winner too
  }
  if (refused.length > 0) leftOut(refused, event, 'taken by a concurrent batch', deps);
  candidates = candidates.filter((id) => !refused.includes(id));

  // One person, several profiles: they merge only if the union of their holdings keeps every limit,
  // checked and taken in one conditional write, so two racing batches cannot both merge past a limit.
  const distinct = [...new Set(candidates.map((id) => owners.get(identifierKey(id))).filter((id): id is string => id !== undefined))];
  const joined = distinct.slice(0, 1);
  for (const other of distinct.slice(1)) {
    if (await limits.join(joined[0]!, other)) joined.push(other);
    else {
      leftOut(candidates.filter((id) => owners.get(identifierKey(id)) === other), event, 'its profile would break a limit', deps);
      candidates = candidates.filter((id) => owners.get(identifierKey(id)) !== other);
    }
  }
  if (joined.length > 1) {
    // Merged into the deterministic survivor, whatever the order of arrival.
    profileId = await mergeAll(joined, context, deps, rules);
    for (const [key, owner] of owners) if (joined.includes(owner)) owners.set(key, profileId);
  } else if (joined.length === 1) profileId = joined[0]!;
  if (joined.length === 0) throw new PoisonMessageError(`event ${event.messageId} has no usable identifier (blocked or empty values)`);
  const ownIdentifiers = identifiers.filter((id) => candidates.includes(id) && owners.get(identifierKey(id)) === profileId);
  const seenAt = Date.parse(event.timestamp);
  return { profileId, identifiers: ownIdentifiers.map((id) => ({ ...id, seenAt, source: event.sourceId })) };
}
