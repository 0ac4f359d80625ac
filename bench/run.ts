/**
 * `npm run bench`: every benchmark, peers in the same process on the same data,
 * a table of figures and ratios, and bench/results.json. Each benchmark also
 * runs alone: `npx tsx bench/<name>.ts`.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { type BenchResult, formatRate } from './harness';
import * as freeze from './freeze';
import * as identityResolution from './identity-resolution';
import * as segmentEvaluation from './segment-evaluation';
import * as snapshot from './snapshot';

const benchmarks: Array<{ run: () => Promise<BenchResult> }> = [segmentEvaluation, identityResolution, freeze, snapshot];

const results: BenchResult[] = [];
let missed = 0;
for (const benchmark of benchmarks) {
  const result = await benchmark.run();
  results.push(result);
  console.log(`\n${result.name}: ${result.description}`);
  for (const [who, rate] of Object.entries(result.figures)) {
    const shown = rate >= 100 ? `${formatRate(rate).padStart(10)} ${result.unit}` : rate.toFixed(2).padStart(10);
    console.log(`  ${who.padEnd(28)} ${shown}`);
  }
  for (const [ratio, value] of Object.entries(result.ratios)) {
    const target = result.targets?.[ratio];
    const verdict = target === undefined ? '' : value >= target ? `  (target ${target}x: met)` : `  (target ${target}x: MISSED)`;
    if (target !== undefined && value < target) missed++;
    console.log(`  ${ratio.padEnd(28)} ${value.toFixed(1).padStart(8)}x${verdict}`);
  }
}

const machine = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length };
writeFileSync(join(import.meta.dirname, 'results.json'), `${JSON.stringify({ at: new Date().toISOString(), machine, results }, null, 2)}\n`);
console.log(`\nWrote bench/results.json (${machine.cores} x ${machine.cpu}, Node ${machine.node}).${missed ? ` ${missed} target(s) missed.` : ''}`);
