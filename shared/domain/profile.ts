/**
 * The unified profile: one small item per person (traits, bucketed aggregates, memberships and their
 * outbox, identifiers, consents, groups) and the limits that keep it small. Pure: no I/O.
 */
import type { Channel } from './events';
import type { IdentifierType } from './identity';
import type { LateFolded } from './late-folds';
import type { OrderTally } from './order-tally';
import { emptyRecord } from './records';
import { DAILY_DAYS } from './windows';

export const CONSENT_CHANNELS = ['email', 'sms', 'push'] as const;

export type ConsentChannel = (typeof CONSENT_CHANNELS)[number];

/** `[granted, epoch ms, source]` per channel: compact, as it lives in the hot profile item. */
export type Consents = Partial<Record<ConsentChannel, [granted: 0 | 1, at: number, source: string]>>;

/**
 * Why a membership changed: new `events` for the profile, a saved segment `definition` evaluated over
 * stored profiles, `time` passing (the time sweep, the daily freeze), or a `merge` of two profiles.
 */
export type TransitionReason = 'events' | 'definition' | 'time' | 'merge';

/**
 * The outbox as the profile item keeps it. Every write is billed by the whole item's size, so it is
 * compact: the transitions of one write share their profile, time and reason, and their ids follow
 * from the version the write read (a fifth of the size of the transitions written out). That version
 * is kept, not inferred from the item's: marking a profile merged bumps the item's version and
 * carries the outbox over as it is.
 */
export interface PendingChanges {
  /** The version the write read (it made the next one): the transitions' ids follow from it. */
  baseVersion: number;
  /** Epoch ms of the evaluation. */
  at: number;
  reason: TransitionReason;
  /** Segment id -> revision of the definition that decided the change. */
  entered?: Record<string, number>;
  exited?: Record<string, number>;
}

/**
 * Daily counts of one `event|channel`, flat and newest first: `[day, count, day, count, ...]`
 * with UTC day indexes strictly decreasing. A window "since day D" is read from the front and
 * stops at the first older day, so recent windows cost a few steps whatever the history.
 */
export type Buckets = number[];

export const PROFILE_LIMITS = {
  /** Daily buckets older than this are dropped: the longest window a segment can look back. */
  horizonDays: 400,
  /** Buckets stay daily this long; older ones are merged into weeks, so a key holds at most ~90 buckets. */
  dailyDays: DAILY_DAYS,
  /** Distinct aggregate keys kept; the least recently active is evicted first. */
  aggregateKeys: 64,
  identifiersPerType: 10,
  /** Distinct traits kept; new ones beyond this are ignored (existing ones still update). */
  traits: 64,
  /** A trait value larger than this, as JSON, is not stored. */
  traitBytes: 1024,
  /** Message ids remembered to drop redelivered duplicates without an extra table. */
  recentMessages: 64,
  /** Groups (accounts) listed on the profile, by id: the most recently joined are kept. */
  groups: 10,
  /** Late events noted for the backfills under way, all specs together (see late-folds.ts); beyond, the backfill takes them. */
  lateFolded: 32,
} as const;

export interface Profile {
  profileId: string;
  /** Optimistic-locking version; every write is conditional on it. */
  version: number;
  firstSeen: string;
  lastSeen: string;
  identifiers: Partial<Record<IdentifierType, string[]>>;
  /** `type:value` -> [first seen ms, last seen ms, source of the first sighting]. */
  identifierSeen?: Record<string, [number, number, string]>;
  traits: Record<string, unknown>;
  /** Epoch milliseconds of the event that last set each trait. */
  traitsAt: Record<string, number>;
  /** Events seen per channel, all time. */
  channels: Partial<Record<Channel, number>>;
  /** `event|channel` -> daily counts as flat `[day, count, day, count, ...]`, newest day first (see `Buckets`). */
  aggregates: Record<string, Buckets>;
  /**
   * `event|channel` -> [first, last] instant performed, epoch seconds: exact whatever the buckets'
   * granularity, and kept past their horizon, for "last purchase more than 90 days ago".
   */
  performed?: Record<string, [number, number]>;
  /** Ids of the segments the profile is in. */
  segments: string[];
  /** Groups (accounts, Segment's `group` calls) the person belongs to: groupId -> epoch ms of the latest call, at most PROFILE_LIMITS.groups. */
  groups?: Record<string, number>;
  /** Fixed-width tokens of the last message ids folded, newest last. */
  recent: string;
  /** The membership changes of the write that made this version, perhaps not yet applied (the outbox). */
  pending?: PendingChanges;
  /** Epoch ms when a membership can next change with time alone (absent: never). */
  nextCheckAt?: number;
  /** Key of the sparse `due` index: the minute (and shard) `nextCheckAt` rounds up to (shared/domain/due-index.ts). */
  due?: string;
  /** Set on a profile merged into another: reads and writes follow it to the survivor. */
  mergedInto?: string;
  /** Profiles this one absorbed (the latest MAX_MERGES). */
  mergedFrom?: string[];
  /** Epoch ms of each of those merges. */
  mergedAt?: Record<string, number>;
  /** On a merged-away profile: every step of the merge is done; only the redirect is left. */
  mergeCompleted?: boolean;
  /** Every order day of the person's life, for the customer-base models (see order-tally.ts). */
  orders?: OrderTally;
  /** Interest per product category: `[decayed score, day index]`, the strongest few (see categories.ts). */
  categories?: Record<string, [number, number]>;
  /** Consent per channel, latest statement wins (see consent.ts). */
  consents?: Consents;
  /** The latest push token (Segment's `context.device.token`): the address of the push channel. */
  pushToken?: string;
  /** Epoch ms: the latest `receivedAt` among the live (not replayed) events folded. A replay folds only later ones. */
  liveWatermark?: number;
  /** Backfills under way: run id -> [day index the run started, position of the last archived part added]. */
  backfills?: Record<string, [number, string]>;
  /** Late live events folded into specs still being backfilled, which their backfill skips (see late-folds.ts). */
  lateFolded?: LateFolded;
}

export function newProfile(profileId: string, at: string): Profile {
  return {
    profileId,
    version: 0,
    firstSeen: at,
    lastSeen: at,
    // Keyed by names clients chose (`__proto__` included): records without a prototype (see records.ts).
    identifiers: emptyRecord(),
    traits: emptyRecord(),
    traitsAt: emptyRecord(),
    channels: emptyRecord(),
    aggregates: emptyRecord(),
    segments: [],
    recent: '',
  };
}

/**
 * A bound of PROFILE_LIMITS (or of merges) that made a fold leave something out. `what` names a type,
 * trait or aggregate key, never a value: these are logged, and values may be personal data.
 */
export interface LimitReached {
  limit: 'identifiersPerType' | 'traits' | 'traitBytes' | 'traitValue' | 'aggregateKeys' | 'merges' | 'lateFolded';
  what: string;
}

/** Email of a profile for display and export: the most recently seen address. */
export const primaryEmail = (profile: Profile): string | undefined => profile.identifiers.email?.at(-1);
