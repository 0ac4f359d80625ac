/**
 * The right to erasure (GDPR art. 17). In an order that can be repeated after a crash: tombstones
 * first (so events arriving meanwhile cannot bring the person back), then memberships, frozen values,
 * the scrub of the snapshot files handed to the snapshot function (see scrub-snapshots: it has the
 * time and the grants; `Profile Erased` starts it), merged-away redirects, and the profile last (a
 * repeated request still finds it and finishes). What is kept: a hash of each erased identifier (to
 * recognise later events, see process-events) and a log entry with counts, no personal data.
 */

import { DETAIL_TYPES } from '../contracts/detail-types';
import { newRunId } from '../domain/audiences';
import { identifierKey } from '../domain/identity';
import type { Logger } from '../logger';
import type { RunRecord, RunStore, StatsStore } from '../ports/catalog';
import type { EventPublisher } from '../ports/event-publisher';
import type { FrozenStore } from '../ports/frozen';
import type { GroupStore } from '../ports/groups';
import type { IdentityStore } from '../ports/identities';
import type { MembershipStore } from '../ports/memberships';
import type { ProfileStore } from '../ports/profiles';
import { followMerges } from './follow-merges';
import { ERASURES_SCOPE, type ErasedPerson, hashUserId, SCRUB_PART, type SnapshotsProgress, scrubPhase } from './scrub-snapshots';

export { ERASURES_SCOPE };

export interface ErasureDeps {
  profiles: Pick<ProfileStore, 'get' | 'delete'>;
  identities: Pick<IdentityStore, 'erase' | 'ownedBy' | 'dropArchiveKeys' | 'dropHoldings'>;
  memberships: Pick<MembershipStore, 'exit'>;
  frozen: Pick<FrozenStore, 'delete'>;
  /** The person leaves the member lists of their groups (the groups' traits describe accounts, and stay). */
  groups?: Pick<GroupStore, 'removeMember'>;
  catalog: Pick<RunStore, 'putRun' | 'putRunPart'> & Pick<StatsStore, 'addToSizes'>;
  publisher: EventPublisher;
  logger: Logger;
  now: () => number;
}

export const newErasureId = (now: number): string => `er_${newRunId(now)}`;

/** The index is eventually consistent: a pass that still finds new identifiers is followed by another, up to this many. */
const MAX_INDEX_PASSES = 10;

/** When a profile was made: its id starts with the milliseconds in base 36 (see newProfileId). */
const createdAt = (profileId: string): number => parseInt(profileId.slice(2, 11), 36);

/** Erases the person behind `profileId` (following merges); undefined when there is no such profile. */
export async function eraseProfile(profileId: string, erasureId: string, deps: ErasureDeps): Promise<RunRecord | undefined> {
  const { profile } = await followMerges(deps.profiles, profileId);
  if (!profile) return undefined;
  const at = new Date(deps.now()).toISOString();

  const owners = [profile.profileId, ...(profile.mergedFrom ?? [])];
  // The item lists at most 10 identifiers per type: the index has every one the person owns, under
  // the survivor or, while a merge is unfinished, an absorbed profile. Erased once per owner: a key
  // erased under the wrong owner (its delete is conditional) comes back from the index with the right one.
  const erased = new Set<string>(); // `owner identifier`
  const identifiers = new Set<string>();
  let pending = Object.entries(profile.identifiers).flatMap(([type, values]) =>
    (values ?? []).map((value) => ({ identifier: identifierKey({ type, value }), profileId: profile.profileId })),
  );
  for (let pass = 0; pending.length > 0; pass++) {
    if (pass === MAX_INDEX_PASSES) throw new Error(`erasure ${erasureId}: identifiers still appearing after ${pass} passes; retried`);
    for (const { identifier, profileId: owner } of pending) {
      await deps.identities.erase(identifier, owner, at);
      erased.add(`${owner} ${identifier}`);
      identifiers.add(identifier);
    }
    pending = (await deps.identities.ownedBy(owners)).filter((item) => !erased.has(`${item.profileId} ${item.identifier}`));
  }
  // Archived raw events are sealed with the person's keys: dropping them makes every copy unreadable.
  await deps.identities.dropArchiveKeys(owners);
  // The holdings keep only hashes of the person's userId, emails and phones, but one who knows an email can still test for it: they go too.
  await deps.identities.dropHoldings(owners);
  for (const segmentId of profile.segments)
    if (await deps.memberships.exit(segmentId, profile.profileId)) await deps.catalog.addToSizes([{ segmentId, delta: -1 }]);
  await deps.frozen.delete(profile.profileId);
  for (const groupId of Object.keys(profile.groups ?? {})) for (const owner of owners) await deps.groups?.removeMember(groupId, owner);
  const since = Math.min(Date.parse(profile.firstSeen), ...owners.map(createdAt).filter(Number.isFinite));
  // What the snapshot function's scrub looks for, kept until it ends: ids and hashes, no value in clear.
  const person: ErasedPerson = {
    profileIds: owners,
    // Every userId the index knew of, not only those the profile item lists.
    userIdHashes: [...identifiers].filter((key) => key.startsWith('userId:')).map((key) => hashUserId(key.slice('userId:'.length))),
    since: Number.isFinite(since) ? new Date(since).toISOString() : '',
  };
  await deps.catalog.putRunPart(ERASURES_SCOPE, erasureId, SCRUB_PART, person);
  const record: RunRecord = {
    runId: erasureId,
    status: 'running',
    phase: scrubPhase(0),
    startedAt: at,
    progress: {
      identifiers: identifiers.size,
      segments: profile.segments.length,
      mergedProfiles: profile.mergedFrom?.length ?? 0,
      snapshots: { status: 'rewriting', runs: 0, rewrittenFiles: 0 } satisfies SnapshotsProgress,
    },
  };
  await deps.catalog.putRun(ERASURES_SCOPE, record);
  // Before the profile goes: a crash before this publish is retried while the profile still leads here.
  await deps.publisher.publish([
    { detailType: DETAIL_TYPES.profileErased, detail: { version: 1, erasureId, profileId: profile.profileId, at } },
  ]);
  for (const absorbed of profile.mergedFrom ?? []) await deps.profiles.delete(absorbed);
  if (profile.profileId !== profileId) await deps.profiles.delete(profileId);
  await deps.profiles.delete(profile.profileId);
  deps.logger.info('profile erased', { erasureId, ...record.progress });
  return record;
}
