/**
 * The Gamma-Gamma spend model (Fader, Hardie & Lee, "RFM and CLV: Using Iso-Value Curves for Customer
 * Base Analysis", JMR 2005; Colombo & Jiang, 1999): a customer's transaction values vary around their own
 * mean, Gamma(p, ν) distributed, and those means vary across customers, ν ~ Gamma(q, γ) (written v here).
 * Fitted by maximum likelihood on each repeat customer's number of repeat transactions `x` and their
 * average value `m`; customers sharing both are one weighted row. Pure.
 */
import { logGamma } from './bgnbd';
import { nelderMead } from './nelder-mead';

export interface GammaGammaParams {
  p: number;
  q: number;
  v: number;
}

/** Repeat customers with `x` repeat transactions averaging `m` (dollars). */
export interface SpendRow {
  x: number;
  m: number;
  count: number;
}

export function gammaGammaLogLikelihood({ p, q, v }: GammaGammaParams, rows: readonly SpendRow[]): number {
  let total = 0;
  for (const { x, m, count } of rows) {
    if (x <= 0 || m <= 0) continue;
    total +=
      count *
      (logGamma(p * x + q) -
        logGamma(p * x) -
        logGamma(q) +
        q * Math.log(v) +
        (p * x - 1) * Math.log(m) +
        p * x * Math.log(x) -
        (p * x + q) * Math.log(x * m + v));
  }
  return total;
}

export function fitGammaGamma(rows: readonly SpendRow[]): GammaGammaParams & { logLikelihood: number; converged: boolean } {
  const params = (z: readonly number[]): GammaGammaParams => ({ p: Math.exp(z[0]!), q: Math.exp(z[1]!), v: Math.exp(z[2]!) });
  const fit = nelderMead((z) => -gammaGammaLogLikelihood(params(z), rows), [0, 0, 0], { tolerance: 1e-12, maxIterations: 20_000 });
  return { ...params(fit.x), logLikelihood: -fit.value, converged: fit.converged };
}

/** A customer's expected average transaction value given what they spent (FHL 2005, equation 5). */
export const expectedSpend = ({ p, q, v }: GammaGammaParams, x: number, m: number): number => (p * (v + x * m)) / (p * x + q - 1);
