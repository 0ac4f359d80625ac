/**
 * Comparing conversion rates between the variants of an experiment: Wilson score intervals per variant,
 * a pooled two-proportion z-test of each variant against the control with Newcombe's interval for the
 * difference, Holm's correction when several variants are compared, and the sample a difference would
 * need. Normal approximations, so each test asks for at least 10 conversions and 10 non-conversions per
 * group before it concludes. Pure.
 *
 * References: E. B. Wilson (1927), "Probable inference, the law of succession, and statistical
 * inference"; R. G. Newcombe (1998), "Interval estimation for the difference between independent
 * proportions: comparison of eleven methods" (method 10); S. Holm (1979), "A simple sequentially
 * rejective multiple test procedure".
 */
import { errorFunction } from 'simple-statistics';

/** The normal quantiles for 95 % two-sided confidence and 80 % power. */
export const Z_95 = 1.959963984540054;
const Z_POWER_80 = 0.8416212335729143;

export const SIGNIFICANCE = 0.05;

/** The normal approximation's rule of thumb: this many conversions and non-conversions in each group. */
export const MIN_OUTCOMES = 10;

export interface Proportion {
  members: number;
  converted: number;
}

const rateOf = ({ members, converted }: Proportion): number => converted / members;

/** Wilson's score interval at 95 %: well-behaved near 0 and 1 and on small groups, unlike p ± 1.96 se. */
export function wilsonInterval(group: Proportion): [number, number] | null {
  const n = group.members;
  if (n === 0) return null;
  const p = rateOf(group);
  const z2 = Z_95 * Z_95;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (Z_95 / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Two-sided p-value of a standard normal statistic: erfc(|z| / √2). */
export const twoSidedPValue = (z: number): number => Math.min(1, Math.max(0, 1 - errorFunction(Math.abs(z) / Math.SQRT2)));

export interface Difference {
  /** Variant rate minus control rate. */
  difference: number;
  /** Newcombe's hybrid score interval for the difference, at 95 %. */
  interval: [number, number];
  z: number;
  pValue: number;
}

/** The pooled two-proportion z-test of a variant against the control. */
export function twoProportionTest(variant: Proportion, control: Proportion): Difference | null {
  const a = wilsonInterval(variant);
  const b = wilsonInterval(control);
  if (!a || !b) return null;
  const p1 = rateOf(variant);
  const p2 = rateOf(control);
  const pooled = (variant.converted + control.converted) / (variant.members + control.members);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / variant.members + 1 / control.members));
  const difference = p1 - p2;
  // Both groups all converted, or none did: no variance, no evidence of a difference.
  const z = se === 0 ? 0 : difference / se;
  return {
    difference,
    interval: [difference - Math.hypot(p1 - a[0], b[1] - p2), difference + Math.hypot(a[1] - p1, p2 - b[0])],
    z,
    pValue: twoSidedPValue(z),
  };
}

/** Holm's step-down adjustment: controls the chance of any false positive across several comparisons. */
export function holmAdjusted(pValues: readonly number[]): number[] {
  const order = pValues.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p);
  const adjusted = new Array<number>(pValues.length);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (pValues.length - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}

/** Members per group to detect the difference between two rates at 5 % significance with 80 % power. */
export function membersToDetect(p1: number, p2: number): number | null {
  if (p1 === p2) return null;
  const mean = (p1 + p2) / 2;
  const numerator = Z_95 * Math.sqrt(2 * mean * (1 - mean)) + Z_POWER_80 * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  return Math.ceil((numerator / (p1 - p2)) ** 2);
}

/** Enough outcomes of both kinds for the normal approximation to hold. */
export const isConclusive = (group: Proportion): boolean =>
  group.converted >= MIN_OUTCOMES && group.members - group.converted >= MIN_OUTCOMES;
