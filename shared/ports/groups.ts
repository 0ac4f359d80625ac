import type { Group } from '../domain/groups';
import type { Page } from './profiles';

/** Port: where groups (accounts) and their members live. A group's write is conditional on the version read. */
export interface GroupStore {
  getMany(groupIds: readonly string[]): Promise<Group[]>;
  /** Writes `group` (version already bumped) only if the stored version is still `expectedVersion`. */
  put(group: Group, expectedVersion: number): Promise<void>;
  /** Lists the profile among the group's members (repeatable). */
  addMember(groupId: string, profileId: string): Promise<void>;
  removeMember(groupId: string, profileId: string): Promise<void>;
  /** Ids of the group's members, a page at a time. */
  members(groupId: string, cursor: string | undefined, limit: number): Promise<Page<string>>;
}
