import type { SeenEntry, SeenKind, SeenTally } from '../domain/seen-catalog';

/** Port: what Prisme has seen (event names and their property keys, trait names), for autocomplete. */
export interface SeenStore {
  /** Adds the tallies' counts and keeps their latest samples; a name already at its key limit keeps its keys. */
  record(tallies: readonly SeenTally[]): Promise<void>;
  /** The entries of a kind, most seen first (at most `limit`). */
  list(kind: SeenKind, limit: number): Promise<SeenEntry[]>;
}
