/**
 * Nelder-Mead minimisation (the simplex method of Nelder & Mead, 1965, with the usual reflection,
 * expansion, contraction and shrink coefficients 1, 2, 0.5, 0.5). Written here rather than taken from
 * the registry: its optimisers are unmaintained (fmin 0.0.4, which also pulls a plotting package) or
 * hardly used (optimization-js), and the customer-base likelihoods it serves have no cheap gradients
 * (hypergeometric and gamma terms), which a derivative-free method needs no more than 4-dimensional.
 * Pure.
 */

export interface Minimum {
  x: number[];
  value: number;
  iterations: number;
  converged: boolean;
}

export function nelderMead(
  f: (x: readonly number[]) => number,
  start: readonly number[],
  options: { step?: number; tolerance?: number; maxIterations?: number } = {},
): Minimum {
  const { step = 0.5, tolerance = 1e-10, maxIterations = 5_000 } = options;
  const n = start.length;
  const value = (x: number[]) => {
    const v = f(x);
    return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
  };
  let simplex = [start.slice(), ...start.map((_, i) => start.map((s, j) => (i === j ? s + step : s)))].map((x) => ({ x, v: value(x) }));
  const along = (from: number[], to: number[], t: number) => from.map((a, i) => a + t * (to[i]! - a));
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    simplex.sort((a, b) => a.v - b.v);
    const best = simplex[0]!;
    const worst = simplex[n]!;
    if (Math.abs(worst.v - best.v) <= tolerance * (Math.abs(best.v) + tolerance))
      return { x: best.x, value: best.v, iterations: iteration, converged: true };
    const centroid = Array.from({ length: n }, (_, i) => simplex.slice(0, n).reduce((sum, p) => sum + p.x[i]!, 0) / n);
    const reflected = along(centroid, worst.x, -1);
    const rv = value(reflected);
    if (rv < best.v) {
      const expanded = along(centroid, worst.x, -2);
      const ev = value(expanded);
      simplex[n] = ev < rv ? { x: expanded, v: ev } : { x: reflected, v: rv };
    } else if (rv < simplex[n - 1]!.v) {
      simplex[n] = { x: reflected, v: rv };
    } else {
      // Contract towards the better of the worst point and its reflection; shrink if that fails too.
      const outside = rv < worst.v;
      const contracted = along(centroid, outside ? reflected : worst.x, 0.5);
      const cv = value(contracted);
      if (cv < (outside ? rv : worst.v)) simplex[n] = { x: contracted, v: cv };
      else simplex = simplex.map((p, i) => (i === 0 ? p : { x: along(best.x, p.x, 0.5), v: value(along(best.x, p.x, 0.5)) }));
    }
  }
  simplex.sort((a, b) => a.v - b.v);
  return { x: simplex[0]!.x, value: simplex[0]!.v, iterations: maxIterations, converged: false };
}
