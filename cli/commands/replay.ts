/** `prisme replay --from --to`: archived events through the processor again, followed day by day to the end. */

import type { Command } from 'commander';
import { EXIT, UsageError } from '../exit-codes';
import { dataDirOption, day } from '../options';
import { type AdminApi, adminApiOf } from '../targets';

interface ReplayRun {
  runId: string;
  status?: string;
  progress?: { day?: string; events?: number; objects?: number; unreadable?: number };
  error?: { message?: string };
}

/** A replay step waits behind the events already queued; say so when nothing moved for this long. */
const STILL_MS = 15_000;

export async function followReplay(api: AdminApi, runId: string, pollMs = 500): Promise<number> {
  let said = '';
  let saidAt = Date.now();
  for (;;) {
    const run = await api.call<ReplayRun>('GET', `/v1/jobs/replay/runs/${runId}`);
    const { day: at, events = 0, objects = 0, unreadable = 0 } = run.progress ?? {};
    if (run.status === 'succeeded' || run.status === 'failed') {
      const summary = `${events} events from ${objects} archive objects sent again${unreadable ? `, ${unreadable} unreadable (erased people)` : ''}`;
      if (run.status === 'failed') {
        console.error(`Failed${at ? ` at ${at}` : ''}: ${run.error?.message ?? 'no reason given'} (${summary}).`);
        return EXIT.failed;
      }
      console.log(`Succeeded: ${summary}.`);
      return EXIT.ok;
    }
    const line = at
      ? `  ${at}  ${events} events from ${objects} archive objects so far`
      : '  waiting for the processor to take the first day';
    if (line !== said) {
      console.log(line);
      said = line;
      saidAt = Date.now();
    } else if (Date.now() - saidAt > STILL_MS) {
      console.log(`  still at ${at ?? 'the start'}: each step waits its turn behind the events queued before it`);
      saidAt = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

async function replay(options: { from: string; to: string; url?: string; token?: string; dataDir: string }): Promise<number> {
  if (options.from > options.to) throw new UsageError(`--from ${options.from} is after --to ${options.to}`);
  const api = adminApiOf(options);
  const { runId } = await api.call<ReplayRun>('POST', '/v1/jobs/replay', { from: options.from, to: options.to });
  console.log(`Replay ${runId}: ${options.from} to ${options.to}`);
  return followReplay(api, runId);
}

export function replayCommand(program: Command, done: (code: number) => void): void {
  program
    .command('replay')
    .summary('send archived events through the processor again')
    .description(
      `Send the archived events of some days (UTC, by the day they were received) through the processor again, and follow the run to its end, a line per day as it moves. Profiles fold only what they have not seen, so replaying is harmless on live data and rebuilds emptied tables; erased people stay unreadable. Locally it calls the running npm start's admin API; on AWS give --url and --token.`,
    )
    .requiredOption('--from <day>', 'the first day, YYYY-MM-DD', day)
    .requiredOption('--to <day>', 'the last day, YYYY-MM-DD', day)
    .option('--url <api>', "the admin API's address (default: the running npm start's)")
    .option('--token <bearer>', "a bearer token for the admin API (default: PRISME_ADMIN_TOKEN, or npm start's)")
    .addOption(dataDirOption())
    .action(async (options) => done(await replay(options)));
}
