/**
 * The processor's use case: resolve each event to a profile, coalesce a batch's
 * events per profile into one write, and report which inputs failed.
 */
import { eachConcurrently } from '../concurrency';
import { groupCallsById } from '../domain/groups';
import { DEFAULT_IDENTITY_CONFIG, type Identifier, type IdentityConfig } from '../domain/identity';
import type { CompiledRules } from '../domain/memberships';
import { PoisonMessageError } from '../errors';
import type { Logger } from '../logger';
import type { GroupStore } from '../ports/groups';
import type { IdentityStore } from '../ports/identities';
import type { ObjectStore } from '../ports/objects';
import type { ProfileStore } from '../ports/profiles';
import { type ArchiveDeps, archiveBatch } from './archive-batch';
import { GroupTraitsReader } from './group-traits';
import { type GroupWriterDeps, writeGroupCalls } from './group-writer';
import { IdentityLimits } from './identity-limits';
import type { ProfileWriter } from './profile-writer';
import { lookUp, type ResolveDeps, resolve } from './resolve-identity';
import type { RulesCache } from './rules-cache';
import type { SourcedEvent } from './sourced-event';

export interface ProcessEventsDeps extends ResolveDeps, ArchiveDeps {
  identities: IdentityStore;
  /** Read to check identity limits before two profiles are joined. */
  profiles: ProfileStore;
  writer: ProfileWriter;
  rules: RulesCache;
  logger: Logger;
  newProfileId: () => string;
  /** The clock group traits are dated by. */
  now: () => number;
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

/** The events of one profile in the batch, and the identifiers they bring. */
interface ProfileBatch {
  items: SourcedEvent[];
  identifiers: Identifier[];
}

/** DynamoDB refuses the request itself (a key too long): the same event fails the same way every time. */
const isFinal = (item: SourcedEvent, error: Error) =>
  error instanceof PoisonMessageError || error.name === 'ValidationException' || item.lastAttempt === true;

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
  const limits = new IdentityLimits({
    identities: deps.identities,
    profiles: deps.profiles,
    config: deps.identity ?? DEFAULT_IDENTITY_CONFIG,
  });
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
      const outcome = await deps.writer.apply(
        { profileId, events: batch.items.map((i) => i.event), identifiers: batch.identifiers, reason: 'events', groups: groupTraits },
        rules,
      );
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
async function writeGroups(
  byProfile: ReadonlyMap<string, ProfileBatch>,
  rules: CompiledRules,
  errors: Map<SourcedEvent, Error>,
  deps: ProcessEventsDeps,
): Promise<GroupTraitsReader | undefined> {
  const calls = groupCallsById(
    [...byProfile.values()].flatMap(({ items }) => items),
    (item) => item.event,
  );
  const { groups, queue } = deps;
  if (!groups || !queue) {
    const missing = new Error('this processor has no group store: group calls cannot be kept');
    for (const items of calls.values()) for (const item of items) errors.set(item, missing);
    return undefined;
  }
  const written: Awaited<ReturnType<typeof writeGroupCalls>>[] = [];
  await eachConcurrently([...calls], deps.concurrency, async ([groupId, items]) => {
    try {
      written.push(
        await writeGroupCalls(
          groupId,
          items.map((i) => i.event),
          { groups, queue, logger: deps.logger, now: deps.now },
          rules.needsGroups,
        ),
      );
    } catch (error) {
      deps.logger.error('group update failed', { error: error as Error });
      for (const item of items) errors.set(item, error as Error);
    }
  });
  return new GroupTraitsReader(groups, written);
}
