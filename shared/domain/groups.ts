/**
 * Groups: the accounts (companies, households) of Segment's `group` calls. A group keeps its own traits,
 * last-timestamp-wins per trait like a profile's; the people in it list its id on their profiles.
 * Pure: no I/O.
 */
import type { EnrichedEvent } from './events';
import type { LimitReached } from './profile';
import { emptyRecord, withoutPrototypes } from './records';
import { foldTraits, type TraitHolder } from './traits';

export const GROUP_LIMITS = {
  /** Distinct traits kept per group; new ones beyond this are ignored (existing ones still update). */
  traits: 64,
  /** A trait value larger than this, as JSON, is not stored. */
  traitBytes: 1024,
} as const;

export interface Group extends TraitHolder {
  groupId: string;
  /** Optimistic-locking version; every write is conditional on it (0: not stored yet). */
  version: number;
  /** ISO time of the latest write. */
  updatedAt?: string;
}

export const newGroup = (groupId: string): Group => ({ groupId, version: 0, traits: emptyRecord(), traitsAt: emptyRecord() });

/** A group's traits as segment conditions and exports read them. */
export type GroupTraits = Readonly<Record<string, unknown>>;

export interface GroupFold {
  group: Group;
  /** Traits whose value or time changed: none means nothing to write. */
  changed: string[];
  limits: LimitReached[];
}

/**
 * Folds the traits of a group's calls into a copy of it. Repeating a call changes nothing, and calls
 * folded in any order end in the same traits (the latest event time wins per trait).
 */
export function foldGroupCalls(original: Group, events: readonly EnrichedEvent[]): GroupFold {
  const group = withoutPrototypes(original);
  const changed = new Set<string>();
  const limits: LimitReached[] = [];
  for (const event of events) {
    if (event.type !== 'group' || event.groupId !== group.groupId) continue;
    for (const trait of foldTraits(group, event.traits, Date.parse(event.timestamp), GROUP_LIMITS, limits)) changed.add(trait);
  }
  return { group, changed: [...changed], limits };
}

/** The group calls among `items` (events, or what carries one) by groupId: one write per group. */
export function groupCallsById<T>(items: readonly T[], eventOf: (item: T) => Pick<EnrichedEvent, 'type' | 'groupId'>): Map<string, T[]> {
  const byId = new Map<string, T[]>();
  for (const item of items) {
    const { type, groupId } = eventOf(item);
    if (type !== 'group' || groupId === undefined) continue;
    const calls = byId.get(groupId) ?? byId.set(groupId, []).get(groupId)!;
    calls.push(item);
  }
  return byId;
}
