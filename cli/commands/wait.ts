/**
 * `prisme wait`: returns once the events queue is empty and nothing in it is being processed, so a
 * script (the README's steps) can read what it just sent. Segment evaluations and replays travel
 * through the same queue, so it waits for them too; locally, for the snapshots and freezes under way.
 */

import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { Command } from 'commander';
import { EXIT } from '../exit-codes';
import { dataDirOption, positiveNumber } from '../options';
import { type Queues, queuesOf } from '../targets';

const COUNTED = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const;

interface Depth {
  waiting: number;
  inFlight: number;
  /** Locally: invocations the bus started (a snapshot being taken, the freeze). */
  running: number;
}

async function depthOf(queues: Queues): Promise<Depth> {
  const { Attributes: a = {} } = await queues.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queues.events, AttributeNames: [...COUNTED] }),
  );
  const count = (name: (typeof COUNTED)[number]) => Number(a[name] ?? 0);
  const health = queues.localHealth ? ((await (await fetch(queues.localHealth)).json()) as { running?: number }) : {};
  return {
    waiting: count('ApproximateNumberOfMessages') + count('ApproximateNumberOfMessagesDelayed'),
    inFlight: count('ApproximateNumberOfMessagesNotVisible'),
    running: health.running ?? 0,
  };
}

const depthInWords = ({ waiting, inFlight, running }: Depth): string =>
  `${waiting} message(s) waiting, ${inFlight} being processed${running ? `, ${running} other job(s) running` : ''}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForQueue(options: { timeout: number; quiet?: number; dataDir: string }): Promise<number> {
  const queues = queuesOf(options.dataDir);
  // SQS's counts are approximate and trail by up to a minute: on AWS the queue must look empty that long.
  const quietMs = (options.quiet ?? (queues.localHealth ? 0.6 : 60)) * 1000;
  const pollMs = queues.localHealth ? 200 : 5_000;
  const started = Date.now();
  let quietSince: number | undefined;
  let said = '';
  for (;;) {
    const depth = await depthOf(queues);
    const now = Date.now();
    if (depth.waiting + depth.inFlight + depth.running === 0) {
      quietSince ??= now;
      if (now - quietSince >= quietMs) {
        console.log(`Drained: the events queue is empty and nothing is being processed (${((now - started) / 1000).toFixed(1)} s).`);
        return EXIT.ok;
      }
    } else {
      quietSince = undefined;
      const line = `  ${depthInWords(depth)}`;
      if (line !== said) console.log(line);
      said = line;
    }
    if (now - started > options.timeout * 1000) {
      console.error(`Not drained after ${options.timeout} s: ${depthInWords(depth)}.`);
      return EXIT.failed;
    }
    await sleep(pollMs);
  }
}

export function waitCommand(program: Command, done: (code: number) => void): void {
  program
    .command('wait')
    .summary('return once the events queue is drained')
    .description(
      `Return once the events queue is empty and nothing in it is being processed: events sent before are folded into profiles, and segment evaluations and replays (which travel through the same queue) are done. Prints the queue's depth as it moves. Exit code 1 if it is not drained within --timeout.\n\nLocally it watches the running npm start's queue, and also waits for the snapshots and freezes it is running; on AWS set EVENTS_QUEUE_URL (and DEAD_LETTER_QUEUE_URL), where SQS's counts trail by up to a minute, so the queue must look empty for --quiet seconds (default 60).`,
    )
    .option('--timeout <seconds>', 'give up after this long', positiveNumber, 120)
    .option('--quiet <seconds>', 'how long the queue must look empty (default: 0.6 locally, 60 on AWS)', positiveNumber)
    .addOption(dataDirOption())
    .action(async (options) => done(await waitForQueue(options)));
}
