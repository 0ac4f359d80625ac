/**
 * Property: identity limits hold under concurrency. Many people share one email (or phone, or device)
 * and send their first events at once, spread over concurrent batches: whatever the interleaving, no
 * profile ever holds two userIds, every event is folded exactly once, and a login is folded into the
 * profile that holds its userId, never into a stranger's (some people visited first without logging
 * in: their profiles are what the logins race for). Against dynalite.
 */
import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EnrichedEvent } from '../../shared/domain/events';
import { heldForm } from '../../shared/adapters/dynamodb/identity-store';
import { DEFAULT_IDENTITY_CONFIG, identifierKey } from '../../shared/domain/identity';
import { hasSeen } from '../../shared/domain/profile';
import { IdentityLimits } from '../../shared/usecases/identity-limits';
import { processEvents, type ProcessEventsDeps, type SourcedEvent } from '../../shared/usecases/process-events';
import { RecordingPublisher, emulatedStores, processEventsDeps } from '../helpers/aws';
import { anEvent } from '../helpers/events';

let stores: Awaited<ReturnType<typeof emulatedStores>>;
let deps: ProcessEventsDeps;
beforeAll(async () => {
  stores = await emulatedStores();
  deps = processEventsDeps(stores, new RecordingPublisher());
});

/**
 * The identity store, but the first read of `profileId`'s holdings runs `meanwhile` before it answers
 * (with what it read before): another batch's work lands between a batch's read and its write.
 */
function racingStore(profileId: string, meanwhile: () => Promise<void>) {
  const real = stores.identities;
  const race = { ran: false };
  const identities = Object.assign(Object.create(real) as typeof real, {
    holdings: async (id: string) => {
      const read = await real.holdings(id);
      if (id === profileId && !race.ran) {
        race.ran = true;
        await meanwhile();
      }
      return read;
    },
  });
  return { identities, race };
}

type Shared = 'email' | 'phone' | 'anonymousId';
let run = 0;

describe('identity limits under concurrency', () => {
  it('never puts two userIds on one profile, folds every event exactly once, and each login into its own profile', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.subarray<Shared>(['email', 'phone', 'anonymousId'], { minLength: 1 }),
        fc.integer({ min: 2, max: 20 }),
        fc.integer({ min: 2, max: 6 }),
        fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
        fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
        fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
        async (shared, people, batchCount, assignment, twice, anonymousFirst) => {
          run++;
          const traits: Record<string, string> = {};
          if (shared.includes('email')) traits.email = `family${run}@example.com`;
          if (shared.includes('phone')) traits.phone = `+336${String(10_000_000 + run).padStart(8, '0')}`;
          const anonymousId = shared.includes('anonymousId') ? `tablet-${run}` : undefined;
          const events: EnrichedEvent[] = [];
          for (let p = 0; p < people; p++) {
            // A visit before logging in: a profile holding the shared identifiers and no userId, that
            // the logins sent at once then race for.
            if (anonymousFirst[p]) events.push(anEvent({ type: 'identify', event: undefined, userId: undefined, anonymousId, traits, messageId: `r${run}-p${p}-anon` }));
            for (let k = 0; k < (twice[p] ? 2 : 1); k++) {
              events.push(anEvent({ type: 'identify', event: undefined, userId: `r${run}-user${p}`, anonymousId, traits, messageId: `r${run}-p${p}-e${k}` }));
            }
          }
          // Spread over concurrent batches; each batch keeps the generator's order of arrival.
          const batches: SourcedEvent[][] = Array.from({ length: batchCount }, () => []);
          events
            .map((event, i) => ({ event, key: assignment[i % assignment.length]! + i }))
            .sort((a, b) => (a.key % 7) - (b.key % 7))
            .forEach(({ event, key }) => batches[key % batchCount]!.push({ event, origin: `r${run}-m${key % batchCount}` }));

          let pending = batches.filter((b) => b.length > 0);
          for (let round = 0; pending.length > 0; round++) {
            if (round > 10) throw new Error('did not converge');
            const results = await Promise.all(pending.map((batch) => processEvents(batch, deps)));
            expect(results.flatMap((r) => r.parked)).toEqual([]);
            pending = pending.filter((_, i) => results[i]!.failed.size > 0);
          }

          const finalOf = async (profileId: string) => {
            let profile = await stores.profiles.get(profileId);
            while (profile?.mergedInto) profile = await stores.profiles.get(profile.mergedInto);
            return profile!;
          };
          const ownerOf = async (key: string) => (await stores.identities.owners([key])).get(key);
          const profiles = new Map<string, Awaited<ReturnType<typeof finalOf>>>();
          for (let p = 0; p < people; p++) {
            const owner = await ownerOf(identifierKey({ type: 'userId', value: `r${run}-user${p}` }));
            expect(owner, `user${p} has a profile`).toBeDefined();
            const profile = await finalOf(owner!);
            expect(profiles.has(profile.profileId), `user${p} shares a profile`).toBe(false);
            profiles.set(profile.profileId, profile);
            expect(profile.identifiers.userId).toEqual([`r${run}-user${p}`]);
            // Each of their logins is folded where their userId is: none in a stranger's profile.
            for (let k = 0; k < (twice[p] ? 2 : 1); k++) expect(hasSeen(profile, `r${run}-p${p}-e${k}`), `user${p}'s event ${k} is on their profile`).toBe(true);
          }
          // Every event folded once, over every profile the run made (each owns one of its identifiers).
          const sharedKeys = [...Object.entries(traits).map(([type, value]) => `${type}:${value}`), ...(anonymousId ? [`anonymousId:${anonymousId}`] : [])];
          for (const key of sharedKeys) {
            const owner = await ownerOf(key);
            if (owner) {
              const profile = await finalOf(owner);
              profiles.set(profile.profileId, profile);
            }
          }
          expect([...profiles.values()].reduce((sum, profile) => sum + (profile.channels.web ?? 0), 0)).toBe(events.length);
        },
      ),
      { numRuns: 30, seed: 20261501 },
    );
  }, 240_000);
});

describe('a login racing another on a shared device', () => {
  it('folds the son into his own profile when his mother logs in on the tablet between his read of her holdings and his reserve', async () => {
    const tablet = `tablet-race-${run}`;
    // Her first visit gave an email, no login: her profile has holdings, and no userId in them.
    const mumFirst = anEvent({ type: 'identify', event: undefined, userId: undefined, anonymousId: tablet, traits: { email: 'race-mum@example.com' }, messageId: 'race-mum-0' });
    await processEvents([{ event: mumFirst, origin: 'race-m0' }], deps);
    const mumProfile = (await stores.identities.owners([`anonymousId:${tablet}`])).get(`anonymousId:${tablet}`)!;
    const mumLogin = anEvent({ type: 'identify', event: undefined, userId: 'race-mum', anonymousId: tablet, messageId: 'race-mum-1' });
    const son = anEvent({ type: 'identify', event: undefined, userId: 'race-son', anonymousId: tablet, traits: { email: 'race-son@example.com' }, messageId: 'race-son-1' });

    // The son's batch reads the mother's holdings (no userId yet); right then her own login is processed whole.
    const { identities: racing, race } = racingStore(mumProfile, async () => {
      const login = await processEvents([{ event: mumLogin, origin: 'race-m1' }], deps);
      expect(login.failed.size + login.parked.length).toBe(0);
    });
    let result = await processEvents([{ event: son, origin: 'race-s1' }], { ...deps, identities: racing });
    for (let retry = 0; result.failed.size > 0 && retry < 3; retry++) result = await processEvents([{ event: son, origin: 'race-s1' }], deps);
    expect(race.ran).toBe(true);
    expect(result.failed.size + result.parked.length).toBe(0);

    const ownerOf = async (key: string) => (await stores.identities.owners([key])).get(key);
    const mum = (await stores.profiles.get(mumProfile))!;
    expect(mum.identifiers.userId).toEqual(['race-mum']);
    expect(mum.identifiers.email).toEqual(['race-mum@example.com']);
    expect(hasSeen(mum, 'race-son-1')).toBe(false);
    const sonProfile = await ownerOf('userId:race-son');
    expect(sonProfile).toBeDefined();
    expect(sonProfile).not.toBe(mumProfile);
    expect(await ownerOf('email:race-son@example.com')).toBe(sonProfile);
    const sons = (await stores.profiles.get(sonProfile!))!;
    expect(hasSeen(sons, 'race-son-1')).toBe(true);
    expect(sons.identifiers.anonymousId).toBeUndefined(); // as if run one after the other: the tablet stays hers
  });
});

describe('a lost claim gives back only the room it took', () => {
  it("keeps a merged profile's userId counted when a login loses the claim of that userId to it", async () => {
    const ownerOf = async (key: string) => (await stores.identities.owners([key])).get(key);
    const finalOf = async (profileId: string) => {
      let profile = (await stores.profiles.get(profileId))!;
      for (let hops = 0; profile.mergedInto && hops < 10; hops++) profile = (await stores.profiles.get(profile.mergedInto))!;
      return profile;
    };
    const phone = '+33611112222';
    // A visit from the family's phone, no login: profile P holds the phone.
    await processEvents([{ event: anEvent({ type: 'identify', event: undefined, userId: undefined, anonymousId: 'lost-a1', traits: { phone }, messageId: 'lost-0' }), origin: 'lost-m0' }], deps);
    const shared = (await ownerOf(`phone:${phone}`))!;
    // Léa logs in on the phone; her batch finds the phone's profile, but not yet her userId...
    const lea = anEvent({ type: 'identify', event: undefined, userId: 'lost-lea', traits: { phone }, messageId: 'lost-lea-1' });
    const { identities: racing, race } = racingStore(shared, async () => {
      // ...which, meanwhile, her laptop claims (for a profile whose id a concurrent processor made earlier,
      // so it survives the merge), and a visit links the laptop to the phone: one person, merged.
      const older = { ...deps, newProfileId: () => `p_000000000${'0'.repeat(19)}1ea` };
      await processEvents([{ event: anEvent({ type: 'identify', event: undefined, userId: 'lost-lea', anonymousId: 'lost-laptop', messageId: 'lost-lea-0' }), origin: 'lost-m1' }], older);
      await processEvents([{ event: anEvent({ type: 'identify', event: undefined, userId: undefined, anonymousId: 'lost-laptop', traits: { phone }, messageId: 'lost-link' }), origin: 'lost-m2' }], deps);
    });
    const result = await processEvents([{ event: lea, origin: 'lost-m3' }], { ...deps, identities: racing });
    expect(race.ran).toBe(true);
    expect(result.failed.size + result.parked.length).toBe(0);
    // Then her brother logs in on the same phone: his userId must not join hers.
    await processEvents([{ event: anEvent({ type: 'identify', event: undefined, userId: 'lost-tom', traits: { phone }, messageId: 'lost-tom-1' }), origin: 'lost-m4' }], deps);
    const leaProfile = await finalOf((await ownerOf('userId:lost-lea'))!);
    const tomProfile = await finalOf((await ownerOf('userId:lost-tom'))!);
    expect(leaProfile.identifiers.userId).toEqual(['lost-lea']);
    expect(tomProfile.identifiers.userId).toEqual(['lost-tom']);
    expect(tomProfile.profileId).not.toBe(leaProfile.profileId);
  });
});

describe('holdings keep no identifier in clear', () => {
  /** Every item of the identities table, as stored. */
  const scan = async () => {
    const items: Array<Record<string, unknown>> = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await stores.dynamo.send(new ScanCommand({ TableName: stores.tableOf('identities'), ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  };

  it('writes no userId, email, phone or device id into any item but the identifier items themselves, after the runs above', async () => {
    // And a merge: its loser's holdings become a redirect.
    for (const [i, event] of [
      anEvent({ type: 'identify', event: undefined, userId: 'merge-user', anonymousId: 'merge-phone' }),
      anEvent({ type: 'identify', event: undefined, userId: undefined, anonymousId: 'merge-laptop', traits: { email: 'merge@example.com' } }),
      anEvent({ type: 'identify', event: undefined, userId: 'merge-user', traits: { email: 'merge@example.com' } }),
    ].entries()) expect((await processEvents([{ event, origin: `merge-${i}` }], deps)).failed.size).toBe(0);
    const items = await scan();
    const identifierItems = items.filter((item) => /^[^#:]+:/.test(item.identifier as string));
    const clear = new Set(identifierItems.map((item) => (item.identifier as string).slice((item.identifier as string).indexOf(':') + 1)));
    const others = items.filter((item) => !identifierItems.includes(item));
    // Not vacuous: the runs above left holdings of fresh profiles, of joined ones, and a redirect.
    expect(others.filter((item) => (item.identifier as string).startsWith('holds#') && item.hashed).length).toBeGreaterThan(20);
    expect(others.filter((item) => item.into).length).toBeGreaterThan(0);
    expect(clear.size).toBeGreaterThan(100);
    for (const item of others) {
      const stored = JSON.stringify(item);
      for (const value of clear) expect(stored.includes(JSON.stringify(value)), `${item.identifier as string} holds a value in clear`).toBe(false);
    }
  });

  it('counts holdings written in clear by the previous version, and writes them back hashed', async () => {
    const legacy = { identifier: 'holds#p_legacy', version: 3, held: { userId: ['legacy-user'], email: ['a@legacy.example', 'b@legacy.example'] } };
    await stores.dynamo.send(new PutCommand({ TableName: stores.tableOf('identities'), Item: legacy }));
    const limits = new IdentityLimits({ identities: stores.identities, profiles: stores.profiles, config: DEFAULT_IDENTITY_CONFIG });
    const { refused, taken } = await limits.reserve('p_legacy', [
      { type: 'userId', value: 'someone-else' },
      { type: 'email', value: 'a@legacy.example' }, // held already: takes no more room
      { type: 'email', value: 'c@legacy.example' },
    ]);
    expect(refused).toEqual([{ type: 'userId', value: 'someone-else' }]);
    expect(taken).toEqual([{ type: 'email', value: 'c@legacy.example' }]);
    const { Item } = await stores.dynamo.send(new GetCommand({ TableName: stores.tableOf('identities'), Key: { identifier: 'holds#p_legacy' }, ConsistentRead: true }));
    expect(Item).toEqual({
      identifier: 'holds#p_legacy',
      version: 4,
      hashed: { userId: [heldForm('userId', 'legacy-user')], email: ['a', 'b', 'c'].map((x) => heldForm('email', `${x}@legacy.example`)) },
    });
  });
});
