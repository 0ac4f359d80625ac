/**
 * Where the members of a family of segments (lifecycle stages, RFM labels as segments, any list) will
 * be in some days: a daily transition matrix estimated from the recorded flows, raised to the horizon.
 * A Markov chain on the family's states plus `outside` (in none of them): P[i][j] is the share of the
 * people in i at the start of a day who are in j at its end, summed over the observed days (moves
 * between two states are the migrations recorded; exits not matched by one go outside). Leaving the
 * family is taken as for good for a member's odds: the people who enter from outside are mostly new,
 * and their number says nothing of a member's chance to come back; they are counted, as arrivals a day,
 * in the expected sizes. Pure.
 */

export const OUTSIDE = 'outside';

/** One observed day of the family: sizes at its start, and what moved during it. */
export interface FamilyDay {
  /** Members of each state when the day began. */
  sizes: readonly number[];
  /** moves[i][j]: people who left state i for state j that day (i ≠ j). */
  moves: ReadonlyArray<ReadonlyArray<number>>;
  /** Exits of each state that day, whatever the destination. */
  exited: readonly number[];
  /** Entries of each state that day, whatever the origin. */
  entered: readonly number[];
}

export interface TransitionEstimate {
  /** The family's states, then `outside`. */
  states: string[];
  /** Daily transition probabilities, rows summing to 1; `outside` keeps its people. */
  matrix: number[][];
  /** People entering each state from outside, on an average day. */
  arrivals: number[];
  /** Person-days observed in each state: how much each row rests on. */
  exposure: number[];
  days: number;
}

export function estimateTransitions(family: readonly string[], days: readonly FamilyDay[]): TransitionEstimate {
  const n = family.length;
  const moved = family.map(() => new Array<number>(n + 1).fill(0));
  const exposure = new Array<number>(n).fill(0);
  const arrivals = new Array<number>(n).fill(0);
  for (const day of days) {
    for (let i = 0; i < n; i++) {
      exposure[i]! += day.sizes[i]!;
      let toFamily = 0;
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        moved[i]![j]! += day.moves[i]![j]!;
        toFamily += day.moves[i]![j]!;
      }
      // Exits not matched by a move within the family left it (or went to a segment outside it).
      moved[i]![n]! += Math.max(0, day.exited[i]! - toFamily);
      let fromFamily = 0;
      for (let k = 0; k < n; k++) if (k !== i) fromFamily += day.moves[k]![i]!;
      arrivals[i]! += Math.max(0, day.entered[i]! - fromFamily);
    }
  }
  const matrix = family.map((_, i) => {
    const row = moved[i]!.map((count) => (exposure[i]! > 0 ? count / exposure[i]! : 0));
    const leaving = row.reduce((sum, p, j) => (j === i ? sum : sum + p), 0);
    // More moves than people (counts of a day summed across its own entries) cannot make a negative stay.
    if (leaving > 1) for (let j = 0; j <= n; j++) row[j] = row[j]! / leaving;
    row[i] = Math.max(0, 1 - Math.min(1, leaving));
    return row;
  });
  matrix.push(family.map(() => 0).concat(1));
  return {
    states: [...family, OUTSIDE],
    matrix,
    arrivals: arrivals.map((a) => (days.length > 0 ? a / days.length : 0)),
    exposure,
    days: days.length,
  };
}

const multiply = (a: readonly number[][], b: readonly number[][]): number[][] =>
  a.map((row) => b[0]!.map((_, j) => row.reduce((sum, v, k) => sum + v * b[k]![j]!, 0)));

/** The matrix raised to `steps` (squaring: log2(steps) products). */
export function matrixPower(matrix: readonly number[][], steps: number): number[][] {
  let result: number[][] = matrix.map((row, i) => row.map((_, j) => (i === j ? 1 : 0)));
  let base = matrix.map((row) => [...row]);
  for (let k = steps; k > 0; k = Math.floor(k / 2)) {
    if (k % 2 === 1) result = multiply(result, base);
    base = multiply(base, base);
  }
  return result;
}

/** Expected members of each state after `steps` days: today's moved along, plus the arrivals of each day moved along since. */
export function expectedSizes(estimate: TransitionEstimate, sizes: readonly number[], steps: number): number[] {
  const start = [...sizes, 0];
  let expected = start;
  const step = (vector: number[]) => estimate.states.map((_, j) => vector.reduce((sum, v, i) => sum + v * estimate.matrix[i]![j]!, 0));
  for (let day = 0; day < steps; day++) {
    expected = step(expected);
    for (let j = 0; j < estimate.arrivals.length; j++) expected[j]! += estimate.arrivals[j]!;
  }
  return expected;
}
