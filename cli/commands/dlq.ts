/** `prisme dlq inspect | redrive`: the dead-letter queue, read and sent back. */

import type { Command } from 'commander';
import { DeadLetters, describeBody } from '#shared/adapters/sqs/dead-letters';
import { EXIT } from '../exit-codes';
import { dataDirOption, positiveInteger } from '../options';
import { queuesOf } from '../targets';

const deadLettersOf = (dataDir: string | undefined): DeadLetters => {
  const queues = queuesOf(dataDir);
  return new DeadLetters(queues.sqs, queues.deadLetter, queues.events);
};

async function inspect(options: { limit: number; json?: boolean; dataDir?: string }): Promise<number> {
  const parked = await deadLettersOf(options.dataDir).peek(options.limit);
  if (options.json) {
    console.log(
      JSON.stringify(
        parked.map(({ receiptHandle: _receipt, ...message }) => message),
        null,
        2,
      ),
    );
    return EXIT.ok;
  }
  console.log(
    parked.length === 0
      ? 'The dead-letter queue is empty.'
      : `${parked.length} message(s) in the dead-letter queue${parked.length === options.limit ? ' (or more: --limit)' : ''}:`,
  );
  for (const m of parked)
    console.log(
      `  ${m.messageId}  ${m.sentAt ?? ''}  receives: ${m.receiveCount ?? '?'}\n    reason: ${m.reason}\n    holds:  ${describeBody(m.body)}`,
    );
  return EXIT.ok;
}

async function redrive(options: { limit: number; dataDir?: string }): Promise<number> {
  const moved = await deadLettersOf(options.dataDir).redrive(options.limit, (m) =>
    console.log(`  sent back ${m.messageId} (${describeBody(m.body)})`),
  );
  console.log(moved === 0 ? 'The dead-letter queue is empty: nothing to send back.' : `Sent ${moved} message(s) back to the events queue.`);
  return EXIT.ok;
}

export function dlqCommand(program: Command, done: (code: number) => void): void {
  const dlq = program
    .command('dlq')
    .summary('inspect the dead-letter queue, or send its messages back')
    .description(
      `The dead-letter queue holds what the processor could not take, each message with the reason it failed. Locally it is the running npm start's (found through <data-dir>/runtime.json); on AWS set EVENTS_QUEUE_URL and DEAD_LETTER_QUEUE_URL (outputs of the PrismeData stack) and the usual AWS credentials.`,
    );
  dlq
    .command('inspect')
    .description(
      'List the parked messages with the reason each failed, its receive count and what it holds (event ids and types, no personal data). Leaves them in place.',
    )
    .option('--limit <n>', 'at most this many messages', positiveInteger, 20)
    .option('--json', 'one JSON array, for scripts')
    .addOption(dataDirOption())
    .action(async (options) => done(await inspect(options)));
  dlq
    .command('redrive')
    .description(
      'Send parked messages back to the events queue, once the cause is fixed: each is sent, then removed from the DLQ; one that fails again returns to the DLQ with its new reason.',
    )
    .option('--limit <n>', 'at most this many messages', positiveInteger, 1000)
    .addOption(dataDirOption())
    .action(async (options) => done(await redrive(options)));
}
