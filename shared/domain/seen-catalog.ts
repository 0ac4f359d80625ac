/**
 * What Prisme has seen, for the console's autocomplete: each behaviour's name (as segments count it)
 * with its property keys and a few sample values, and each trait name with a few of its values, with
 * counts and when last seen.
 * Tallied per processor invocation, written now and then (see `SeenBuffer`). Samples never hold what
 * could name a person: no value of a key that sounds like an identifier, no string with `@`, with a run
 * of digits like a phone number, or longer than a label. Pure.
 */

import { behaviourName } from './buckets';
import { type EnrichedEvent, isPlainObject } from './events';
import { isWellFormedText } from './identity';

export const SEEN_LIMITS = {
  /** Property keys kept per behaviour, and traits per kind: a client sending random keys cannot grow the catalog without end. */
  keysPerName: 50,
  namesPerKind: 1000,
  samplesPerKey: 3,
  sampleChars: 40,
  nameChars: 200,
} as const;

export type SeenKind = 'events' | 'traits';

/** What one invocation saw of one name. */
export interface SeenTally {
  kind: SeenKind;
  name: string;
  count: number;
  /** Earliest and latest event times seen, ms. */
  firstSeen: number;
  lastSeen: number;
  /** Traits: a few of their values. */
  samples: string[];
  /** Events: property key -> a few of its values. */
  keys: Map<string, string[]>;
}

/** A catalog entry as stored and served. */
export interface SeenEntry {
  name: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  /** Traits: a few of their values. */
  samples?: string[];
  /** Events: their property keys, each with a few of its values. */
  properties?: Array<{ key: string; samples: string[] }>;
}

const PERSONAL_KEY = /e-?mail|phone|mobile|name|address|street|zip|postal|birth|ssn|passport|iban|card|user_?id|anonymous_?id|ip$/i;
const PERSONAL_VALUE = /@|\d[\d\s().+-]{6,}\d/;

/** A value safe and short enough to show as an example, as text; undefined when it is not. */
export function sampleOf(key: string, value: unknown): string | undefined {
  if (PERSONAL_KEY.test(key)) return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '' || text.length > SEEN_LIMITS.sampleChars || PERSONAL_VALUE.test(text)) return undefined;
  return isWellFormedText(text) ? text : undefined;
}

const tallyKey = (kind: SeenKind, name: string) => `${kind}\u0000${name}`;

/** A sample kept unless it is there already or there are enough. */
function keepSample(samples: string[], sample: string): void {
  if (samples.length < SEEN_LIMITS.samplesPerKey && !samples.includes(sample)) samples.push(sample);
}

function addSample(samples: string[], key: string, value: unknown): void {
  const sample = sampleOf(key, value);
  if (sample !== undefined) keepSample(samples, sample);
}

/** Adds what `events` show to `tallies` (kind and name -> tally); returns it. */
export function tallySeen(events: Iterable<EnrichedEvent>, tallies = new Map<string, SeenTally>()): Map<string, SeenTally> {
  const tallyOf = (kind: SeenKind, name: string, at: number): SeenTally | undefined => {
    if (name.length > SEEN_LIMITS.nameChars || !isWellFormedText(name)) return undefined;
    const key = tallyKey(kind, name);
    let tally = tallies.get(key);
    if (!tally) {
      if (tallies.size >= SEEN_LIMITS.namesPerKind * 2) return undefined;
      tally = { kind, name, count: 0, firstSeen: at, lastSeen: at, samples: [], keys: new Map() };
      tallies.set(key, tally);
    }
    tally.count++;
    tally.firstSeen = Math.min(tally.firstSeen, at);
    tally.lastSeen = Math.max(tally.lastSeen, at);
    return tally;
  };
  for (const event of events) {
    // Events come from the queue: one that is not what ingest makes is skipped here, and parked by the fold.
    const at = Date.parse(event.timestamp);
    if (!Number.isFinite(at) || !isPlainObject(event.properties) || !isPlainObject(event.traits)) continue;
    // A replayed event was counted when it first came.
    if (event.replayed) continue;
    const behaviour = behaviourName(event);
    if (typeof behaviour === 'string') {
      const tally = tallyOf('events', behaviour, at);
      for (const [key, value] of Object.entries(event.properties)) {
        if (!tally || key.length > SEEN_LIMITS.nameChars || !isWellFormedText(key)) continue;
        let samples = tally.keys.get(key);
        if (!samples) {
          if (tally.keys.size >= SEEN_LIMITS.keysPerName) continue;
          samples = [];
          tally.keys.set(key, samples);
        }
        addSample(samples, key, value);
      }
    }
    // As the profile folds them: a group's traits are the account's, and email is an identifier.
    if (event.type === 'group') continue;
    for (const [trait, value] of Object.entries(event.traits)) {
      if (trait === 'email' || value === undefined) continue;
      const tally = tallyOf('traits', trait, at);
      if (tally) addSample(tally.samples, trait, value);
    }
  }
  return tallies;
}

/** `from` added into `into` (a write that failed, kept for the next). */
export function mergeTallies(into: Map<string, SeenTally>, from: Iterable<SeenTally>): void {
  for (const tally of from) {
    const key = tallyKey(tally.kind, tally.name);
    const held = into.get(key);
    if (!held) {
      into.set(key, tally);
      continue;
    }
    held.count += tally.count;
    held.firstSeen = Math.min(held.firstSeen, tally.firstSeen);
    held.lastSeen = Math.max(held.lastSeen, tally.lastSeen);
    for (const sample of tally.samples) keepSample(held.samples, sample);
    for (const [property, samples] of tally.keys)
      if (!held.keys.has(property) && held.keys.size < SEEN_LIMITS.keysPerName) held.keys.set(property, samples);
  }
}

/** Names and property keys a tally holds, as the buffer remembers what it wrote. */
export const tallyMarks = (tally: SeenTally): string[] => [
  tallyKey(tally.kind, tally.name),
  ...[...tally.keys.keys()].map((key) => `${tallyKey(tally.kind, tally.name)}\u0000${key}`),
];
