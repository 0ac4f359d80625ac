import type { Profile } from '../domain/profile';

export interface Page<T> {
  items: T[];
  /** Opaque; pass back to read the next page. Absent on the last page. */
  cursor?: string;
}

/** Port: where profiles live. Every write is conditional on the version read. Stored compressed (profile-codec.ts). */
export interface ProfileStore {
  get(profileId: string): Promise<Profile | undefined>;
  getMany(profileIds: readonly string[]): Promise<Profile[]>;
  /** Writes `profile` (version already bumped) only if the stored version is still `expectedVersion`. */
  put(profile: Profile, expectedVersion: number): Promise<void>;
  /** Erasure: the item goes, whatever its version. */
  delete(profileId: string): Promise<void>;
  scan(cursor: string | undefined, limit: number, segment?: { index: number; total: number }): Promise<Page<Profile>>;
  /** Ids of the profiles in one bucket of the due index. */
  due(dueKey: string, cursor: string | undefined, limit: number): Promise<Page<string>>;
}
