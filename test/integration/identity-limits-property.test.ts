/**
 * Property: identity limits hold under concurrency. Many people share one email (or phone, or device)
 * and send their first events at once, spread over concurrent batches: whatever the interleaving, no
 * profile ever holds two userIds, and every event is folded exactly once. Against dynalite.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EnrichedEvent } from '../../shared/domain/events';
import { identifierKey } from '../../shared/domain/identity';
import { processEvents, type ProcessEventsDeps, type SourcedEvent } from '../../shared/usecases/process-events';
import { RecordingPublisher, emulatedStores, processEventsDeps } from '../helpers/aws';
import { anEvent } from '../helpers/events';

let stores: Awaited<ReturnType<typeof emulatedStores>>;
let deps: ProcessEventsDeps;
beforeAll(async () => {
  stores = await emulatedStores();
  deps = processEventsDeps(stores, new RecordingPublisher());
});

type Shared = 'email' | 'phone' | 'anonymousId';
let run = 0;

describe('identity limits under concurrency', () => {
  it('never puts two userIds on one profile, and folds every event exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.subarray<Shared>(['email', 'phone', 'anonymousId'], { minLength: 1 }),
        fc.integer({ min: 2, max: 20 }),
        fc.integer({ min: 2, max: 6 }),
        fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
        fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
        async (shared, people, batchCount, assignment, twice) => {
          run++;
          const traits: Record<string, string> = {};
          if (shared.includes('email')) traits.email = `family${run}@example.com`;
          if (shared.includes('phone')) traits.phone = `+336${String(10_000_000 + run).padStart(8, '0')}`;
          const anonymousId = shared.includes('anonymousId') ? `tablet-${run}` : undefined;
          const events: EnrichedEvent[] = [];
          for (let p = 0; p < people; p++) {
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
          const profiles = new Map<string, Awaited<ReturnType<typeof finalOf>>>();
          for (let p = 0; p < people; p++) {
            const key = identifierKey({ type: 'userId', value: `r${run}-user${p}` });
            const owner = (await stores.identities.owners([key])).get(key)!;
            const profile = await finalOf(owner);
            expect(profiles.has(profile.profileId), `user${p} shares a profile`).toBe(false);
            profiles.set(profile.profileId, profile);
            expect(profile.identifiers.userId).toEqual([`r${run}-user${p}`]);
            expect(profile.channels.web).toBe(twice[p] ? 2 : 1);
          }
        },
      ),
      { numRuns: 30, seed: 20261501 },
    );
  }, 240_000);
});
