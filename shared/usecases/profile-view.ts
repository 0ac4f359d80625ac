/**
 * A person as the admin API shows them: identifiers, traits, groups, behaviour, memberships and
 * indicators; the full access export (GDPR art. 15); how their identity was assembled by merges.
 */

import { perEventAndChannel, totalCount } from '../domain/buckets';
import { consentView } from '../domain/consent';
import { type IndicatorModel, presentIndicators } from '../domain/indicators';
import { ordersView } from '../domain/order-tally';
import type { Profile } from '../domain/profile';
import { DAY_MS } from '../domain/time';
import type { DefinitionStore } from '../ports/catalog';
import type { FrozenStore } from '../ports/frozen';
import type { GroupStore } from '../ports/groups';
import type { MembershipStore } from '../ports/memberships';
import type { ProfileStore } from '../ports/profiles';
import { GroupTraitsReader } from './group-traits';
import { segmentsWithModel } from './managed-segments';

export interface ProfileViewDeps {
  catalog: DefinitionStore;
  memberships: Pick<MembershipStore, 'enteredAt'>;
  frozen: Pick<FrozenStore, 'getMany'>;
  groups: Pick<GroupStore, 'getMany'>;
  now: () => number;
}

/** Dynamic indicators as of `now`, with the frozen ones of the last freeze. */
export async function indicatorsOf(profile: Profile, model: IndicatorModel, now: number, deps: Pick<ProfileViewDeps, 'frozen'>) {
  const [frozen] = await deps.frozen.getMany([profile.profileId]);
  return { values: { ...model.valuesOf(profile, now), ...frozen?.values }, frozenAt: frozen?.frozenAt };
}

/** The profile's groups with their traits, the most recently joined first. */
async function groupsOf(profile: Profile, deps: Pick<ProfileViewDeps, 'groups'>) {
  const stored = await new GroupTraitsReader(deps.groups).groupsOf(profile);
  return stored.map((group) => ({
    groupId: group.groupId,
    joinedAt: new Date(profile.groups![group.groupId]!).toISOString(),
    traits: group.traits,
    ...(group.updatedAt && { updatedAt: group.updatedAt }),
  }));
}

export async function profileView(profile: Profile, deps: ProfileViewDeps) {
  const [{ segments, model }, groups] = await Promise.all([segmentsWithModel(deps.catalog), groupsOf(profile, deps)]);
  const { values, frozenAt } = await indicatorsOf(profile, model, deps.now(), deps);
  // Stage memberships show as indicators (lifecycle_stage, intent_stage), not among the segments.
  const names = new Map(segments.filter((s) => !s.managedBy).map((s) => [s.id, s.name]));
  const member = profile.segments.filter((id) => names.has(id));
  const entered = member.length > 0 ? await deps.memberships.enteredAt(profile.profileId, member) : new Map<string, string>();
  return {
    profileId: profile.profileId,
    firstSeen: profile.firstSeen,
    lastSeen: profile.lastSeen,
    identifiers: profile.identifiers,
    identifierDetails: Object.entries(profile.identifiers).flatMap(([type, ids]) =>
      (ids ?? []).map((value) => {
        const seen = profile.identifierSeen?.[`${type}:${value}`];
        return {
          type,
          value,
          ...(seen && { firstSeen: new Date(seen[0]).toISOString(), lastSeen: new Date(seen[1]).toISOString(), source: seen[2] }),
        };
      }),
    ),
    traits: profile.traits,
    groups,
    channels: profile.channels,
    events: perEventAndChannel(profile, totalCount),
    segments: member.map((id) => ({ id, name: names.get(id), ...(entered.has(id) && { enteredAt: entered.get(id) }) })),
    indicators: presentIndicators(values),
    consents: consentView(profile.consents),
    ...(frozenAt && { frozenAt }),
    version: profile.version,
    ...(profile.mergedFrom && { mergedFrom: profile.mergedFrom }),
  };
}

/** The right of access (GDPR art. 15): everything Prisme keeps about the person, in JSON. */
export async function accessExport(profile: Profile, deps: ProfileViewDeps) {
  const view = await profileView(profile, deps);
  const events = perEventAndChannel(profile, (buckets) => {
    const days: Array<{ day: string; count: number }> = [];
    for (let i = 0; i < buckets.length; i += 2)
      days.push({ day: new Date(buckets[i]! * DAY_MS).toISOString().slice(0, 10), count: buckets[i + 1]! });
    return days;
  });
  return {
    exportedAt: new Date(deps.now()).toISOString(),
    ...view,
    traitsUpdatedAt: Object.fromEntries(Object.entries(profile.traitsAt).map(([trait, at]) => [trait, new Date(at).toISOString()])),
    categories: profile.categories ?? {},
    ...(profile.orders && { orders: ordersView(profile.orders) }),
    events,
    mergedProfiles: profile.mergedFrom ?? [],
    note: 'Behaviour is kept on the profile as counts per event, channel and day (weeks beyond 35 days, 400 days in all). Raw events are kept only in the sealed event archive for replays, which has no index by person; they become unreadable when the person is erased.',
  };
}

/** The profiles merged into this one, when and whether each merge completed. */
export async function identityView(profile: Profile, requestedId: string, deps: { profiles: Pick<ProfileStore, 'getMany'> }) {
  const absorbed = await deps.profiles.getMany(profile.mergedFrom ?? []);
  return {
    profileId: profile.profileId,
    requestedId,
    identifiers: profile.identifiers,
    firstSeen: profile.firstSeen,
    merged: absorbed.map((p) => ({
      profileId: p.profileId,
      firstSeen: p.firstSeen,
      mergedAt: profile.mergedAt?.[p.profileId] === undefined ? undefined : new Date(profile.mergedAt[p.profileId]!).toISOString(),
      mergedInto: p.mergedInto,
      completed: p.mergeCompleted === true,
    })),
  };
}
