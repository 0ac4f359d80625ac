/**
 * Appetite for categories: per profile, a decayed interest score for each product
 * category seen in its events (a view counts less than a cart, a cart less than an
 * order), kept as `[score, day]` pairs so the value at any time follows from the
 * stored state. Bounded: the strongest few categories stay. Pure.
 */
import type { EnrichedEvent } from './events';
import type { Profile } from './profile';
import { emptyRecord, own } from './records';
import { dayIndex } from './time';

export interface CategoryRule {
  /** Event property naming the category. */
  property: string;
  /** Weight per behaviour; other behaviours do not count. */
  weights: Readonly<Record<string, number>>;
  halfLifeDays: number;
  /** Categories kept per profile: the strongest. */
  maxPerProfile: number;
}

const decayed = ([score, day]: readonly [number, number], toDay: number, halfLife: number) => score * 0.5 ** ((toDay - day) / halfLife);
const round = (value: number) => Math.round(value * 1000) / 1000;

/** Adds `weight` of interest on `day`; commutative, so out-of-order events end the same. */
export function addInterest(
  categories: Record<string, [number, number]>,
  category: string,
  weight: number,
  day: number,
  rule: CategoryRule,
): void {
  const current = own(categories, category);
  if (!current) categories[category] = [round(weight), day];
  else {
    const latest = Math.max(current[1], day);
    categories[category] = [round(decayed(current, latest, rule.halfLifeDays) + decayed([weight, day], latest, rule.halfLifeDays)), latest];
  }
  const names = Object.keys(categories);
  if (names.length > rule.maxPerProfile) {
    // The weakest today makes room.
    const today = Math.max(...names.map((n) => categories[n]![1]));
    const weakest = names.reduce((a, b) =>
      decayed(categories[a]!, today, rule.halfLifeDays) <= decayed(categories[b]!, today, rule.halfLifeDays) ? a : b,
    );
    delete categories[weakest];
  }
}

/** Folds one event's category interest into the profile, when the event carries a category and counts. */
export function foldCategory(profile: Profile, event: EnrichedEvent, behaviour: string | undefined, rule: CategoryRule): void {
  const weight = behaviour === undefined ? undefined : own(rule.weights, behaviour);
  const category = own(event.properties, rule.property);
  if (!weight || typeof category !== 'string' || category.trim() === '' || category.length > 100) return;
  addInterest((profile.categories ??= emptyRecord()), category.trim().toLowerCase(), weight, dayIndex(Date.parse(event.timestamp)), rule);
}

/** Interest per category as of `now`, strongest first. */
export function interestsAt(profile: Pick<Profile, 'categories'>, now: number, halfLifeDays: number): Array<[string, number]> {
  const today = dayIndex(now);
  return Object.entries(profile.categories ?? {})
    .map(([name, state]): [string, number] => [name, round(decayed(state, Math.max(today, state[1]), halfLifeDays))])
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** The loser's interests added to the survivor's. */
export function mergeInterests(into: Profile, from: Pick<Profile, 'categories'>, rule: CategoryRule): void {
  for (const [name, [score, day]] of Object.entries(from.categories ?? {}))
    addInterest((into.categories ??= emptyRecord()), name, score, day, rule);
}
