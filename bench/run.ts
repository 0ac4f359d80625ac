/**
 * `npm run bench`: every benchmark, peers in the same process on the same data,
 * a table of figures and ratios, and bench/results.json. `npm run bench -- <name> ...` runs
 * some of them; each also runs alone with its own options: `npx tsx bench/<name>.ts`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import * as customerBase from './customer-base';
import * as endToEnd from './end-to-end';
import * as freeze from './freeze';
import { type BenchResult, printResult } from './harness';
import * as identityResolution from './identity-resolution';
import * as migrationForecast from './migration-forecast';
import * as scale from './scale';
import * as segmentEvaluation from './segment-evaluation';
import * as snapshot from './snapshot';
import * as sweep from './sweep';

const all = {
  'segment-evaluation': segmentEvaluation,
  'identity-resolution': identityResolution,
  freeze,
  snapshot,
  sweep,
  'customer-base': customerBase,
  'migration-forecast': migrationForecast,
  scale,
  'end-to-end': endToEnd,
} as const;
// `npm run bench -- end-to-end freeze` runs those only; no names, all of them.
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(`Usage: npm run bench [-- <name> ...]

Runs the benchmarks (all of them, about 20 minutes, when no name is given), prints each one's figures,
ratios against peers run in the same process and targets met or missed, and writes bench/results.json
(a partial run replaces only its own results). Names: ${Object.keys(all).join(', ')}.
Each also runs alone with its own options: npx tsx bench/<name>.ts (see the top of each file).`);
  process.exit(0);
}
const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = names.filter((n) => !(n in all));
if (unknown.length > 0) {
  console.error(`Unknown benchmark ${unknown.join(', ')}: choose among ${Object.keys(all).join(', ')}.`);
  process.exit(2);
}
const benchmarks: Array<{ run: () => Promise<BenchResult> }> =
  names.length > 0 ? names.map((n) => all[n as keyof typeof all]) : Object.values(all);

const results: BenchResult[] = [];
let missed = 0;
for (const benchmark of benchmarks) {
  const result = await benchmark.run();
  results.push(result);
  missed += printResult(result);
}

const machine = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length };
// A partial run replaces its own benchmarks' results and keeps the others'.
const file = join(import.meta.dirname, 'results.json');
const previous = existsSync(file) ? ((JSON.parse(readFileSync(file, 'utf8')) as { results?: BenchResult[] }).results ?? []) : [];
const merged = [...previous.filter((p) => !results.some((r) => r.name === p.name)), ...results];
writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), machine, results: merged }, null, 2)}\n`);
console.log(
  `\nWrote bench/results.json (${machine.cores} x ${machine.cpu}, Node ${machine.node}).${missed ? ` ${missed} target(s) missed.` : ''}`,
);
