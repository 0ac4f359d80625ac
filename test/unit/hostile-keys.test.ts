/**
 * Names a client chose (event names, property keys, category values, trait names, external id
 * types, channels) are data, whatever they are: `__proto__`, `constructor`, `toString` and the like
 * pass from ingest through the queue, the fold, storage and back to the views and segments without
 * touching Object.prototype, and are kept like any other name.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProfile, encodeProfile } from '#shared/adapters/dynamodb/profile-codec';
import { type CompiledSpec, compileSpec } from '#shared/domain/aggregates';
import { perEventAndChannel, totalCount } from '#shared/domain/buckets';
import { interestsAt } from '#shared/domain/categories';
import { type EnrichedEvent, parseEvents } from '#shared/domain/events';
import { explain } from '#shared/domain/explain';
import { foldEvents } from '#shared/domain/fold';
import { identifiersOf, normaliseIdentifierType } from '#shared/domain/identity';
import { compileIndicators } from '#shared/domain/indicators';
import { newProfile, type Profile } from '#shared/domain/profile';
import { compile } from '#shared/domain/segment-compiler';
import type { Condition } from '#shared/domain/segment-definition';
import { aggregateSpecsOf } from '#shared/domain/segment-dependencies';

const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
// `|` separates the parts of aggregate keys: names holding it must stay names. (`email` is an identifier, not a trait.)
const KEY_SEPARATOR_NAMES = ['A|store', 'x|*|y', 'Checkout | Step 2', '|'];
const name = fc.oneof(
  fc.constantFrom(...PROTOTYPE_NAMES, ...KEY_SEPARATOR_NAMES),
  fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s.trim() === s && s !== 'email'),
);
// Views count towards category interest; its category is a name too.
const eventName = fc.oneof(fc.constant('Product Viewed'), name);

const rawEvent = fc.record({
  event: eventName,
  propertyKey: name,
  category: name,
  traitName: name,
  idType: name,
  channel: fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES), fc.constantFrom('web', 'store')),
});
type RawEvent = typeof rawEvent extends fc.Arbitrary<infer T> ? T : never;

const now = Date.parse('2026-06-15T12:00:00.000Z');
const model = compileIndicators();
const source = { sourceId: 'src', defaultChannel: 'app' as const };

/** As a client sends it: JSON text, so `__proto__` arrives as an own key, as it does over HTTP. */
const requestOf = (raw: RawEvent, i: number): string =>
  JSON.stringify({
    userId: 'p1',
    event: raw.event,
    messageId: `m${i}`,
    timestamp: new Date(now - 86_400_000 + i * 1000).toISOString(),
    properties: { category: raw.category, [raw.propertyKey]: { polluted: 1 } },
    context: {
      channel: raw.channel,
      traits: { [raw.traitName]: `v${i}` },
      externalIds: [{ type: raw.idType, id: `id${i}`, collection: 'users' }],
    },
  }).replace('"properties":{', '"properties":{"__proto__":{"polluted":1},');

/** Ingest, then the queue (JSON both ways), then one fold, then storage (encode, decode). */
function foldStored(
  profile: Profile,
  raws: readonly RawEvent[],
  offset: number,
  specs: readonly CompiledSpec[],
): { profile: Profile; events: EnrichedEvent[] } {
  const events = raws.flatMap((raw, i) => {
    const { accepted, rejected } = parseEvents('track', JSON.parse(requestOf(raw, offset + i)) as Record<string, unknown>, {
      source,
      receivedAt: now,
      newMessageId: () => `m${offset + i}`,
    });
    expect(rejected).toEqual([]);
    return JSON.parse(JSON.stringify(accepted)) as EnrichedEvent[];
  });
  const identifiers = events.flatMap((e) => identifiersOf(e));
  const folded = foldEvents(profile, events, identifiers, now, specs, model.categoryRule).profile;
  return { profile: decodeProfile(encodeProfile(folded) as unknown as Record<string, unknown>), events };
}

describe('names a client chose', () => {
  const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();
  const unpolluted = () => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeNames);
    const plain = {} as Record<string, unknown>;
    expect([plain.web, plain.polluted, plain.store, plain.users]).toEqual([undefined, undefined, undefined, undefined]);
    expect(Object.getPrototypeOf(plain)).toBe(Object.prototype);
  };
  beforeAll(unpolluted);
  afterAll(unpolluted);

  it('are kept as data through ingest, fold, storage, the profile view, explain and segments, and never reach Object.prototype', () => {
    fc.assert(
      fc.property(
        fc.array(rawEvent, { minLength: 1, maxLength: 10 }),
        fc.nat({ max: 10 }),
        fc.array(name, { minLength: 1, maxLength: 4 }),
        (raws, cut, asked) => {
          const conditions: Condition[] = [...asked, ...PROTOTYPE_NAMES].flatMap((n): Condition[] => [
            { type: 'trait', trait: n, operator: 'exists' },
            { type: 'event', event: n, count: { operator: 'gte', value: 1 } },
            { type: 'event', event: 'Product Viewed', where: [{ property: n, operator: 'exists' }], count: { operator: 'gte', value: 1 } },
          ]);
          const specs = [...model.specs, ...conditions.flatMap(aggregateSpecsOf)].map((spec) => compileSpec(spec));
          // Two batches with storage in between: the second folds into a decoded profile.
          const first = foldStored(newProfile('p1', new Date(now - 86_400_000).toISOString()), raws.slice(0, cut), 0, specs);
          const { profile, events } = ((second) => ({ profile: second.profile, events: [...first.events, ...second.events] }))(
            foldStored(first.profile, raws.slice(cut), cut, specs),
          );
          unpolluted();

          // Every event is counted under its own name, on the channel ingest gave it.
          const view = perEventAndChannel(profile, totalCount);
          const counted = new Map<string, number>();
          for (const e of events) counted.set(e.event!, (counted.get(e.event!) ?? 0) + 1);
          expect(
            new Map(Object.entries(view).map(([event, channels]) => [event, Object.values(channels).reduce((a, b) => a + b, 0)])),
          ).toEqual(counted);
          for (const e of events) expect(['web', 'store', 'app']).toContain(e.channel);

          // Each trait holds the value of the latest event that set it; absent ones read as absent.
          const latest = new Map<string, string>();
          for (const [i, raw] of raws.entries()) latest.set(raw.traitName, `v${i}`);
          expect(new Map(Object.entries(profile.traits))).toEqual(latest);

          // Custom identifier types are kept under their name.
          raws.forEach((raw, i) => {
            const type = normaliseIdentifierType(raw.idType);
            if (type) expect(Object.hasOwn(profile.identifiers, type) && profile.identifiers[type]).toContain(`id${i}`);
          });

          // Category interest: finite scores for the names sent with views.
          const views = raws.filter((r) => r.event === 'Product Viewed');
          const viewed = new Set(views.filter((r) => r.propertyKey !== 'category').map((r) => r.category.toLowerCase()));
          const interests = interestsAt(profile, now, model.settings.categories.halfLifeDays);
          for (const [category, score] of interests) expect([viewed.has(category), Number.isFinite(score)]).toEqual([true, true]);
          if (viewed.size <= model.settings.categories.maxPerProfile)
            expect(new Set(interests.map(([category]) => category))).toEqual(viewed);
          const indicators = model.valuesOf(profile, now);
          for (const value of Object.values(indicators)) if (typeof value === 'number') expect(Number.isFinite(value)).toBe(true);

          // Segments and explain read only what was sent: `toString` is no trait unless one was set.
          const expected = (condition: Condition): boolean => {
            if (condition.type === 'trait') return latest.has(condition.trait);
            if (condition.type === 'event' && condition.where) {
              const property = condition.where[0]!.property;
              return views.some((r) => property === '__proto__' || property === 'category' || r.propertyKey === property);
            }
            // `"*"` in a condition is any event (a client's event named `*` is one of them).
            if (condition.type === 'event') return condition.event === '*' ? counted.size > 0 : counted.has(condition.event!);
            throw new Error('unexpected condition');
          };
          for (const condition of conditions) {
            const held = compile(condition)(profile, now, new Set(), indicators);
            expect({ condition, held }).toEqual({ condition, held: expected(condition) });
            expect(explain(condition, profile, now, new Set(), indicators).held).toBe(held);
          }
          unpolluted();
        },
      ),
      { seed: 15, numRuns: 100 },
    );
  });
});
