/**
 * The traits of profiles' groups, for the segment conditions that compare them: read in one BatchGet
 * per profile for the groups not known yet, and kept for the rest of a batch or job step, where the
 * people of one account share its groups.
 */

import { groupIdsOf } from '../domain/fold';
import type { Group, GroupTraits } from '../domain/groups';
import type { Profile } from '../domain/profile';
import type { GroupStore } from '../ports/groups';

export class GroupTraitsReader {
  private readonly known = new Map<string, Group | undefined>();

  constructor(
    private readonly groups: Pick<GroupStore, 'getMany'>,
    /** Groups already in hand (just written): not read again. */
    seed: Iterable<Group> = [],
  ) {
    for (const group of seed) this.known.set(group.groupId, group);
  }

  /** The stored groups of the profile, the most recently joined first; groups never written are left out. */
  async groupsOf(profile: Pick<Profile, 'groups'>): Promise<Group[]> {
    const ids = groupIdsOf(profile);
    await this.read(ids);
    return ids.map((id) => this.known.get(id)).filter((g): g is Group => g !== undefined);
  }

  /** The traits of the profile's groups, as segment conditions and export columns compare them. */
  async traitsOf(profile: Pick<Profile, 'groups'>): Promise<GroupTraits[]> {
    return (await this.groupsOf(profile)).map((group) => group.traits);
  }

  /** Reads the groups of a page of profiles at once (BatchGets of 100), ahead of `groupsOf` for each. */
  async prefetch(profiles: Iterable<Pick<Profile, 'groups'>>): Promise<void> {
    const ids = new Set<string>();
    for (const profile of profiles) for (const id of Object.keys(profile.groups ?? {})) ids.add(id);
    await this.read([...ids]);
  }

  private async read(ids: readonly string[]): Promise<void> {
    const missing = ids.filter((id) => !this.known.has(id));
    if (missing.length === 0) return;
    const found = new Map((await this.groups.getMany(missing)).map((g) => [g.groupId, g]));
    for (const id of missing) this.known.set(id, found.get(id));
  }
}
