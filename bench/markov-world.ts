/**
 * A generated world for the migration forecast: people moving day by day between the segments of a
 * family (and outside it) by a known daily matrix, newcomers arriving from outside, and what Prisme
 * records of it: each segment's entries and exits, and the migrations, per day. The backtest estimates
 * the matrix from the first days, forecasts where each day-`split` member is `horizon` days later, and
 * compares with where they went.
 */

import { seededRandom } from '#shared/domain/frozen';
import type { FamilyDay } from '#shared/domain/migration-forecast';

export interface World {
  family: string[];
  /** Per day, the flows as recorded (sizes at the start of the day). */
  days: FamilyDay[];
  /** Each person's state at the start of each day: an index into family, or -1 outside. */
  states: Int8Array[];
}

export const WORLD_FAMILY = ['new', 'active', 'loyal', 'at-risk'];
/** Daily odds between new, active, loyal, at risk, and leaving the family. */
export const WORLD_MATRIX = [
  [0.9, 0.06, 0, 0.02, 0.02],
  [0, 0.95, 0.02, 0.025, 0.005],
  [0, 0.01, 0.98, 0.01, 0],
  [0, 0.03, 0, 0.93, 0.04],
];

export function generateWorld(options: { people: number; days: number; arrivalsPerDay: number; seed: string }): World {
  const random = seededRandom(options.seed);
  const n = WORLD_FAMILY.length;
  let current: number[] = Array.from({ length: options.people }, () => Math.floor(random() * n));
  const states: Int8Array[] = [];
  const days: FamilyDay[] = [];
  for (let day = 0; day < options.days; day++) {
    states.push(Int8Array.from(current));
    const sizes = WORLD_FAMILY.map((_, i) => current.filter((s) => s === i).length);
    const moves = WORLD_FAMILY.map(() => new Array<number>(n).fill(0));
    const entered = new Array<number>(n).fill(0);
    const exited = new Array<number>(n).fill(0);
    const next = current.map((state) => {
      if (state < 0) return state;
      let draw = random();
      let to = WORLD_MATRIX[state]!.findIndex((p) => (draw -= p) < 0);
      if (to === -1 || to === n) to = -1;
      if (to !== state) {
        exited[state]!++;
        if (to >= 0) {
          entered[to]!++;
          moves[state]![to]!++;
        }
      }
      return to;
    });
    // Newcomers enter as new customers.
    const arriving = options.arrivalsPerDay;
    for (let k = 0; k < arriving; k++) next.push(0);
    entered[0]! += arriving;
    days.push({ sizes, moves, exited, entered });
    current = next;
  }
  states.push(Int8Array.from(current));
  return { family: WORLD_FAMILY, days, states };
}

/** Where the members of each state on day `split` were `horizon` days later: shares per state, outside last. */
export function actualShares(world: World, split: number, horizon: number): number[][] {
  const n = world.family.length;
  const counts = world.family.map(() => new Array<number>(n + 1).fill(0));
  const from = world.states[split]!;
  const to = world.states[split + horizon]!;
  for (let person = 0; person < from.length; person++) {
    if (from[person]! < 0) continue;
    const end = to[person]!;
    counts[from[person]!]![end < 0 ? n : end]!++;
  }
  return counts.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((c) => (total > 0 ? c / total : 0));
  });
}
