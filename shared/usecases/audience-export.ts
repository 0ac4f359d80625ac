/**
 * Who an audience exports now: its segment's members, less the holdout group, by profile id, with
 * the profiles (and their frozen values and groups when columns ask for them), and how many.
 */
import { type Assignment, type Audience, assignmentOf } from '../domain/audiences';
import { reachable } from '../domain/consent';
import { exportedVariants } from '../domain/experiments';
import type { FrozenValues } from '../domain/frozen';
import type { GroupTraits } from '../domain/groups';
import { isFrozenIndicator } from '../domain/indicator-settings';
import type { Profile } from '../domain/profile';
import type { FrozenStore } from '../ports/frozen';
import type { GroupStore } from '../ports/groups';
import type { MembershipStore } from '../ports/memberships';
import type { ProfileStore } from '../ports/profiles';
import { GroupTraitsReader } from './group-traits';

/** The stores an export reads: member ids, then the profiles behind them. */
export interface ExportDeps {
  memberships: Pick<MembershipStore, 'members'>;
  profiles: Pick<ProfileStore, 'getMany'>;
}

export const isFrozenColumn = (column: string) =>
  column.startsWith('indicators.') && isFrozenIndicator(column.slice('indicators.'.length).split('|')[0]!);

const MEMBERS_PER_PAGE = 500;

/** The exported members of an audience now: its segment's members, less the holdout group, by profile id. */
export async function* exportedMembers(
  audience: Audience,
  deps: ExportDeps & {
    frozen?: Pick<FrozenStore, 'getMany'>;
    withFrozen?: boolean;
    groups?: Pick<GroupStore, 'getMany'>;
    withGroups?: boolean;
  },
): AsyncGenerator<Assignment & { profile: Profile; frozen?: FrozenValues; groups?: GroupTraits[] }> {
  let cursor: string | undefined;
  do {
    const page = await deps.memberships.members(audience.segmentId, cursor, MEMBERS_PER_PAGE);
    const ids = page.items.map((m) => m.profileId);
    const profiles = new Map((await deps.profiles.getMany(ids)).map((p) => [p.profileId, p]));
    const frozen =
      deps.withFrozen && deps.frozen ? new Map((await deps.frozen.getMany(ids)).map((r) => [r.profileId, r.values])) : undefined;
    if (deps.withGroups && !deps.groups) throw new Error('the snapshot needs the group store: the audience exports groups.<trait> columns');
    // A reader per page: memory stays bounded by a page's groups whatever the audience's size.
    const groups = deps.withGroups ? new GroupTraitsReader(deps.groups!) : undefined;
    await groups?.prefetch(profiles.values());
    for (const member of page.items) {
      const profile = profiles.get(member.profileId);
      if (!profile) continue; // erased or not yet written: never export a row we cannot fill
      // Only people who may be contacted on the audience's channel; the control group is drawn from them.
      if (audience.consentChannel && !reachable(profile, audience.consentChannel)) continue;
      const groupTraits = await groups?.traitsOf(profile);
      // Named, not spread: spreading the assignment into each member made the export twice as slow.
      const { heldOut, variant } = assignmentOf(profile.profileId, audience);
      yield { profile, heldOut, variant, frozen: frozen?.get(profile.profileId), groups: groupTraits };
    }
    cursor = page.cursor;
  } while (cursor);
}

export interface ExportSize {
  /** Exported, across variants. */
  members: number;
  /** The control group, or the holdout variant. */
  holdout: number;
  /** With an experiment: the members of each exported variant. */
  variants?: Array<{ name: string; members: number }>;
}

/** Members the export would have now, and the control group: from membership ids alone, unless consent must be read. */
export async function exportSize(audience: Audience, deps: ExportDeps): Promise<ExportSize> {
  const variants = audience.experiment && new Map(exportedVariants(audience.experiment).map((v) => [v.name, 0]));
  const size = { members: 0, holdout: 0 };
  const count = ({ heldOut, variant }: Assignment) => {
    if (heldOut) size.holdout++;
    else {
      size.members++;
      if (variant) variants!.set(variant.name, variants!.get(variant.name)! + 1);
    }
  };
  if (audience.consentChannel) {
    // Consent lives on the profiles: read them.
    for await (const member of exportedMembers(audience, deps)) count(member);
  } else {
    let cursor: string | undefined;
    do {
      const page = await deps.memberships.members(audience.segmentId, cursor, 1000);
      for (const { profileId } of page.items) count(assignmentOf(profileId, audience));
      cursor = page.cursor;
    } while (cursor);
  }
  return { ...size, ...(variants && { variants: [...variants].map(([name, members]) => ({ name, members })) }) };
}
