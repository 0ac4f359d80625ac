/**
 * Property: whatever the interleaving of one person's events across concurrent batches, and
 * wherever a crash interrupts processing (then redelivery, as SQS does), the person ends in
 * exactly one live profile holding every event exactly once. Against dynalite.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EnrichedEvent } from '#shared/domain/events';
import { identifierKey } from '#shared/domain/identity';
import type { ProfileStore } from '#shared/ports/profiles';
import { type ProcessEventsDeps, processEvents } from '#shared/usecases/process-events';
import { ProfileWriter } from '#shared/usecases/profile-writer';
import { RulesCache } from '#shared/usecases/rules-cache';
import type { SourcedEvent } from '#shared/usecases/sourced-event';
import { newProfileId } from '#shared/wiring';
import { emulatedStores, RecordingPublisher, silentLogger } from '../helpers/aws';
import { anEvent } from '../helpers/events';

let stores: Awaited<ReturnType<typeof emulatedStores>>;
beforeAll(async () => {
  stores = await emulatedStores();
});

type Id = 'user' | 'email' | 'deviceA' | 'deviceB';
const ID_TYPES: Record<Id, 'userId' | 'email' | 'anonymousId'> = {
  user: 'userId',
  email: 'email',
  deviceA: 'anonymousId',
  deviceB: 'anonymousId',
};

/** A store that fails one write, the `crashAt`-th, as a process dying mid-batch would. */
function crashingStore(inner: ProfileStore, crashAt: number): ProfileStore {
  let writes = 0;
  const crash = () => {
    if (++writes === crashAt) throw new Error('process died (injected)');
  };
  return {
    get: (id) => inner.get(id),
    getMany: (ids) => inner.getMany(ids),
    put: async (profile, expected) => {
      crash();
      return inner.put(profile, expected);
    },
    scan: (cursor, limit, segment) => inner.scan(cursor, limit, segment),
    due: (key, cursor, limit) => inner.due(key, cursor, limit),
    delete: (id) => inner.delete(id),
  };
}

let run = 0;

describe('identity resolution under concurrency and crashes', () => {
  it('ends in one profile with every event exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Each event names one or two of the person's identifiers; two final logins link them all (an event has one anonymousId).
        fc.array(fc.uniqueArray(fc.constantFrom<Id>('user', 'email', 'deviceA', 'deviceB'), { minLength: 1, maxLength: 2 }), {
          minLength: 2,
          maxLength: 10,
        }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 0, max: 2 }),
        fc.array(fc.nat(3), { minLength: 12, maxLength: 12 }),
        async (idSets, batchCount, crashAt, publishFailures, assignment) => {
          run++;
          const value = (id: Id) => (id === 'email' ? `person${run}@example.com` : `${id}-${run}`);
          const events: EnrichedEvent[] = [...idSets, ['user', 'email', 'deviceA'] as Id[], ['email', 'deviceB'] as Id[]].map((ids, i) => {
            const event = anEvent({
              type: 'identify',
              event: undefined,
              userId: undefined,
              anonymousId: undefined,
              messageId: `r${run}-e${i}`,
              traits: {},
            });
            for (const id of ids) {
              if (id === 'user') event.userId = value(id);
              else if (id === 'email') event.traits = { email: value(id) };
              else if (!event.anonymousId) event.anonymousId = value(id);
            }
            return event;
          });
          // Spread the events over concurrent batches (messages), as the generator decides.
          const batches: SourcedEvent[][] = Array.from({ length: batchCount }, () => []);
          events.forEach((event, i) => {
            const batch = assignment[i]! % batchCount;
            batches[batch]!.push({ event, origin: `r${run}-m${batch}` });
          });

          const publisher = new RecordingPublisher();
          publisher.failuresLeft = publishFailures;
          const logger = silentLogger();
          const profiles = crashingStore(stores.profiles, crashAt);
          const deps: ProcessEventsDeps = {
            identities: stores.identities,
            profiles: stores.profiles,
            writer: new ProfileWriter({
              profiles,
              identities: stores.identities,
              memberships: stores.memberships,
              stats: stores.catalog,
              sizes: stores.catalog,
              publisher,
              logger,
              now: Date.now,
            }),
            rules: new RulesCache(stores.catalog, 0),
            logger,
            newProfileId: () => newProfileId(),
            now: Date.now,
            concurrency: 4,
          };
          // Redeliver failed messages, as SQS does after the visibility timeout.
          let pending = batches.filter((b) => b.length > 0);
          for (let round = 0; pending.length > 0; round++) {
            if (round > 10) throw new Error('did not converge');
            const results = await Promise.all(pending.map((batch) => processEvents(batch, deps)));
            pending = pending.filter((_, i) => results[i]!.failed.size > 0);
          }

          const keys = (['user', 'email', 'deviceA', 'deviceB'] as Id[]).map((id) =>
            identifierKey({ type: ID_TYPES[id], value: value(id) }),
          );
          const owners = await stores.identities.owners(keys);
          const live = new Set<string>();
          for (const owner of owners.values()) {
            let profile = await stores.profiles.get(owner);
            while (profile?.mergedInto) profile = await stores.profiles.get(profile.mergedInto);
            live.add(profile!.profileId);
          }
          expect(live.size).toBe(1);
          const [survivorId] = [...live];
          const survivor = (await stores.profiles.get(survivorId!))!;
          expect(survivor.channels.web).toBe(events.length);
          expect(survivor.identifiers.anonymousId?.sort()).toEqual([value('deviceA'), value('deviceB')].sort());
        },
      ),
      { numRuns: 25, seed: 20261123 },
    );
  }, 120_000);
});
