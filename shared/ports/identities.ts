/** Port: which profile owns each identifier. */
export interface IdentityStore {
  /** Owners of the given identifier keys; unknown keys are absent from the map. */
  owners(keys: readonly string[]): Promise<Map<string, string>>;
  /** Claims the key for `profileId` unless someone already did; returns the owner either way. */
  claim(key: string, profileId: string, at: string): Promise<string>;
  /** Moves an identifier from one profile to another, only if it still belongs to `from`. */
  repoint(key: string, from: string, to: string): Promise<void>;
  /**
   * Erasure: leaves a tombstone holding only a hash of the identifier (so later events for it are
   * recognised without keeping it), then removes the identifier if it still belongs to `profileId`.
   */
  erase(key: string, profileId: string, at: string): Promise<void>;
  /**
   * Every identifier key owned by these profiles, from the `byProfile` index: eventually consistent,
   * so a key claimed or repointed a moment ago may be missing (the erasure asks again until nothing is new).
   */
  ownedBy(profileIds: readonly string[]): Promise<Array<{ identifier: string; profileId: string }>>;
  /** Which of these identifier keys were erased, and when (their tombstone's `erasedAt`). */
  erasedAmong(keys: readonly string[]): Promise<Map<string, string>>;
  /** The person came back with consent: the tombstone goes. */
  release(key: string): Promise<void>;
  /** Each profile's archive key, created on first use when `create` is given (by conditional put, so concurrent writers agree). */
  archiveKeys(profileIds: readonly string[], create?: () => string): Promise<Map<string, string>>;
  /** Erasure: without its key, everything archived of a person is unreadable. */
  dropArchiveKeys(profileIds: readonly string[]): Promise<void>;
  /** The limit-bearing identifiers a profile holds, as stored (consistent read); undefined when none is. */
  holdings(profileId: string): Promise<Holdings | undefined>;
  /** Writes holdings if they are still at `expectedVersion` (0: none stored); false when someone changed them first. */
  putHoldings(next: Holdings, expectedVersion: number): Promise<boolean>;
  /** Erasure (and a fresh profile given up before it held anything): its holdings go. */
  dropHoldings(profileIds: readonly string[]): Promise<void>;
}

/**
 * What a profile holds of the identifier types that have a limit (userId, email, phone, loyalty card),
 * kept in one small item of its own so that a limit is checked and taken in one conditional write:
 * two processors adding to (or merging) the same profile at once see each other through `version`.
 */
export interface Holdings {
  profileId: string;
  version: number;
  /**
   * Type -> the values' `heldForm`, never the values: limits need only counts and equality, and these
   * items are not found by the erasure's identifier index (a fresh profile's orphaned by a crash, a
   * redirect, a join half done).
   */
  held: Record<string, string[]>;
  /** Joined into that profile's holdings by a merge: they count there now. */
  into?: string;
  /**
   * How many joins wrote these holdings as the survivor's (absent: none). Changes when another
   * profile's holdings are joined into them: a value held then may count for that profile too.
   */
  joins?: number;
}
