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
  /** Units of figures that are not in `unit` (ms, MB, $). */
  units?: Record<string, string>;
  /** Absolute targets (a latency, a price), each met or not. */
  checks?: Array<{ name: string; value: number; unit: string; target: string; met: boolean }>;
  /** Further lines to print as they are (a cost breakdown). */
  table?: string[];
}

/** Prints one result: figures, ratios against their targets, checks, then its table. Returns the targets missed. */
export function printResult(result: BenchResult): number {
  let missed = 0;
  console.log(`\n${result.name}: ${result.description}`);
  for (const [who, value] of Object.entries(result.figures)) {
    // Figures named in MB or seconds are not rates, whatever their size.
    const unit = result.units?.[who] ?? (/\bMB\b/.test(who) ? 'MB' : /\(s\)/.test(who) ? 's' : undefined);
    const shown = unit
      ? `${value >= 100 ? value.toFixed(0) : value.toFixed(unit === '$' ? 3 : 1)} ${unit}`
      : value >= 100
        ? `${formatRate(value)} ${result.unit}`
        : value.toFixed(2);
    console.log(`  ${who.padEnd(34)} ${shown.padStart(16)}`);
  }
  for (const [ratio, value] of Object.entries(result.ratios)) {
    const target = result.targets?.[ratio];
    const verdict = target === undefined ? '' : value >= target ? `  (target ${target}x: met)` : `  (target ${target}x: MISSED)`;
    if (target !== undefined && value < target) missed++;
    console.log(`  ${ratio.padEnd(34)} ${value.toFixed(1).padStart(14)}x${verdict}`);
  }
  for (const check of result.checks ?? []) {
    if (!check.met) missed++;
    console.log(
      `  ${check.name.padEnd(34)} ${(check.value >= 100 ? check.value.toFixed(0) : check.value.toFixed(3)).padStart(10)} ${check.unit}  (target ${check.target}: ${check.met ? 'met' : 'MISSED'})`,
    );
  }
  for (const line of result.table ?? []) console.log(`  ${line}`);
  return missed;
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
