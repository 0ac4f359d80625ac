/** Shared bits of the benchmarks: timing, seeded data, the result shape. */

export interface BenchResult {
  name: string;
  description: string;
  unit: string;
  /** Measured rates, Prisme and its peers side by side. */
  figures: Record<string, number>;
  /** Ratios are what to compare across machines; absolute rates depend on the machine. */
  ratios: Record<string, number>;
  /** Minimum ratio each should reach, from the product targets. */
  targets?: Record<string, number>;
}

export interface Measurement {
  perSecond: number;
  seconds: number;
  rounds: number;
}

/**
 * Runs `work` (which performs `operations` operations) after a warm-up, for at
 * least `minSeconds`, and reports the best round: the least disturbed by the
 * machine's other work.
 */
export async function measure(
  work: () => unknown,
  operations: number,
  { minSeconds = 2, maxRounds = 50 }: { minSeconds?: number; maxRounds?: number } = {},
): Promise<Measurement> {
  await work();
  let best = Infinity;
  let total = 0;
  let rounds = 0;
  while ((total < minSeconds || rounds < 3) && rounds < maxRounds) {
    const start = process.hrtime.bigint();
    await work();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    best = Math.min(best, seconds);
    total += seconds;
    rounds++;
  }
  return { perSecond: operations / best, seconds: total, rounds };
}

/** mulberry32: a small, fast, seeded generator, so every run measures the same data. */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export const formatRate = (rate: number): string =>
  rate >= 1e6 ? `${(rate / 1e6).toFixed(2)} M` : rate >= 1e3 ? `${(rate / 1e3).toFixed(1)} k` : rate.toFixed(0);
