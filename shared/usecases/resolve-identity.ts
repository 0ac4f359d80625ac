/**
 * Which profile an event belongs to: its identifiers looked up (the batch's at once), claimed for a new
 * profile when nobody owns them, profiles joined when they turn out to be one person (within the
 * identity limits), and erased people kept out unless they come back with consent.
 */

import { consentStatements } from '../domain/consent';
import type { EnrichedEvent } from '../domain/events';
import type { IdentityConfig } from '../domain/identity';
import {
  breaksLimits,
  DEFAULT_IDENTITY_CONFIG,
  heldForm,
  type Identifier,
  identifierKey,
  identifierKeysOf,
  identifiersOf,
  limitOf,
  previousIdentifiersOf,
} from '../domain/identity';
import type { CompiledRules } from '../domain/memberships';
import { survivorOf } from '../domain/merge';
import { PoisonMessageError, VersionConflictError } from '../errors';
import type { Logger } from '../logger';
import type { IdentityStore } from '../ports/identities';
import type { IdentityLimits, Reservation } from './identity-limits';
import type { ProfileWriter } from './profile-writer';
import type { SourcedEvent } from './sourced-event';

/** What resolving an event to a profile uses: the identity table, merges through the writer, the rules. */
export interface ResolveDeps {
  identities: Pick<IdentityStore, 'owners' | 'erasedAmong' | 'claim' | 'repoint' | 'release'>;
  writer: Pick<ProfileWriter, 'merge'>;
  logger: Logger;
  newProfileId: () => string;
  identity?: IdentityConfig;
}

interface Resolved {
  profileId: string;
  identifiers: Identifier[];
}

/**
 * Owners and tombstones of the batch's identifiers, in one BatchGet each. If that fails (one event's
 * identifier can make the whole call invalid), each event is looked up alone, and only those that
 * still fail are marked.
 */
export async function lookUp(
  items: readonly SourcedEvent[],
  errors: Map<SourcedEvent, Error>,
  deps: ResolveDeps,
): Promise<{ owners: Map<string, string>; erased: Map<string, string> }> {
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

/** Merges profiles into one; a profile already merged elsewhere brings its survivor into the merge. */
async function mergeAll(profileIds: string[], context: ResolveContext, deps: ResolveDeps, rules: CompiledRules): Promise<string> {
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
async function withinLimits(
  candidates: Identifier[],
  event: EnrichedEvent,
  context: ResolveContext,
  deps: ResolveDeps,
): Promise<Identifier[]> {
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
function leftOut(ids: readonly Identifier[], event: EnrichedEvent, why: string, deps: ResolveDeps): void {
  for (const id of ids) {
    deps.logger.warn('identifier left out of the match: it would join profiles beyond an identity limit', {
      messageId: event.messageId,
      type: id.type,
      why,
    });
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
export async function resolve(
  event: EnrichedEvent,
  context: ResolveContext,
  deps: ResolveDeps,
  rules: CompiledRules,
): Promise<Resolved | undefined> {
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
    if (attempt >= RESOLVE_ATTEMPTS)
      throw new VersionConflictError(`event ${event.messageId}: the profile it matched kept filling up under it`);
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
      const rest = await limits.reserve(
        profileId,
        toClaim.slice(index + 1).filter((i) => !refused.includes(i)),
      );
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
      leftOut(
        candidates.filter((id) => owners.get(identifierKey(id)) === other),
        event,
        'its profile would break a limit',
        deps,
      );
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
