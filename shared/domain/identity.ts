/**
 * Which identifiers an event carries, normalised, in the order they are trusted
 * when choosing the profile an event belongs to. Pure: no I/O.
 */
import type { EnrichedEvent } from './events';

export const IDENTIFIER_TYPES = ['userId', 'email', 'anonymousId'] as const;
export type IdentifierType = (typeof IDENTIFIER_TYPES)[number];

export interface Identifier {
  type: IdentifierType;
  value: string;
}

/** Storage key of an identifier, e.g. `email:ada@example.com`. */
export const identifierKey = (id: Identifier): string => `${id.type}:${id.value}`;

const BLOCKED_VALUES = new Set(['', 'null', 'undefined', 'anonymous', 'unknown', 'none', 'nil', '0', '-1', 'n/a']);

export const isBlockedValue = (value: string): boolean => BLOCKED_VALUES.has(value.trim().toLowerCase());

/** Trimmed, lower-cased; undefined when it is not an address at all. */
export function normaliseEmail(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const email = value.trim().toLowerCase();
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) ? email : undefined;
}

/** The identifiers an event asserts about its person, most trusted first, blocked values left out. */
export function identifiersOf(event: EnrichedEvent): Identifier[] {
  const found: Identifier[] = [];
  const add = (type: IdentifierType, value: string | undefined) => {
    if (value === undefined || isBlockedValue(value)) return;
    if (!found.some((id) => id.type === type && id.value === value)) found.push({ type, value });
  };
  add('userId', event.userId?.trim());
  add('email', normaliseEmail(event.traits.email) ?? normaliseEmail(event.properties.email));
  add('anonymousId', event.anonymousId?.trim());
  return found;
}

/**
 * An alias names an earlier id of the same person; Segment does not say whether
 * it was a userId or an anonymousId, so both readings are looked up.
 */
export function previousIdentifiersOf(event: EnrichedEvent): Identifier[] {
  const previous = event.type === 'alias' ? event.previousId?.trim() : undefined;
  if (!previous || isBlockedValue(previous)) return [];
  return [
    { type: 'userId', value: previous },
    { type: 'anonymousId', value: previous },
  ];
}
