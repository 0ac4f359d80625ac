/** The command line's commands, each in its own file, and what every one of them shares: help, version, exit codes. */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { dlqCommand } from './commands/dlq';
import { openapiCommand } from './commands/openapi';
import { replayCommand } from './commands/replay';
import { statsCommand } from './commands/stats';
import { verifySnapshotCommand } from './commands/verify-snapshot';
import { waitCommand } from './commands/wait';
import { EXIT_CODES_HELP } from './exit-codes';

const COMMANDS = [verifySnapshotCommand, waitCommand, dlqCommand, replayCommand, statsCommand, openapiCommand];

const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };

/**
 * The program; `done` receives the exit code of the command that ran. Commander's own exits (help,
 * version, usage errors) throw a CommanderError instead of leaving the process, so the caller decides.
 */
export function buildProgram(done: (code: number) => void, output?: { out: (s: string) => void; err: (s: string) => void }): Command {
  const program = new Command('prisme')
    .usage('<command> [options]   (npm run prisme -- <command> [options])')
    .description(
      "Prisme's command line: audience snapshots, the dead-letter queue, replays, metrics, the queue's depth and the API's document.",
    )
    .version(version, '-v, --version', "print Prisme's version")
    .helpCommand('help [command]', 'help for a command')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  if (output) program.configureOutput({ writeOut: output.out, writeErr: output.err });
  program.addHelpText(
    'after',
    `
Commands that need a running Prisme find the npm start of their data folder (--data-dir, default
PRISME_DATA_DIR or .prisme-local) through its runtime.json; on AWS, see each command's --help.

${EXIT_CODES_HELP}`,
  );
  for (const register of COMMANDS) register(program, done);
  return program;
}
