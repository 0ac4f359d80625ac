/**
 * The migration forecast through the stores Prisme records flows in (dynalite): 30 generated days of
 * entries, exits and migrations written as the profile writer counts them, today's members in the
 * memberships table; the use case reads them back into the same matrix the flows give, and answers
 * for a person by the state they are in.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { generateWorld } from '#bench/markov-world';
import { estimateTransitions, matrixPower } from '#shared/domain/migration-forecast';
import { newProfile } from '#shared/domain/profile';
import { CONDITION_LANGUAGE_VERSION } from '#shared/domain/segment-definition';
import { DAY_MS } from '#shared/domain/time';
import { InvalidInputError, NotFoundError } from '#shared/errors';
import { migrationForecast } from '#shared/usecases/migration-forecast';
import { emulatedStores } from '../helpers/aws';

const NOW = Date.parse('2026-11-30T15:00:00.000Z');
const dayOf = (at: number) => new Date(at).toISOString().slice(0, 10);
let stores: Awaited<ReturnType<typeof emulatedStores>>;
const world = generateWorld({ people: 300, days: 30, arrivalsPerDay: 2, seed: 'stored-world' });

beforeAll(async () => {
  stores = await emulatedStores();
  for (const id of world.family)
    await stores.catalog.segments.put({
      id,
      name: id,
      condition: { type: 'trait', trait: 'stage', operator: 'eq', value: id },
      revision: 1,
      languageVersion: CONDITION_LANGUAGE_VERSION,
      status: 'ready',
      createdAt: '2026-10-01T00:00:00.000Z',
      updatedAt: '2026-10-01T00:00:00.000Z',
    });
  // Day k of the world is 30 - k days ago; today nothing has moved yet.
  for (const [k, day] of world.days.entries()) {
    const date = dayOf(NOW - (world.days.length - k) * DAY_MS);
    await stores.catalog.countTransitions(
      world.family.map((segmentId, i) => ({ segmentId, day: date, entered: day.entered[i]!, exited: day.exited[i]! })),
    );
    const migrations = world.family.flatMap((from, i) =>
      world.family.flatMap((to, j) => (day.moves[i]![j]! > 0 ? [{ day: date, from, to, profiles: day.moves[i]![j]! }] : [])),
    );
    if (migrations.length > 0) await stores.catalog.countMigrations(migrations);
  }
  const today = world.states.at(-1)!;
  await Promise.all(
    [...today.entries()].flatMap(([person, state]) =>
      state < 0 ? [] : [stores.memberships.enter(world.family[state]!, `p_${person}`, new Date(NOW - DAY_MS).toISOString())],
    ),
  );
  const loyal = today.findIndex((state) => state === 2);
  await stores.profiles.put({ ...newProfile(`p_${loyal}`, '2026-10-01T00:00:00.000Z'), segments: ['loyal'] }, 0);
  await stores.profiles.put({ ...newProfile('p_gone', '2026-10-01T00:00:00.000Z'), segments: [] }, 0);
}, 120_000);

const deps = () => ({ ...stores, now: () => NOW });

describe('migrationForecast on the stored flows', () => {
  it('reads back the matrix the recorded days give, and raises it to the horizon', async () => {
    const forecast = await migrationForecast({ family: world.family.join(','), days: 30, observe: 30 }, deps());
    const expected = estimateTransitions(world.family, world.days);
    expect(forecast.observed).toMatchObject({ from: dayOf(NOW - 30 * DAY_MS), to: dayOf(NOW - DAY_MS), days: 30 });
    expect(forecast.states).toEqual([...world.family, 'outside']);
    const ahead = matrixPower(expected.matrix, 30);
    for (const [i, from] of world.family.entries())
      for (const [j, to] of forecast.states.entries()) {
        expect(forecast.daily[from]![to]).toBeCloseTo(expected.matrix[i]![j]!, 4);
        expect(forecast.inDays[from]![to]).toBeCloseTo(ahead[i]![j]!, 4);
      }
    expect(forecast.sizes.now).toEqual(
      Object.fromEntries(world.family.map((id, i) => [id, world.states.at(-1)!.filter((s) => s === i).length])),
    );
    expect(forecast.sizes.arrivalsPerDay.new).toBe(2);
  });

  it("answers for a person by their state's row, and says so of someone outside the family", async () => {
    const loyal = world.states.at(-1)!.findIndex((state) => state === 2);
    const forecast = await migrationForecast({ family: world.family.join(','), days: 30, observe: 30, profileId: `p_${loyal}` }, deps());
    expect(forecast.profile).toEqual({ profileId: `p_${loyal}`, state: 'loyal', inDays: forecast.inDays.loyal });
    const outside = await migrationForecast({ family: world.family.join(','), days: 30, observe: 30, profileId: 'p_gone' }, deps());
    expect(outside.profile).toMatchObject({ profileId: 'p_gone', state: 'outside', note: expect.stringMatching(/not estimated/) });
  });

  it('refuses a family of one, and names a segment that does not exist', async () => {
    await expect(migrationForecast({ family: 'loyal', days: 30, observe: 30 }, deps())).rejects.toThrow(InvalidInputError);
    await expect(migrationForecast({ family: 'loyal,nope', days: 30, observe: 30 }, deps())).rejects.toThrow(NotFoundError);
    // The managed lifecycle stages are a family by name.
    expect((await migrationForecast({ family: 'lifecycle', days: 7, observe: 30 }, deps())).family).toContain('lifecycle-customer');
  });
});
