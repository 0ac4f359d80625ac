/**
 * The migration forecast backtested on a generated world: the daily matrix estimated from 60 recorded
 * days is the one the world moves by, and where each state's members are 30 days later is what the
 * matrix raised to 30 says; the expected sizes count the newcomers.
 */
import { describe, expect, it } from 'vitest';
import { actualShares, generateWorld, WORLD_MATRIX } from '#bench/markov-world';
import { estimateTransitions, expectedSizes, matrixPower } from '#shared/domain/migration-forecast';

const world = generateWorld({ people: 20_000, days: 90, arrivalsPerDay: 40, seed: 'forecast' });
const observed = world.days.slice(0, 60);
const estimate = estimateTransitions(world.family, observed);

describe('estimateTransitions', () => {
  it('finds the daily odds the world moves by, rows summing to 1', () => {
    for (const [i, row] of WORLD_MATRIX.entries()) {
      for (const [j, p] of row.entries()) expect(Math.abs(estimate.matrix[i]![j]! - p), `${i} -> ${j}`).toBeLessThan(0.004);
      expect(estimate.matrix[i]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
    expect(estimate.matrix.at(-1)).toEqual([0, 0, 0, 0, 1]);
    expect(estimate.arrivals[0]).toBeGreaterThan(30);
    expect(estimate.arrivals.slice(1)).toEqual([0, 0, 0]);
  });

  it("forecasts where the members of day 60 are on day 90, within a point and three standard errors of each state's sample", () => {
    const forecast = matrixPower(estimate.matrix, 30);
    const actual = actualShares(world, 60, 30);
    for (const [i, row] of actual.entries()) {
      const members = world.days[60]!.sizes[i]!;
      for (const [j, share] of row.entries())
        expect(Math.abs(forecast[i]![j]! - share), `${i} -> ${j}`).toBeLessThan(0.01 + 3 * Math.sqrt((share * (1 - share)) / members));
    }
  });

  it('expects the sizes of day 90 from those of day 60 and the arrivals, within 3 %', () => {
    const sizes = expectedSizes(estimate, world.days[60]!.sizes, 30);
    const actual = world.days[89]!.sizes.map((size, i) => size - world.days[89]!.exited[i]! + world.days[89]!.entered[i]!);
    for (const [i, size] of actual.entries()) expect(Math.abs(sizes[i]! / size - 1), world.family[i]).toBeLessThan(0.03);
  });

  it('squares its way to a power: the same as multiplying day by day', () => {
    let stepwise = estimate.matrix;
    for (let day = 1; day < 13; day++)
      stepwise = stepwise.map((row) => estimate.matrix[0]!.map((_, j) => row.reduce((sum, v, k) => sum + v * estimate.matrix[k]![j]!, 0)));
    const squared = matrixPower(estimate.matrix, 13);
    for (const [i, row] of stepwise.entries()) for (const [j, v] of row.entries()) expect(squared[i]![j]).toBeCloseTo(v, 12);
  });
});
