/**
 * The BG/NBD customer-base model (Fader, Hardie & Lee, "Counting Your Customers the Easy Way",
 * Marketing Science 2005): while alive, a customer buys at a Poisson rate drawn from Gamma(r, α); after
 * each purchase they may drop out with a probability drawn from Beta(a, b). Fitted by maximum likelihood
 * on each customer's repeat purchases `x`, the time of the last one `tx` and their age `T` (all since
 * their first purchase, in weeks). Customers with the same (x, tx, T) are one weighted row, so a fit's
 * input can be added up by many workers and merged. Pure.
 */

import { nelderMead } from './nelder-mead';

export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

/** Customers who share their repeat purchases, recency and age (weeks). */
export interface CustomerRow {
  x: number;
  tx: number;
  T: number;
  count: number;
}

/** ln Γ(z) for z > 0 (Lanczos, g = 7, 9 terms: about 15 significant digits). */
export function logGamma(z: number): number {
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const w = z - 1;
  let sum = c[0]!;
  for (let i = 1; i < c.length; i++) sum += c[i]! / (w + i);
  const t = w + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (w + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The log-likelihood of the rows under the parameters (FHL 2005, equation 6, in logs). */
export function bgNbdLogLikelihood({ r, alpha, a, b }: BgNbdParams, rows: readonly CustomerRow[]): number {
  let total = 0;
  const shared = -logGamma(r) + r * Math.log(alpha) + logGamma(a + b) - logGamma(b);
  for (const { x, tx, T, count } of rows) {
    const a1 = logGamma(r + x) + shared + logGamma(b + x) - logGamma(a + b + x);
    const a3 = -(r + x) * Math.log(alpha + T);
    const a4 = x > 0 ? Math.log(a) - Math.log(b + x - 1) - (r + x) * Math.log(alpha + tx) : Number.NEGATIVE_INFINITY;
    const top = Math.max(a3, a4);
    total += count * (a1 + top + Math.log(Math.exp(a3 - top) + Math.exp(a4 - top)));
  }
  return total;
}

/** The maximum-likelihood parameters, searched over their logarithms (they are positive). */
export function fitBgNbd(rows: readonly CustomerRow[]): BgNbdParams & { logLikelihood: number; converged: boolean } {
  const params = (p: readonly number[]): BgNbdParams => ({
    r: Math.exp(p[0]!),
    alpha: Math.exp(p[1]!),
    a: Math.exp(p[2]!),
    b: Math.exp(p[3]!),
  });
  const fit = nelderMead((p) => -bgNbdLogLikelihood(params(p), rows), [0, 0, 0, 0], { tolerance: 1e-12, maxIterations: 20_000 });
  return { ...params(fit.x), logLikelihood: -fit.value, converged: fit.converged };
}

/** The Gaussian hypergeometric function ₂F₁(a, b; c; z) for 0 ≤ z < 1, by its power series. */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  let term = 1;
  let sum = 1;
  for (let n = 0; n < 100_000; n++) {
    term *= (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
    sum += term;
    if (Math.abs(term) < 1e-15 * Math.abs(sum)) return sum;
  }
  return sum;
}

/** Expected repeat purchases of a customer new at 0, by time t (FHL 2005, equation 9). */
export function expectedPurchases({ r, alpha, a, b }: BgNbdParams, t: number): number {
  return ((a + b - 1) / (a - 1)) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)));
}

/** The chance a customer with x repeat purchases, the last at tx, aged T, is still alive (FHL 2005, appendix). */
export function probabilityAlive({ r, alpha, a, b }: BgNbdParams, x: number, tx: number, T: number): number {
  if (x === 0) return 1;
  return 1 / (1 + (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x));
}

/** Expected purchases in the next t weeks of a customer with x repeat purchases, the last at tx, aged T (FHL 2005, equation 10). */
export function conditionalExpectedPurchases(params: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  const { r, alpha, a, b } = params;
  const later = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t));
  return ((a + b + x - 1) / (a - 1)) * later * probabilityAlive(params, x, tx, T);
}
