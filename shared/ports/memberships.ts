import type { Page } from './profiles';

export interface Member {
  profileId: string;
  enteredAt: string;
}

/** Port: the current members of each segment, in profile id order. */
export interface MembershipStore {
  /** True when the profile was not a member before: the segment's size grows by one. */
  enter(segmentId: string, profileId: string, at: string): Promise<boolean>;
  /** True when the profile was a member: the segment's size shrinks by one. */
  exit(segmentId: string, profileId: string): Promise<boolean>;
  members(segmentId: string, cursor: string | undefined, limit: number): Promise<Page<Member>>;
  count(segmentId: string): Promise<number>;
  /** When the profile entered each of these segments (those it is in); `consistent` sees every write made before. */
  enteredAt(profileId: string, segmentIds: readonly string[], options?: { consistent?: boolean }): Promise<Map<string, string>>;
}
