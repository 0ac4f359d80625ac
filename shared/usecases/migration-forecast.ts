/**
 * The odds of moving between the segments of a family within some days: the daily transition matrix
 * estimated from the flows recorded over the last days (sizes, entries, exits and migrations, all
 * already counted per day), raised to the horizon; per state, per person, and as expected sizes.
 */

import { INTENT_STAGES, LIFECYCLE_STAGES } from '../domain/indicator-settings';
import { stageSegmentId } from '../domain/indicators';
import { estimateTransitions, expectedSizes, type FamilyDay, matrixPower, OUTSIDE } from '../domain/migration-forecast';
import { DAY_MS } from '../domain/time';
import { InvalidInputError, NotFoundError } from '../errors';
import type { DefinitionStore, StatsStore } from '../ports/catalog';
import type { MembershipStore } from '../ports/memberships';
import type { ProfileStore } from '../ports/profiles';
import { profileById } from './find-profile';
import { segmentSizes } from './segment-sizes';

/** Families by name: the managed stage segments (the floor stages have none: they are `outside`). */
export const NAMED_FAMILIES: Readonly<Record<string, readonly string[]>> = Object.freeze(
  Object.assign(Object.create(null), {
    lifecycle: LIFECYCLE_STAGES.filter((s) => s !== 'cold_prospect').map((s) => stageSegmentId('lifecycle_stage', s)),
    intent: INTENT_STAGES.filter((s) => s !== 'none').map((s) => stageSegmentId('intent_stage', s)),
  }),
);
export const MAX_FAMILY = 12;
/** A state observed for fewer person-days than this gets a note: its odds rest on little. */
const FEW_PERSON_DAYS = 100;

export interface ForecastQuery {
  family: string;
  /** Horizon, days. */
  days: number;
  /** Days observed, ending yesterday (today is not over). */
  observe: number;
  profileId?: string;
}

export interface ForecastDeps {
  catalog: Pick<StatsStore, 'dailyChanges' | 'migrations' | 'sizes'> & { segments: Pick<DefinitionStore['segments'], 'get'> };
  memberships: Pick<MembershipStore, 'count'>;
  profiles: Pick<ProfileStore, 'get'>;
  now: () => number;
}

const dayOf = (at: number) => new Date(at).toISOString().slice(0, 10);
const rounded = (value: number) => Math.round(value * 10_000) / 10_000;
const byState = (states: readonly string[], values: readonly number[], round = rounded) =>
  Object.fromEntries(states.map((state, i) => [state, round(values[i]!)]));

async function familyOf(name: string, deps: ForecastDeps): Promise<string[]> {
  const ids = NAMED_FAMILIES[name] ?? [...new Set(name.split(',').map((id) => id.trim()))].filter(Boolean);
  if (ids.length < 2 || ids.length > MAX_FAMILY)
    throw new InvalidInputError(
      `a family is ${Object.keys(NAMED_FAMILIES).join(' or ')}, or 2 to ${MAX_FAMILY} segment ids separated by commas`,
      [{ path: 'family', message: `${ids.length} segments` }],
    );
  for (const id of ids) if (!(await deps.catalog.segments.get(id))) throw new NotFoundError(`segment ${id}`);
  return [...ids];
}

export async function migrationForecast(query: ForecastQuery, deps: ForecastDeps) {
  const family = await familyOf(query.family, deps);
  const now = deps.now();
  const today = dayOf(now);
  const firstDay = dayOf(now - query.observe * DAY_MS);
  const lastDay = dayOf(now - DAY_MS);
  const [sizes, changes, migrations] = await Promise.all([
    segmentSizes(family, deps).then((counted) => family.map((id) => counted.get(id)!)),
    Promise.all(family.map((id) => deps.catalog.dailyChanges(id, firstDay))),
    deps.catalog.migrations(firstDay, lastDay),
  ]);
  const index = new Map(family.map((id, i) => [id, i]));
  const changesOn = changes.map((list) => new Map(list.map((c) => [c.day, c])));
  const noMoves = () => family.map(() => new Array<number>(family.length).fill(0));
  const movesOn = new Map<string, number[][]>();
  for (const m of migrations) {
    const [from, to] = [index.get(m.from), index.get(m.to)];
    if (from === undefined || to === undefined) continue;
    if (!movesOn.has(m.day)) movesOn.set(m.day, noMoves());
    const moves = movesOn.get(m.day)!;
    moves[from]![to]! += m.profiles;
  }

  // Walk back from today's sizes: a day's start is its end less what entered, plus what left.
  const days: FamilyDay[] = [];
  const end = [...sizes];
  for (let at = now; dayOf(at) >= firstDay; at -= DAY_MS) {
    const day = dayOf(at);
    const entered = family.map((_, i) => changesOn[i]!.get(day)?.entered ?? 0);
    const exited = family.map((_, i) => changesOn[i]!.get(day)?.exited ?? 0);
    const start = end.map((size, i) => Math.max(0, size - entered[i]! + exited[i]!));
    if (day !== today) {
      const moves = movesOn.get(day) ?? noMoves();
      days.push({ sizes: start, moves, exited, entered });
    }
    end.splice(0, end.length, ...start);
  }

  const estimate = estimateTransitions(family, days);
  const ahead = matrixPower(estimate.matrix, query.days);
  const rows = (matrix: number[][]) => Object.fromEntries(family.map((state, i) => [state, byState(estimate.states, matrix[i]!)]));
  const thin = family.filter((_, i) => estimate.exposure[i]! < FEW_PERSON_DAYS);
  return {
    family,
    states: estimate.states,
    observed: { from: firstDay, to: lastDay, days: estimate.days, personDays: byState(family, estimate.exposure, Math.round) },
    horizonDays: query.days,
    daily: rows(estimate.matrix),
    inDays: rows(ahead),
    sizes: {
      now: byState(family, sizes, Math.round),
      expected: byState(estimate.states.slice(0, -1), expectedSizes(estimate, sizes, query.days), (v) => Math.round(v * 10) / 10),
      arrivalsPerDay: byState(family, estimate.arrivals, (v) => Math.round(v * 100) / 100),
    },
    ...(query.profileId && { profile: await profileForecast(query.profileId, family, estimate.states, ahead, deps) }),
    ...(thin.length > 0 && {
      note: `few observations for ${thin.join(', ')} (under ${FEW_PERSON_DAYS} person-days): their odds rest on little`,
    }),
  };
}

/** A person's odds: those of the state they are in (the first of the family's, in its order, if several). */
async function profileForecast(profileId: string, family: string[], states: string[], ahead: number[][], deps: ForecastDeps) {
  const profile = await profileById(profileId, deps);
  const state = family.find((id) => profile.segments.includes(id)) ?? OUTSIDE;
  if (state === OUTSIDE)
    return {
      profileId: profile.profileId,
      state,
      note: 'in none of the family: the odds of entering it are not estimated (most who enter are new)',
    };
  return { profileId: profile.profileId, state, inDays: byState(states, ahead[states.indexOf(state)]!) };
}
