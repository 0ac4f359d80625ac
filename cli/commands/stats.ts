/** `prisme stats`: what the local runtime's metrics say, summed from the EMF documents it wrote. */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { formatSummary, summariseMetrics } from '#local/metrics-summary';
import { EXIT } from '../exit-codes';
import { dataDirOption, positiveNumber } from '../options';

async function stats(options: { minutes?: number; json?: boolean; dataDir: string }): Promise<number> {
  const file = join(options.dataDir, 'metrics.jsonl');
  if (!existsSync(file)) throw new Error(`no metrics in ${options.dataDir} yet (${file} is written by npm start as it works)`);
  const lines = await summariseMetrics(file, options.minutes === undefined ? 0 : Date.now() - options.minutes * 60_000);
  console.log(options.json ? JSON.stringify(lines, null, 2) : formatSummary(lines));
  return EXIT.ok;
}

export function statsCommand(program: Command, done: (code: number) => void): void {
  program
    .command('stats')
    .summary("sum the local runtime's metrics")
    .description(
      `Sum the metrics a running (or stopped) npm start wrote to <data-dir>/metrics.jsonl, the same EMF documents CloudWatch reads on AWS: events accepted and rejected, processed, their lag, membership changes, merges, erasures, DLQ parks, snapshot and freeze runs, the time sweep.`,
    )
    .option('--minutes <n>', 'the last n minutes only', positiveNumber)
    .option('--json', 'one JSON array, for scripts')
    .addOption(dataDirOption())
    .action(async (options) => done(await stats(options)));
}
