/**
 * The right to erasure (GDPR art. 17). In an order that can be repeated after a crash: tombstones
 * first (so events arriving meanwhile cannot bring the person back), then memberships, frozen values,
 * merged-away redirects, and the profile last (a repeated request still finds it and finishes). What
 * is kept: a hash of each erased identifier (to recognise later events, see process-events) and a
 * log entry with counts, no personal data.
 */
import type { CatalogStore, RunRecord } from '../adapters/dynamodb/catalog-store';
import type { FrozenStore } from '../adapters/dynamodb/frozen-store';
import type { IdentityStore } from '../adapters/dynamodb/identity-store';
import type { MembershipStore } from '../adapters/dynamodb/membership-store';
import type { ProfileStore } from '../adapters/dynamodb/profile-store';
import { DETAIL_TYPES, type EventPublisher } from '../adapters/eventbridge/event-publisher';
import { newRunId } from '../domain/audiences';
import { identifierKey } from '../domain/identity';
import type { Logger } from '../logger';

export const ERASURES_SCOPE = 'erasures';

export interface ErasureDeps {
  profiles: Pick<ProfileStore, 'get' | 'delete'>;
  identities: Pick<IdentityStore, 'erase' | 'dropArchiveKeys' | 'dropHoldings'>;
  memberships: Pick<MembershipStore, 'exit'>;
  frozen: Pick<FrozenStore, 'delete'>;
  catalog: Pick<CatalogStore, 'putRun'>;
  publisher: EventPublisher;
  logger: Logger;
  now: () => number;
}

export const newErasureId = (now: number): string => `er_${newRunId(now)}`;

/** Erases the person behind `profileId` (following merges); undefined when there is no such profile. */
export async function eraseProfile(profileId: string, erasureId: string, deps: ErasureDeps): Promise<RunRecord | undefined> {
  let profile = await deps.profiles.get(profileId);
  for (let hops = 0; profile?.mergedInto && hops < 10; hops++) profile = await deps.profiles.get(profile.mergedInto);
  if (!profile) return undefined;
  const at = new Date(deps.now()).toISOString();

  const identifiers = Object.entries(profile.identifiers).flatMap(([type, values]) => (values ?? []).map((value) => identifierKey({ type, value })));
  for (const key of identifiers) await deps.identities.erase(key, profile.profileId, at);
  // Archived raw events are sealed with the person's keys: dropping them makes every copy unreadable.
  await deps.identities.dropArchiveKeys([profile.profileId, ...(profile.mergedFrom ?? [])]);
  // The holdings list the person's userId, emails and phones in clear: they go too.
  await deps.identities.dropHoldings([profile.profileId, ...(profile.mergedFrom ?? [])]);
  for (const segmentId of profile.segments) await deps.memberships.exit(segmentId, profile.profileId);
  await deps.frozen.delete(profile.profileId);
  for (const absorbed of profile.mergedFrom ?? []) await deps.profiles.delete(absorbed);
  if (profile.profileId !== profileId) await deps.profiles.delete(profileId);
  await deps.profiles.delete(profile.profileId);

  const record: RunRecord = {
    runId: erasureId,
    status: 'succeeded',
    startedAt: at,
    finishedAt: new Date(deps.now()).toISOString(),
    progress: { identifiers: identifiers.length, segments: profile.segments.length, mergedProfiles: profile.mergedFrom?.length ?? 0 },
  };
  await deps.catalog.putRun(ERASURES_SCOPE, record);
  await deps.publisher.publish([{ detailType: DETAIL_TYPES.profileErased, detail: { version: 1, erasureId, profileId: profile.profileId, at } }]);
  deps.logger.info('profile erased', { erasureId, ...record.progress });
  return record;
}
