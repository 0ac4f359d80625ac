/**
 * A merge leaves the loser's profile item as a redirect (`mergedInto`) to its survivor: reading a
 * person by an id they once had means following those redirects to the profile that holds the data now.
 */

import type { Profile } from '../domain/profile';
import type { ProfileStore } from '../ports/profiles';

/** Longer chains than this are a loop, not a history of merges. */
const MAX_HOPS = 20;

export interface Survivor {
  /** The id the redirects lead to (the one asked for, when it was never merged). */
  profileId: string;
  /** Its profile; absent when there is none (never written, erased) or the redirects loop. */
  profile?: Profile;
}

export async function followMerges(profiles: Pick<ProfileStore, 'get'>, profileId: string): Promise<Survivor> {
  let id = profileId;
  for (let hops = 0; hops < MAX_HOPS; hops++) {
    const profile = await profiles.get(id);
    if (!profile?.mergedInto) return profile ? { profileId: id, profile } : { profileId: id };
    id = profile.mergedInto;
  }
  return { profileId: id };
}
