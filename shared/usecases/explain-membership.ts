/** Why a person is, or is not, in a segment as of now: each condition with what it found. */

import { explain } from '../domain/explain';
import { NotFoundError } from '../errors';
import type { DefinitionStore } from '../ports/catalog';
import type { ProfileStore } from '../ports/profiles';
import { GroupTraitsReader } from './group-traits';
import { indicatorModel } from './managed-segments';
import { indicatorsOf, type ProfileViewDeps } from './profile-view';

export interface ExplainDeps extends Pick<ProfileViewDeps, 'frozen' | 'groups' | 'now'> {
  catalog: Pick<DefinitionStore, 'segments' | 'indicators'>;
  profiles: Pick<ProfileStore, 'get'>;
}

export async function explainMembership(profileId: string, segmentId: string, deps: ExplainDeps) {
  const [profile, segment, model] = await Promise.all([
    deps.profiles.get(profileId),
    deps.catalog.segments.get(segmentId),
    indicatorModel(deps.catalog),
  ]);
  if (!profile) throw new NotFoundError(`profile ${profileId}`);
  if (!segment) throw new NotFoundError(`segment ${segmentId}`);
  const now = deps.now();
  const [{ values }, groups] = await Promise.all([
    indicatorsOf(profile, model, now, deps),
    new GroupTraitsReader(deps.groups).groupsOf(profile),
  ]);
  return {
    profileId: profile.profileId,
    segmentId: segment.id,
    segmentRevision: segment.revision,
    // The stored membership, from the last evaluation; `explanation.held` is the condition as of now.
    member: profile.segments.includes(segment.id),
    evaluatedAt: new Date(now).toISOString(),
    explanation: explain(segment.condition, profile, now, new Set(profile.segments), values, groups),
  };
}
