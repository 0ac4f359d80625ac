/** `npm run prisme -- <command>`: Prisme's command line (`--help` lists the commands; cli/commands/ holds them). */

import { CommanderError } from 'commander';
import { sdkNodeNotice } from '#local/node-version';
import { EXIT, UsageError } from './exit-codes';
import { buildProgram } from './program';

sdkNodeNotice();
let exitCode: number = EXIT.ok;
const program = buildProgram((code) => {
  exitCode = code;
});
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and --version exit 0; everything else commander refuses is a usage error.
    exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (error instanceof UsageError) {
    console.error(`prisme: ${error.message} (add --help for usage)`);
    exitCode = EXIT.usage;
  } else {
    console.error(`prisme: ${(error as Error).message}`);
    exitCode = EXIT.failed;
  }
}
process.exit(exitCode);
