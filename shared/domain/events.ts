/**
 * The ingest contract: the Segment HTTP Tracking API, validated at the edge and
 * turned into the enriched events the processor folds. Pure: no I/O.
 */
import { z } from 'zod';
import { CONTROL_CHARACTERS, cleanIdentifierText, hasUsableIdentifier, type IdentityConfig } from './identity';

export const CHANNELS = ['web', 'app', 'email', 'store', 'call_center', 'event', 'crm'] as const;
export type Channel = (typeof CHANNELS)[number];
export const isChannel = (value: unknown): value is Channel => typeof value === 'string' && (CHANNELS as readonly string[]).includes(value);

export const EVENT_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const LIMITS = {
  eventBytes: 32 * 1024,
  requestBytes: 500 * 1024,
  batchEvents: 2500,
  messageIdChars: 100,
  /** Nesting inside properties, traits and context: DynamoDB stores at most 32 levels in an item. */
  objectDepth: 16,
  /** Nesting of a whole request: deeper is refused before parsing (a parser would recurse that deep). */
  requestDepth: 64,
  /**
   * A batch's shared context is copied into each of its events: with those copies, the events of a request
   * may weigh at most this many times the request itself, or 1 MB for a request under 128 KB (a batch of
   * small events with a few KB of shared context is ordinary); enrichment adds ~300 bytes per event on top.
   */
  queuedBytesPerRequestByte: 8,
  queuedBytesFloor: 1024 * 1024,
} as const;

/** Most bytes the accepted events of a request of `requestBytes` may queue (see `LIMITS.queuedBytesPerRequestByte`). */
export const queuedBytesAllowed = (requestBytes: number): number =>
  Math.max(LIMITS.queuedBytesPerRequestByte * requestBytes, LIMITS.queuedBytesFloor);

/** Event times are kept in [this, the time received]: earlier ones are refused, and so is a skew correction landing earlier. */
export const EARLIEST_EVENT_TIME = Date.UTC(1900, 0, 1);
const LATEST_DATE = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** Between 1900-01-01 and 9999-12-31 (false for NaN): the times a client may give. */
const withinCalendar = (ms: number): boolean => ms >= EARLIEST_EVENT_TIME && ms <= LATEST_DATE;

/** The deepest nesting of arrays and objects in JSON text, outside strings; stops counting past `limit`. */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 125 || c === 93) depth--;
  }
  return deepest;
}

/** Nesting depth of a parsed value (an object holding only scalars is 1). */
export function valueDepth(value: unknown, limit: number, depth = 0): number {
  if (typeof value !== 'object' || value === null) return depth;
  if (depth >= limit) return depth + 1;
  let deepest = depth + 1;
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    deepest = Math.max(deepest, valueDepth(child, limit, depth + 1));
    if (deepest > limit) break;
  }
  return deepest;
}

/** Error messages a person can act on: "is required" rather than zod's type jargon. */
const messages = (expected: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${expected}`),
});
// Not z.record: it drops a `__proto__` key, and a client's keys are data to keep as sent.
const jsonObject = z.custom<Record<string, unknown>>((value) => isPlainObject(value), messages('a JSON object')).meta({ type: 'object' });
const identifier = z
  .union([z.string(), z.number()], messages('a string'))
  .transform((v) => cleanIdentifierText(String(v)))
  .pipe(z.string().trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters'));
const isoDate = z.union([z.string(), z.date()], messages('an ISO-8601 date')).transform((value, ctx) => {
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 date' });
    return z.NEVER;
  }
  if (!withinCalendar(ms)) {
    ctx.addIssue({ code: 'custom', message: 'must be between 1900-01-01 and 9999-12-31' });
    return z.NEVER;
  }
  return ms;
});

const baseEvent = z.looseObject({
  messageId: z
    .string(messages('a string'))
    .min(1)
    .max(LIMITS.messageIdChars, `must be under ${LIMITS.messageIdChars} characters`)
    .optional(),
  userId: identifier.optional(),
  anonymousId: identifier.optional(),
  properties: jsonObject.optional(),
  traits: jsonObject.optional(),
  context: jsonObject.optional(),
  integrations: jsonObject.optional(),
  timestamp: isoDate.optional(),
  originalTimestamp: isoDate.optional(),
  sentAt: isoDate.optional(),
});

/** Each event type's schema, as sent (the API's document reads them too). */
export const EVENT_SCHEMAS = {
  identify: baseEvent,
  // Control characters are removed: event names join aggregate keys, where U+001F stands for a name's own `|`.
  track: baseEvent.extend({
    event: z
      .string(messages('a string'))
      .transform((name) => name.replace(CONTROL_CHARACTERS, '').trim())
      .pipe(z.string().min(1, 'is required').max(200)),
  }),
  page: baseEvent.extend({ name: z.string(messages('a string')).max(200).optional() }),
  screen: baseEvent.extend({ name: z.string(messages('a string')).max(200).optional() }),
  group: baseEvent.extend({ groupId: identifier }),
  alias: baseEvent.extend({ previousId: identifier }),
} satisfies Record<EventType, z.ZodType>;

/** An accepted event as it travels through the queue. */
export interface EnrichedEvent {
  messageId: string;
  type: EventType;
  userId?: string;
  anonymousId?: string;
  previousId?: string;
  groupId?: string;
  event?: string;
  name?: string;
  properties: Record<string, unknown>;
  traits: Record<string, unknown>;
  context: Record<string, unknown>;
  /** Event time, corrected for the client's clock skew (ISO-8601). */
  timestamp: string;
  receivedAt: string;
  channel: Channel;
  sourceId: string;
  /** Sent again from the archive by a replay: folded only if its profile has not seen it (see `foldEvents`). */
  replayed?: true;
}

export interface Rejection {
  index: number;
  field: string;
  reason: string;
}

export interface Source {
  sourceId: string;
  defaultChannel: Channel;
}

export interface ParsedRequest {
  accepted: EnrichedEvent[];
  rejected: Rejection[];
  /** What the accepted events weigh with the batch's context copied into each, in bytes (see `LIMITS.queuedBytesPerRequestByte`). */
  queuedBytes: number;
}

export interface ParseOptions {
  source: Source;
  receivedAt: number;
  /** Id for an event sent without one; given the event's index in the request. */
  newMessageId: (index: number) => string;
  /** The processor's identity settings: an event none of whose identifiers it would use is refused here. */
  identity?: IdentityConfig;
}

/**
 * Validates the events of one request. Valid events are accepted even when
 * others are rejected: each rejection names its index, field and reason.
 */
export function parseEvents(endpoint: EventType | 'batch', body: Record<string, unknown>, options: ParseOptions): ParsedRequest {
  const items: unknown[] = endpoint === 'batch' ? (body.batch as unknown[]) : [{ ...body, type: endpoint }];
  const shared = endpoint === 'batch' ? { context: asObject(body.context), integrations: asObject(body.integrations) } : {};
  // Its keys may repeat the event's own: counting it whole errs on the safe side.
  const sharedContextBytes = shared.context ? Buffer.byteLength(JSON.stringify(shared.context)) : 0;
  const requestSentAt = parseDate(body.sentAt);
  const accepted: EnrichedEvent[] = [];
  const rejected: Rejection[] = [];
  let queuedBytes = 0;

  for (const [index, item] of items.entries()) {
    const reject = (field: string, reason: string) => rejected.push({ index, field, reason });
    if (!isPlainObject(item)) {
      reject('', 'must be a JSON object');
      continue;
    }
    const eventBytes = Buffer.byteLength(JSON.stringify(item));
    if (eventBytes > LIMITS.eventBytes) {
      reject('', `event is larger than ${LIMITS.eventBytes / 1024} KB`);
      continue;
    }
    if (eventBytes + sharedContextBytes > LIMITS.eventBytes) {
      reject('context', `event is larger than ${LIMITS.eventBytes / 1024} KB with the batch's context merged into it`);
      continue;
    }
    const type = item.type;
    if (!(EVENT_TYPES as readonly unknown[]).includes(type)) {
      reject('type', `must be one of ${EVENT_TYPES.join(', ')}`);
      continue;
    }
    const result = EVENT_SCHEMAS[type as EventType].safeParse(item);
    if (!result.success) {
      for (const issue of result.error.issues) reject(issue.path.join('.'), issue.message);
      continue;
    }
    const event = result.data as z.infer<typeof baseEvent> & Record<string, unknown>;
    if (!event.userId && !event.anonymousId) {
      reject('userId', 'userId or anonymousId is required');
      continue;
    }
    const tooDeep = (['properties', 'traits', 'context'] as const).find(
      (field) => valueDepth(event[field], LIMITS.objectDepth) > LIMITS.objectDepth,
    );
    if (tooDeep) {
      reject(tooDeep, `is nested more than ${LIMITS.objectDepth} levels deep`);
      continue;
    }

    const context = { ...(shared.context ?? {}), ...(event.context ?? {}) };
    // Segment's spec reserves properties.name for pages and screens; analytics.js fills it, server libraries don't.
    const properties =
      (type === 'page' || type === 'screen') && typeof event.name === 'string' && event.properties?.name === undefined
        ? { ...event.properties, name: event.name }
        : (event.properties ?? {});
    const enriched: EnrichedEvent = {
      messageId: event.messageId ?? options.newMessageId(index),
      type: type as EventType,
      properties,
      // A group call's traits are the group's: the person's context.traits never stand in for them.
      traits: event.traits ?? (type === 'identify' || type === 'group' ? {} : (asObject(context.traits) ?? {})),
      context,
      timestamp: new Date(
        Math.max(
          EARLIEST_EVENT_TIME,
          correctedTimestamp(options.receivedAt, event.timestamp, event.originalTimestamp, event.sentAt ?? requestSentAt),
        ),
      ).toISOString(),
      receivedAt: new Date(options.receivedAt).toISOString(),
      channel: channelOf(context, properties, options.source.defaultChannel),
      sourceId: options.source.sourceId,
    };
    for (const key of ['userId', 'anonymousId', 'previousId', 'groupId', 'event', 'name'] as const) {
      const value = event[key];
      if (typeof value === 'string') enriched[key] = value;
    }
    if (!hasUsableIdentifier(enriched, options.identity)) {
      // Accepted means processable: the processor would have no one to fold this event into.
      reject(event.userId !== undefined || event.anonymousId === undefined ? 'userId' : 'anonymousId', UNUSABLE_IDENTIFIERS);
      continue;
    }
    queuedBytes += eventBytes + sharedContextBytes;
    accepted.push(enriched);
  }
  return { accepted, rejected, queuedBytes };
}

const UNUSABLE_IDENTIFIERS =
  'identifies nobody: a placeholder such as "0", "null", "anonymous" or "test" (or a blocked pattern) is never used to match a person; send a real userId, or an anonymousId';

/**
 * Segment's clock-skew rule: `timestamp = receivedAt - (sentAt - originalTimestamp)`.
 * The client's clock is trusted only for the delay between the event and its sending.
 */
export function correctedTimestamp(receivedAt: number, timestamp?: number, originalTimestamp?: number, sentAt?: number): number {
  const original = originalTimestamp ?? timestamp;
  if (original === undefined) return receivedAt;
  if (sentAt === undefined) return Math.min(original, receivedAt);
  return Math.min(receivedAt - (sentAt - original), receivedAt);
}

function channelOf(context: Record<string, unknown>, properties: Record<string, unknown>, fallback: Channel): Channel {
  if (isChannel(context.channel)) return context.channel;
  if (isChannel(properties.channel)) return properties.channel;
  return fallback;
}

/** The batch's own `sentAt`, when it is a usable date (otherwise the events' own times stand uncorrected). */
function parseDate(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return withinCalendar(ms) ? ms : undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return isPlainObject(value) ? value : undefined;
}
