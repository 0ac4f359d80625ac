/**
 * BG/NBD fitted by maximum likelihood: the optimiser on a known problem, ln Γ against known values,
 * and the fit on the CDNOW sample's calibration period against the published estimates.
 */
import { describe, expect, it } from 'vitest';
import { calibrationAndHoldout, calibrationRows, calibrationSpend, cdnowPurchases } from '#bench/cdnow-data';
import {
  bgNbdLogLikelihood,
  conditionalExpectedPurchases,
  expectedPurchases,
  fitBgNbd,
  logGamma,
  probabilityAlive,
} from '#shared/domain/bgnbd';
import { expectedSpend, fitGammaGamma } from '#shared/domain/gamma-gamma';
import { nelderMead } from '#shared/domain/nelder-mead';

describe('nelderMead', () => {
  it("finds Rosenbrock's minimum at (1, 1) and a quadratic's in four dimensions", () => {
    const rosenbrock = nelderMead(([x = 0, y = 0]) => 100 * (y - x * x) ** 2 + (1 - x) ** 2, [-1.2, 1], { tolerance: 1e-14 });
    expect(rosenbrock.converged).toBe(true);
    expect(rosenbrock.x[0]).toBeCloseTo(1, 4);
    expect(rosenbrock.x[1]).toBeCloseTo(1, 4);
    const bowl = nelderMead((p) => p.reduce((sum, v, i) => sum + (i + 1) * (v - i) ** 2, 0), [5, 5, 5, 5], { tolerance: 1e-14 });
    for (const [i, v] of bowl.x.entries()) expect(v).toBeCloseTo(i, 4);
  });
});

describe('logGamma', () => {
  it('matches known values', () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(2)).toBeCloseTo(0, 12);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    expect(logGamma(10)).toBeCloseTo(Math.log(362_880), 10);
    // Below 0.5 by reflection, checked against the recurrence Γ(z + 1) = z Γ(z) taken above it.
    expect(logGamma(0.243)).toBeCloseTo(logGamma(1.243) - Math.log(0.243), 12);
    expect(logGamma(100.5)).toBeCloseTo(logGamma(101.5) - Math.log(100.5), 10);
  });
});

describe('BG/NBD on the CDNOW sample', () => {
  const rows = calibrationRows(cdnowPurchases());

  it('reads the calibration period as the papers do: 2,357 customers, 946 of them with a repeat purchase', () => {
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(2357);
    expect(rows.filter((r) => r.x > 0).reduce((n, r) => n + r.count, 0)).toBe(946);
    expect(Math.max(...rows.map((r) => r.T))).toBeCloseTo(272 / 7, 10); // first bought on 1 January
  });

  it('fits the published estimates within 2 % (r 0.2426, α 4.4135, a 0.7929, b 2.4259), at the published log-likelihood', () => {
    const fit = fitBgNbd(rows);
    expect(fit.converged).toBe(true);
    for (const [name, published] of [
      ['r', 0.2426],
      ['alpha', 4.4135],
      ['a', 0.7929],
      ['b', 2.4259],
    ] as const)
      expect(Math.abs(fit[name] / published - 1), `${name} = ${fit[name]}`).toBeLessThan(0.02);
    // FHL 2005 report LL = -9582.4 at their estimates.
    expect(fit.logLikelihood).toBeCloseTo(-9582.4, 0);
    expect(bgNbdLogLikelihood({ r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }, rows)).toBeCloseTo(-9582.4, 0);
  });
});

describe('Gamma-Gamma on the CDNOW sample', () => {
  const rows = calibrationSpend(cdnowPurchases());

  it('fits the published estimates within 2 % (p 6.25, q 3.74, v 15.45) on the 946 repeat customers', () => {
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(946);
    const fit = fitGammaGamma(rows);
    expect(fit.converged).toBe(true);
    for (const [name, published] of [
      ['p', 6.25],
      ['q', 3.74],
      ['v', 15.45],
    ] as const)
      expect(Math.abs(fit[name] / published - 1), `${name} = ${fit[name]}`).toBeLessThan(0.02);
    // A customer's own average pulls their expected spend away from the population's, more with more transactions.
    const population = (fit.p * fit.v) / (fit.q - 1);
    expect(expectedSpend(fit, 1, 100)).toBeGreaterThan(population);
    expect(expectedSpend(fit, 10, 100)).toBeGreaterThan(expectedSpend(fit, 1, 100));
    expect(expectedSpend(fit, 10, 100)).toBeLessThan(100);
  });
});

describe('BG/NBD predictions', () => {
  const published = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };

  it("match Hardie's spreadsheet at the fitted parameters: expected purchases over time, and a customer's next 39 weeks", () => {
    const fit = fitBgNbd(calibrationRows(cdnowPurchases()));
    const times = [0.1429, 1, 3, 31.8571, 32, 78];
    const expected = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576];
    for (const [i, t] of times.entries()) expect(Math.abs(expectedPurchases(fit, t) - expected[i]!), `t = ${t}`).toBeLessThan(1.5e-3);
    expect(Math.abs(conditionalExpectedPurchases(fit, 39, 2, 30.43, 38.86) - 1.226)).toBeLessThan(1e-3);
    expect(probabilityAlive(published, 0, 0, 38.86)).toBe(1);
    expect(probabilityAlive(published, 2, 30.43, 38.86)).toBeGreaterThan(probabilityAlive(published, 2, 5, 38.86));
  });

  it('predict the holdout better than each customer repeating their calibration rate', () => {
    const customers = calibrationAndHoldout(cdnowPurchases());
    const fit = fitBgNbd(calibrationRows(cdnowPurchases()));
    let model = 0;
    let naive = 0;
    for (const c of customers) {
      model += Math.abs(conditionalExpectedPurchases(fit, 39, c.x, c.tx, c.T) - c.holdout);
      naive += Math.abs((c.T > 0 ? c.x / c.T : 0) * 39 - c.holdout);
    }
    expect(customers.reduce((n, c) => n + c.holdout, 0)).toBeGreaterThan(0);
    expect(model / customers.length).toBeLessThan(naive / customers.length);
    // Over the whole base, the predicted total is within 15 % of what happened.
    const predicted = customers.reduce((n, c) => n + conditionalExpectedPurchases(fit, 39, c.x, c.tx, c.T), 0);
    const actual = customers.reduce((n, c) => n + c.holdout, 0);
    expect(Math.abs(predicted / actual - 1)).toBeLessThan(0.15);
  });
});
