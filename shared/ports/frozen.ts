import type { FrozenValues } from '../domain/frozen';

/** A profile's frozen indicators, as of one freeze run. Kept apart from the hot profile item. */
export interface FrozenRecord {
  profileId: string;
  runId: string;
  frozenAt: string;
  values: FrozenValues;
}

/** Port: where frozen indicators live. */
export interface FrozenStore {
  getMany(profileIds: readonly string[]): Promise<FrozenRecord[]>;
  put(record: FrozenRecord): Promise<void>;
  delete(profileId: string): Promise<void>;
}
