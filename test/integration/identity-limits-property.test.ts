/**
 * Property: identity limits hold under concurrency. Many people share one email (or phone, or device)
 * and send their first events at once, spread over concurrent batches: whatever the interleaving, no
 * profile ever holds two userIds, every event is folded exactly once, and a login is folded into the
 * profile that holds its userId, never into a stranger's (some people visited first without logging
 * in: their profiles are what the logins race for). Against dynalite, with generated delays before and
 * after each store call, so the batches interleave as on a loaded machine and a failing case is one a
 * quiet machine runs again. Long because each race (a shared device, a lost claim, joins) needs its own
 * staging, and they share one emulator.
 */
import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasSeen } from '#shared/domain/buckets';
import type { EnrichedEvent } from '#shared/domain/events';
import { DEFAULT_IDENTITY_CONFIG, heldForm, identifierKey } from '#shared/domain/identity';
import { IdentityLimits } from '#shared/usecases/identity-limits';
import { type ProcessEventsDeps, processEvents } from '#shared/usecases/process-events';
import type { SourcedEvent } from '#shared/usecases/sourced-event';
import { emulatedStores, processEventsDeps, RecordingPublisher } from '../helpers/aws';
import { anEvent } from '../helpers/events';

let stores: Awaited<ReturnType<typeof emulatedStores>>;
let deps: ProcessEventsDeps;
beforeAll(async () => {
  stores = await emulatedStores();
  deps = processEventsDeps(stores, new RecordingPublisher());
});

/**
 * The store, but each call waits before it starts and after it answers, the next of `delays` in turn
 * (tenths of a millisecond), and claims wait longer: a claim is where two batches' reserves and joins cross.
 */
function delayed<T extends object>(real: T, delays: readonly number[]): T {
  let next = 0;
  const wait = (factor: number) => new Promise((resolve) => setTimeout(resolve, (factor * delays[next++ % delays.length]!) / 10));
  return new Proxy(real, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await wait(name === 'claim' ? 2 : 1);
        const answer = await value.apply(target, args);
        await wait(0.5);
        return answer;
      };
    },
  });
}

/**
 * The identity store, but another batch's work (`meanwhile`) lands in the middle of this one's, once: by
 * default between its first read of `target`'s holdings and what it does with them (it answers what it
 * read before); with `claim`, just before it claims the identifier key `target`, after its reserve.
 */
function racingStore(target: string, meanwhile: () => Promise<void>, method: 'holdings' | 'claim' = 'holdings') {
  const real = stores.identities;
  const race = { ran: false };
  const first = () => !race.ran && (race.ran = true);
  const identities = Object.assign(Object.create(real) as typeof real, {
    holdings: async (id: string) => {
      const read = await real.holdings(id);
      if (method === 'holdings' && id === target && first()) await meanwhile();
      return read;
    },
    claim: async (key: string, profileId: string, at: string) => {
      if (method === 'claim' && key === target && first()) await meanwhile();
      return real.claim(key, profileId, at);
    },
  });
  return { identities, race };
}

const ownerOf = async (key: string) => (await stores.identities.owners([key])).get(key);
/** The live profile a profile id leads to, following merges. */
const finalOf = async (profileId: string) => {
  let profile = (await stores.profiles.get(profileId))!;
  for (let hops = 0; profile.mergedInto && hops < 10; hops++) profile = (await stores.profiles.get(profile.mergedInto))!;
  return profile;
};
const identify = (messageId: string, userId: string | undefined, rest: { anonymousId?: string; traits?: Record<string, string> }) =>
  anEvent({ type: 'identify', event: undefined, userId, anonymousId: rest.anonymousId, traits: rest.traits ?? {}, messageId });

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
        fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 31, maxLength: 31 }),
        async (shared, people, batchCount, assignment, twice, anonymousFirst, delays) => {
          run++;
          const racing = processEventsDeps(
            { ...stores, identities: delayed(stores.identities, delays), profiles: delayed(stores.profiles, delays) },
            new RecordingPublisher(),
          );
          const traits: Record<string, string> = {};
          if (shared.includes('email')) traits.email = `family${run}@example.com`;
          if (shared.includes('phone')) traits.phone = `+336${String(10_000_000 + run).padStart(8, '0')}`;
          const anonymousId = shared.includes('anonymousId') ? `tablet-${run}` : undefined;
          const events: EnrichedEvent[] = [];
          for (let p = 0; p < people; p++) {
            // A visit before logging in: a profile holding the shared identifiers and no userId, that
            // the logins sent at once then race for.
            if (anonymousFirst[p])
              events.push(
                anEvent({ type: 'identify', event: undefined, userId: undefined, anonymousId, traits, messageId: `r${run}-p${p}-anon` }),
              );
            for (let k = 0; k < (twice[p] ? 2 : 1); k++) {
              events.push(
                anEvent({
                  type: 'identify',
                  event: undefined,
                  userId: `r${run}-user${p}`,
                  anonymousId,
                  traits,
                  messageId: `r${run}-p${p}-e${k}`,
                }),
              );
            }
          }
          // Spread over concurrent batches; each batch keeps the generator's order of arrival.
          const batches: SourcedEvent[][] = Array.from({ length: batchCount }, () => []);
          events
            .map((event, i) => ({ event, key: assignment[i % assignment.length]! + i }))
            .sort((a, b) => (a.key % 7) - (b.key % 7))
            .forEach(({ event, key }) => {
              batches[key % batchCount]!.push({ event, origin: `r${run}-m${key % batchCount}` });
            });

          let pending = batches.filter((b) => b.length > 0);
          for (let round = 0; pending.length > 0; round++) {
            if (round > 10) throw new Error('did not converge');
            const results = await Promise.all(pending.map((batch) => processEvents(batch, racing)));
            expect(results.flatMap((r) => r.parked)).toEqual([]);
            pending = pending.filter((_, i) => results[i]!.failed.size > 0);
          }

          const profiles = new Map<string, Awaited<ReturnType<typeof finalOf>>>();
          for (let p = 0; p < people; p++) {
            const owner = await ownerOf(identifierKey({ type: 'userId', value: `r${run}-user${p}` }));
            expect(owner, `user${p} has a profile`).toBeDefined();
            const profile = await finalOf(owner!);
            expect(profiles.has(profile.profileId), `user${p} shares a profile`).toBe(false);
            profiles.set(profile.profileId, profile);
            expect(profile.identifiers.userId).toEqual([`r${run}-user${p}`]);
            // Each of their logins is folded where their userId is: none in a stranger's profile.
            for (let k = 0; k < (twice[p] ? 2 : 1); k++)
              expect(hasSeen(profile, `r${run}-p${p}-e${k}`), `user${p}'s event ${k} is on their profile`).toBe(true);
          }
          // Every event folded once, over every profile the run made (each owns one of its identifiers).
          const sharedKeys = [
            ...Object.entries(traits).map(([type, value]) => `${type}:${value}`),
            ...(anonymousId ? [`anonymousId:${anonymousId}`] : []),
          ];
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
      { numRuns: 30, seed: 314302 },
    );
  }, 240_000);
});

describe('a login racing another on a shared device', () => {
  it('folds the son into his own profile when his mother logs in on the tablet between his read of her holdings and his reserve', async () => {
    const tablet = `tablet-race-${run}`;
    // Her first visit gave an email, no login: her profile has holdings, and no userId in them.
    const mumFirst = anEvent({
      type: 'identify',
      event: undefined,
      userId: undefined,
      anonymousId: tablet,
      traits: { email: 'race-mum@example.com' },
      messageId: 'race-mum-0',
    });
    await processEvents([{ event: mumFirst, origin: 'race-m0' }], deps);
    const mumProfile = (await stores.identities.owners([`anonymousId:${tablet}`])).get(`anonymousId:${tablet}`)!;
    const mumLogin = anEvent({ type: 'identify', event: undefined, userId: 'race-mum', anonymousId: tablet, messageId: 'race-mum-1' });
    const son = anEvent({
      type: 'identify',
      event: undefined,
      userId: 'race-son',
      anonymousId: tablet,
      traits: { email: 'race-son@example.com' },
      messageId: 'race-son-1',
    });

    // The son's batch reads the mother's holdings (no userId yet); right then her own login is processed whole.
    const { identities: racing, race } = racingStore(mumProfile, async () => {
      const login = await processEvents([{ event: mumLogin, origin: 'race-m1' }], deps);
      expect(login.failed.size + login.parked.length).toBe(0);
    });
    let result = await processEvents([{ event: son, origin: 'race-s1' }], { ...deps, identities: racing });
    for (let retry = 0; result.failed.size > 0 && retry < 3; retry++)
      result = await processEvents([{ event: son, origin: 'race-s1' }], deps);
    expect(race.ran).toBe(true);
    expect(result.failed.size + result.parked.length).toBe(0);

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
    const phone = '+33611112222';
    // A visit from the family's phone, no login: profile P holds the phone.
    await processEvents(
      [
        {
          event: anEvent({
            type: 'identify',
            event: undefined,
            userId: undefined,
            anonymousId: 'lost-a1',
            traits: { phone },
            messageId: 'lost-0',
          }),
          origin: 'lost-m0',
        },
      ],
      deps,
    );
    const shared = (await ownerOf(`phone:${phone}`))!;
    // Léa logs in on the phone; her batch finds the phone's profile, but not yet her userId...
    const lea = anEvent({ type: 'identify', event: undefined, userId: 'lost-lea', traits: { phone }, messageId: 'lost-lea-1' });
    const { identities: racing, race } = racingStore(shared, async () => {
      // ...which, meanwhile, her laptop claims (for a profile whose id a concurrent processor made earlier,
      // so it survives the merge), and a visit links the laptop to the phone: one person, merged.
      const older = { ...deps, newProfileId: () => `p_000000000${'0'.repeat(19)}1ea` };
      await processEvents(
        [
          {
            event: anEvent({ type: 'identify', event: undefined, userId: 'lost-lea', anonymousId: 'lost-laptop', messageId: 'lost-lea-0' }),
            origin: 'lost-m1',
          },
        ],
        older,
      );
      await processEvents(
        [
          {
            event: anEvent({
              type: 'identify',
              event: undefined,
              userId: undefined,
              anonymousId: 'lost-laptop',
              traits: { phone },
              messageId: 'lost-link',
            }),
            origin: 'lost-m2',
          },
        ],
        deps,
      );
    });
    const result = await processEvents([{ event: lea, origin: 'lost-m3' }], { ...deps, identities: racing });
    expect(race.ran).toBe(true);
    expect(result.failed.size + result.parked.length).toBe(0);
    // Then her brother logs in on the same phone: his userId must not join hers.
    await processEvents(
      [
        {
          event: anEvent({ type: 'identify', event: undefined, userId: 'lost-tom', traits: { phone }, messageId: 'lost-tom-1' }),
          origin: 'lost-m4',
        },
      ],
      deps,
    );
    const leaProfile = await finalOf((await ownerOf('userId:lost-lea'))!);
    const tomProfile = await finalOf((await ownerOf('userId:lost-tom'))!);
    expect(leaProfile.identifiers.userId).toEqual(['lost-lea']);
    expect(tomProfile.identifiers.userId).toEqual(['lost-tom']);
    expect(tomProfile.profileId).not.toBe(leaProfile.profileId);
  });
});

describe('a lost claim gives back no room that counts for someone else', () => {
  /** Then her brother logs in on the same phone: his userId must not join hers. */
  const expectApart = async (phone: string, lea: string, tom: string) => {
    const tomLogin = await processEvents([{ event: identify(`${tom}-1`, tom, { traits: { phone } }), origin: `${tom}-m` }], deps);
    expect(tomLogin.failed.size + tomLogin.parked.length).toBe(0);
    const leaProfile = await finalOf((await ownerOf(`userId:${lea}`))!);
    const tomProfile = await finalOf((await ownerOf(`userId:${tom}`))!);
    expect(leaProfile.identifiers.userId).toEqual([lea]);
    expect(tomProfile.identifiers.userId).toEqual([tom]);
    expect(tomProfile.profileId).not.toBe(leaProfile.profileId);
  };

  it('keeps her userId counted when, between her reserve and her claim, her laptop claims it and is joined to the phone, surviving', async () => {
    const phone = '+33633334444';
    // A visit from the family's phone, no login: profile P holds the phone.
    await processEvents(
      [{ event: identify('after-0', undefined, { anonymousId: 'after-a1', traits: { phone } }), origin: 'after-m0' }],
      deps,
    );
    // Léa logs in on the phone: her batch takes room for her userId on P; before it claims it...
    const { identities: racing, race } = racingStore(
      'userId:after-lea',
      async () => {
        // ...her laptop claims it (for a profile whose id a concurrent processor made earlier, so it survives the
        // merge), and a visit links the laptop to the phone: P is joined into it, her userId counted once there.
        const older = { ...deps, newProfileId: () => `p_000000000${'0'.repeat(19)}2ea` };
        await processEvents([{ event: identify('after-lea-0', 'after-lea', { anonymousId: 'after-laptop' }), origin: 'after-m1' }], older);
        await processEvents(
          [{ event: identify('after-link', undefined, { anonymousId: 'after-laptop', traits: { phone } }), origin: 'after-m2' }],
          deps,
        );
      },
      'claim',
    );
    const result = await processEvents([{ event: identify('after-lea-1', 'after-lea', { traits: { phone } }), origin: 'after-m3' }], {
      ...deps,
      identities: racing,
    });
    expect(race.ran).toBe(true);
    expect(result.failed.size + result.parked.length).toBe(0);
    await expectApart(phone, 'after-lea', 'after-tom');
  });

  it('keeps her userId counted when, between her reserve and her claim, a batch joins her laptop profile into the phone one and has not merged them yet', async () => {
    const phone = '+33655556666';
    await processEvents([{ event: identify('half-0', undefined, { anonymousId: 'half-a1', traits: { phone } }), origin: 'half-m0' }], deps);
    // A batch that has joined the holdings, stopped before it merges the profiles (her userId is still the laptop's).
    let reached!: () => void;
    const joined = new Promise<void>((resolve) => (reached = resolve));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const writer = Object.assign(Object.create(deps.writer) as typeof deps.writer, {
      merge: async (...args: Parameters<typeof deps.writer.merge>) => {
        reached();
        await gate;
        return deps.writer.merge(...args);
      },
    });
    let linking: ReturnType<typeof processEvents> | undefined;
    const { identities: racing, race } = racingStore(
      'userId:half-lea',
      async () => {
        // Her laptop claims her userId (a newer profile: the phone's survives), then a login on the phone links them.
        await processEvents([{ event: identify('half-lea-0', 'half-lea', { anonymousId: 'half-laptop' }), origin: 'half-m1' }], deps);
        linking = processEvents([{ event: identify('half-lea-2', 'half-lea', { traits: { phone } }), origin: 'half-m2' }], {
          ...deps,
          writer,
        });
        await joined;
      },
      'claim',
    );
    const result = await processEvents([{ event: identify('half-lea-1', 'half-lea', { traits: { phone } }), origin: 'half-m3' }], {
      ...deps,
      identities: racing,
    });
    open();
    const linked = await linking!;
    expect(race.ran).toBe(true);
    expect(result.failed.size + result.parked.length + linked.failed.size + linked.parked.length).toBe(0);
    await expectApart(phone, 'half-lea', 'half-tom');
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
      anEvent({
        type: 'identify',
        event: undefined,
        userId: undefined,
        anonymousId: 'merge-laptop',
        traits: { email: 'merge@example.com' },
      }),
      anEvent({ type: 'identify', event: undefined, userId: 'merge-user', traits: { email: 'merge@example.com' } }),
    ].entries())
      expect((await processEvents([{ event, origin: `merge-${i}` }], deps)).failed.size).toBe(0);
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
      for (const value of clear)
        expect(stored.includes(JSON.stringify(value)), `${item.identifier as string} holds a value in clear`).toBe(false);
    }
  });

  it('counts holdings written in clear by the previous version, and writes them back hashed', async () => {
    const legacy = {
      identifier: 'holds#p_legacy',
      version: 3,
      held: { userId: ['legacy-user'], email: ['a@legacy.example', 'b@legacy.example'] },
    };
    await stores.dynamo.send(new PutCommand({ TableName: stores.tableOf('identities'), Item: legacy }));
    const limits = new IdentityLimits({ identities: stores.identities, profiles: stores.profiles, config: DEFAULT_IDENTITY_CONFIG });
    const { refused, taken } = await limits.reserve('p_legacy', [
      { type: 'userId', value: 'someone-else' },
      { type: 'email', value: 'a@legacy.example' }, // held already: takes no more room
      { type: 'email', value: 'c@legacy.example' },
    ]);
    expect(refused).toEqual([{ type: 'userId', value: 'someone-else' }]);
    expect(taken).toEqual([{ type: 'email', value: 'c@legacy.example' }]);
    const { Item } = await stores.dynamo.send(
      new GetCommand({ TableName: stores.tableOf('identities'), Key: { identifier: 'holds#p_legacy' }, ConsistentRead: true }),
    );
    expect(Item).toEqual({
      identifier: 'holds#p_legacy',
      version: 4,
      hashed: { userId: [heldForm('userId', 'legacy-user')], email: ['a', 'b', 'c'].map((x) => heldForm('email', `${x}@legacy.example`)) },
    });
  });
});
