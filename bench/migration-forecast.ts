/**
 * The migration forecast backtested on a generated world (bench/markov-world.ts): 20,000 people moving
 * between four segments by a known daily matrix, 40 newcomers a day. The matrix is estimated from the
 * first 60 recorded days; where each state's members of day 60 are on day 90 is forecast and compared
 * with where they went, against the naive forecast that everyone stays where they are.
 *
 * Run alone: npx tsx bench/migration-forecast.ts
 */
import { estimateTransitions, matrixPower } from '#shared/domain/migration-forecast';
import { type BenchResult, printResult } from './harness';
import { actualShares, generateWorld } from './markov-world';

export async function run(): Promise<BenchResult> {
  const world = generateWorld({ people: 20_000, days: 90, arrivalsPerDay: 40, seed: 'bench' });
  const started = performance.now();
  const estimate = estimateTransitions(world.family, world.days.slice(0, 60));
  const forecast = matrixPower(estimate.matrix, 30);
  const ms = performance.now() - started;
  const actual = actualShares(world, 60, 30);
  const states = estimate.states;
  let modelError = 0;
  let naiveError = 0;
  let cells = 0;
  const table = [`day 60 members on day 90: forecast / actual (share of each state's members), states ${states.join(', ')}`];
  for (const [i, row] of actual.entries()) {
    table.push(`${world.family[i]!.padEnd(8)} ${row.map((share, j) => `${forecast[i]![j]!.toFixed(3)}/${share.toFixed(3)}`).join('  ')}`);
    for (const [j, share] of row.entries()) {
      modelError += Math.abs(forecast[i]![j]! - share);
      naiveError += Math.abs((i === j ? 1 : 0) - share);
      cells++;
    }
  }
  return {
    name: 'migration-forecast',
    description: '20,000 generated people in 4 segments: the daily matrix estimated on 60 days, members of day 60 forecast 30 days ahead',
    unit: 'percentage points',
    figures: {
      'mean absolute error a cell, forecast (points)': (100 * modelError) / cells,
      'mean absolute error a cell, nobody moves (points)': (100 * naiveError) / cells,
      'estimate and power (ms)': ms,
    },
    units: { 'estimate and power (ms)': 'ms' },
    ratios: { 'naive error / forecast error': naiveError / modelError },
    targets: { 'naive error / forecast error': 2 },
    table,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) printResult(await run());
