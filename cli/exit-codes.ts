/** The command line's exit codes, the same for every command (and listed in its --help). */
export const EXIT = {
  /** Done, and the answer is good. */
  ok: 0,
  /** The command ran and the answer is bad (a snapshot that does not match, a failed replay, a queue that did not drain in time), or Prisme could not be reached. */
  failed: 1,
  /** The command line itself is wrong: an unknown command or option, a missing or invalid argument. */
  usage: 2,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0  done, and the answer is good
  1  the command ran and the answer is bad (a snapshot that does not match its manifest, a failed
     replay, a queue that did not drain in time), or Prisme could not be reached
  2  the command line is wrong: an unknown command or option, a missing or invalid argument`;

/** A command line that parsed but makes no sense (exit code 2), found by a command's own checks. */
export class UsageError extends Error {}
