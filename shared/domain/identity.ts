/**
 * Which identifiers an event carries, normalised, in the order they are trusted
 * when choosing the profile an event belongs to. Pure: no I/O.
 */

import { createHash } from 'node:crypto';
import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import { own } from './records';

/** Built-in identifier types, most trusted first; custom ones (`context.externalIds`) rank before anonymousId. */
export const IDENTIFIER_TYPES = ['userId', 'email', 'phone', 'loyaltyCard', 'anonymousId'] as const;
export type BuiltInIdentifierType = (typeof IDENTIFIER_TYPES)[number];
/** A built-in type, or a custom one from `context.externalIds` (`crm_id`, `ticketing_id`, ...). */
export type IdentifierType = string;

export interface Identifier {
  type: IdentifierType;
  value: string;
  /** When and through which source it was seen, for the profile's identity record. */
  seenAt?: number;
  source?: string;
}

export interface IdentityConfig {
  /** Region assumed for phone numbers written without an international prefix. */
  phoneRegion: CountryCode;
  /** Traits (or properties) that carry a loyalty card number. */
  loyaltyTraits: readonly string[];
  /** Values never used to match anyone, beyond the built-in ones. */
  blockedPatterns: readonly RegExp[];
  /**
   * Most identifiers of a type one profile may hold (types absent: no limit). A match that would
   * exceed one is refused: the lowest-priority identifier causing it is left out of the match.
   */
  limits: Readonly<Record<string, number>>;
  /**
   * Identifier types, most trusted first: the order in which an event's identifiers choose its
   * profile, so the least trusted is the one left out when a limit is reached. Types not listed
   * (custom ones) rank just before anonymousId.
   */
  priority: readonly string[];
}

export const DEFAULT_IDENTITY_CONFIG: IdentityConfig = {
  phoneRegion: 'FR',
  loyaltyTraits: ['loyaltyCard', 'loyalty_card', 'loyaltyCardNumber'],
  blockedPatterns: [],
  // One person has one account id; a family may share an email or a phone, so a few are allowed.
  limits: { userId: 1, email: 5, phone: 5, loyaltyCard: 3 },
  priority: IDENTIFIER_TYPES,
};

/** Rank of a type in `priority` (lower = more trusted). */
export function priorityRank(type: string, priority: readonly string[]): number {
  const listed = priority.indexOf(type);
  if (listed >= 0) return listed;
  const anonymous = priority.indexOf('anonymousId');
  return anonymous >= 0 ? anonymous - 0.5 : priority.length;
}

/** The most identifiers of this type one profile may hold; undefined when unlimited (types are client-chosen: own keys only). */
export const limitOf = (type: string, config: IdentityConfig = DEFAULT_IDENTITY_CONFIG): number | undefined => own(config.limits, type);

/** True when a set of identifiers (by type) breaks one of the limits. */
export function breaksLimits(
  identifiers: ReadonlyMap<string, ReadonlySet<string>>,
  config: IdentityConfig = DEFAULT_IDENTITY_CONFIG,
): string | undefined {
  for (const [type, values] of identifiers) {
    const limit = limitOf(type, config);
    if (limit !== undefined && values.size > limit) return type;
  }
  return undefined;
}

/** Storage key of an identifier, e.g. `email:ada@example.com`. */
export const identifierKey = (id: Identifier): string => `${id.type}:${id.value}`;

/**
 * Identifier text as DynamoDB will key it: well-formed Unicode (a lone surrogate becomes U+FFFD, as it
 * would in DynamoDB's UTF-8, where two ids differing only by one would otherwise be one key), NFC (the
 * same name typed on two keyboards is one id), no control characters, trimmed.
 */
export function cleanIdentifierText(value: string): string {
  return value.replace(LONE_SURROGATE, '\uFFFD').normalize('NFC').replace(CONTROL_CHARACTERS, '').trim();
}
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const A_LONE_SURROGATE = new RegExp(LONE_SURROGATE.source);

/** Whether text would survive DynamoDB's UTF-8 as it is: no lone surrogate (Node 20's TypeScript lib lacks isWellFormed). */
export const isWellFormedText = (value: string): boolean => !A_LONE_SURROGATE.test(value);
export const CONTROL_CHARACTERS = /\p{Cc}/gu;

/** Longest identifier value kept, in UTF-8 bytes: its key (`type:value`) stays far inside DynamoDB's 2,048. */
export const IDENTIFIER_MAX_BYTES = 1024;

const BLOCKED_VALUES = new Set(['', 'null', 'undefined', 'anonymous', 'unknown', 'none', 'nil', '0', '-1', 'n/a', 'test', 'guest']);

export const isBlockedValue = (value: string, config: IdentityConfig = DEFAULT_IDENTITY_CONFIG): boolean =>
  BLOCKED_VALUES.has(value.trim().toLowerCase()) || config.blockedPatterns.some((pattern) => pattern.test(value));

/** Trimmed, lower-cased; undefined when it is not an address at all. */
export function normaliseEmail(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const email = value.trim().toLowerCase();
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) ? email : undefined;
}

/** E.164 (`+33612345678`); undefined when it is not a valid number. */
export function normalisePhone(value: unknown, region: CountryCode = DEFAULT_IDENTITY_CONFIG.phoneRegion): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const phone = parsePhoneNumberFromString(String(value), region);
  return phone?.isValid() ? phone.number : undefined;
}

/** Custom identifier types are kept to a safe alphabet so they can be used as query parameters. */
export const normaliseIdentifierType = (type: unknown): string | undefined => {
  if (typeof type !== 'string') return undefined;
  const normalised = type
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_');
  const builtIn = IDENTIFIER_TYPES.some((t) => t.toLowerCase() === normalised);
  return normalised && !builtIn && normalised.length <= 64 ? normalised : undefined;
};

const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : undefined;

export interface BlockedIdentifier {
  type: IdentifierType;
  value: string;
  /** A shared placeholder ("0", "anonymous", a blocked pattern), or too long to be a key. */
  why: 'placeholder' | 'too long';
}

/** What identity reads of an event (`EnrichedEvent` has it all): its ids, traits, properties and context. */
export interface IdentifyingEvent {
  type: string;
  userId?: string;
  anonymousId?: string;
  previousId?: string;
  traits: Record<string, unknown>;
  properties: Record<string, unknown>;
  context: Record<string, unknown>;
}

/**
 * The identifiers an event asserts about its person, most trusted first. Blocked values (shared
 * placeholders like "anonymous" or "0") never match anyone: they are reported, not used.
 */
export function identifiersOf(
  event: IdentifyingEvent,
  config: IdentityConfig = DEFAULT_IDENTITY_CONFIG,
  onBlocked?: (blocked: BlockedIdentifier) => void,
): Identifier[] {
  const found: Identifier[] = [];
  const add = (type: IdentifierType, raw: string | undefined) => {
    if (raw === undefined) return;
    const value = cleanIdentifierText(raw);
    if (isBlockedValue(value, config)) return onBlocked?.({ type, value, why: 'placeholder' });
    if (Buffer.byteLength(value) > IDENTIFIER_MAX_BYTES) return onBlocked?.({ type, value, why: 'too long' });
    if (!found.some((id) => id.type === type && id.value === value)) found.push({ type, value });
  };
  const fromEither = (name: string) => own(event.traits, name) ?? own(event.properties, name);

  add('userId', event.userId);
  add('email', normaliseEmail(fromEither('email')));
  add('phone', normalisePhone(fromEither('phone'), config.phoneRegion));
  for (const trait of config.loyaltyTraits) add('loyaltyCard', text(fromEither(trait)));
  const externalIds = event.context.externalIds;
  if (Array.isArray(externalIds)) {
    for (const external of externalIds.slice(0, 20)) {
      const entry = external as { id?: unknown; type?: unknown };
      const type = normaliseIdentifierType(entry?.type);
      if (type) add(type, text(entry.id));
    }
  }
  add('anonymousId', event.anonymousId);
  // Stable: values of one type keep the order they came in.
  return found.sort((a, b) => priorityRank(a.type, config.priority) - priorityRank(b.type, config.priority));
}

/** Whether `identifiersOf` would find one: the userId or anonymousId answers at once, as they mostly do. */
export function hasUsableIdentifier(event: IdentifyingEvent, config: IdentityConfig = DEFAULT_IDENTITY_CONFIG): boolean {
  for (const raw of [event.userId, event.anonymousId]) {
    if (raw === undefined) continue;
    const value = cleanIdentifierText(raw);
    if (!isBlockedValue(value, config) && Buffer.byteLength(value) <= IDENTIFIER_MAX_BYTES) return true;
  }
  return identifiersOf(event, config).length > 0;
}

/**
 * An alias names an earlier id of the same person; Segment does not say whether
 * it was a userId or an anonymousId, so both readings are looked up.
 */
export function previousIdentifiersOf(event: IdentifyingEvent, config: IdentityConfig = DEFAULT_IDENTITY_CONFIG): Identifier[] {
  const previous = event.type === 'alias' && event.previousId !== undefined ? cleanIdentifierText(event.previousId) : undefined;
  if (!previous || isBlockedValue(previous, config) || Buffer.byteLength(previous) > IDENTIFIER_MAX_BYTES) return [];
  return [
    { type: 'userId', value: previous },
    { type: 'anonymousId', value: previous },
  ];
}

/** Storage keys of every identifier an event names, its own and an alias's earlier one: what a batch looks up. */
export const identifierKeysOf = (event: IdentifyingEvent, config: IdentityConfig = DEFAULT_IDENTITY_CONFIG): string[] =>
  [...identifiersOf(event, config), ...previousIdentifiersOf(event, config)].map(identifierKey);

/** Normalises a value given for a lookup (`?phone=06...`), the same way as on ingest. */
export function normaliseLookup(type: IdentifierType, raw: string, config: IdentityConfig = DEFAULT_IDENTITY_CONFIG): string | undefined {
  const value = cleanIdentifierText(raw);
  switch (type) {
    case 'email':
      return normaliseEmail(value);
    case 'phone':
      return normalisePhone(value, config.phoneRegion);
    default:
      return value || undefined;
  }
}

/** What holdings keep of an identifier: the first 16 bytes of SHA-256(`type:value`), base64url. */
export const heldForm = (type: string, value: string): string =>
  createHash('sha256').update(`${type}:${value}`).digest().subarray(0, 16).toString('base64url');
