import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { type Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '#cli/program';

const root = resolve(import.meta.dirname, '../..');

/** Parses a command line in process; what commander printed, and the exit it asked for. */
async function parse(...args: string[]): Promise<{ exitCode: number | undefined; out: string; err: string; ran?: number }> {
  let out = '';
  let err = '';
  let ran: number | undefined;
  const program = buildProgram(
    (code) => {
      ran = code;
    },
    { out: (s) => (out += s), err: (s) => (err += s) },
  );
  try {
    await program.parseAsync(args, { from: 'user' });
    return { exitCode: undefined, out, err, ran };
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return { exitCode: error.exitCode, out, err, ran };
  }
}

/** Every command's path, nested ones too (dlq inspect). */
function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}

describe('the command line', () => {
  const paths = commandPaths(buildProgram(() => {}));

  it('has the commands the README names', () => {
    expect(paths.map((p) => p.join(' '))).toEqual([
      'verify-snapshot',
      'wait',
      'dlq',
      'dlq inspect',
      'dlq redrive',
      'replay',
      'stats',
      'openapi',
    ]);
  });

  it.each(paths.map((p) => [p.join(' '), p]))(
    'answers "%s --help" with its usage and exit code 0, without running',
    async (_name, path) => {
      const result = await parse(...path, '--help');
      expect(result).toMatchObject({ exitCode: 0, ran: undefined });
      expect(result.out).toContain(`Usage: prisme ${path.join(' ')}`);
      expect(result.out).toMatch(/-h, --help/);
      // "help dlq inspect" is "dlq help inspect" in commander's grammar.
      const viaHelp = path.length === 1 ? ['help', ...path] : [...path.slice(0, -1), 'help', ...path.slice(-1)];
      expect(await parse(...viaHelp)).toMatchObject({ exitCode: 0, out: result.out });
    },
  );

  it('lists every command, and the exit codes, in the top help', async () => {
    const { exitCode, out } = await parse('--help');
    expect(exitCode).toBe(0);
    for (const path of paths.filter((p) => p.length === 1)) expect(out).toMatch(new RegExp(`^  ${path[0]}\\b`, 'm'));
    expect(out).toMatch(/Exit codes:\n {2}0 .*\n {2}1 .*\n.*\n {2}2 /);
  });

  it('prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { version: string };
    expect(await parse('--version')).toMatchObject({ exitCode: 0, out: `${version}\n` });
    expect(await parse('-v')).toMatchObject({ exitCode: 0, out: `${version}\n` });
  });

  it('refuses a bad command line, naming what is wrong, before doing anything', async () => {
    for (const [args, message] of [
      [['bogus'], "unknown command 'bogus'"],
      [['dlq', 'peek'], "unknown command 'peek'"],
      [['dlq', 'inspect', '--limit', '0'], "option '--limit <n>' argument '0' is invalid. Expected a whole number of at least 1."],
      [['dlq', 'inspect', '--frobnicate'], "unknown option '--frobnicate'"],
      [['replay', '--from', '2026-11-01'], "required option '--to <day>' not specified"],
      [['replay', '--from', '2026-02-30', '--to', '2026-03-01'], "argument '2026-02-30' is invalid. Expected a day that exists"],
      [['wait', '--timeout', 'soon'], "option '--timeout <seconds>' argument 'soon' is invalid"],
      [['verify-snapshot'], "missing required argument 'target'"],
      [['stats', '--minutes', '-5'], "argument '-5' is invalid"],
    ] as const) {
      const result = await parse(...args);
      expect(result.exitCode, args.join(' ')).toBe(1); // commander's; cli/prisme.ts turns it into 2
      expect(result.err, args.join(' ')).toContain(message);
      expect(result.err).toContain('(add --help for usage)');
      expect(result.ran).toBeUndefined();
    }
  });

  it('exits as its help says: 0 for help, 2 for a wrong command line, 1 when Prisme cannot be reached', async () => {
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'cli/prisme.ts', ...args], { cwd: root }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
    const [help, nothing, wrong, after, unreachable] = await Promise.all([
      run('replay', '--help'),
      run(),
      run('dlq', 'inspect', '--limit', 'many'),
      run('replay', '--from', '2026-11-03', '--to', '2026-11-02'),
      run('wait', '--data-dir', '/nonexistent'),
    ]);
    expect(help).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: prisme replay [options]') });
    expect(nothing).toMatchObject({ code: 2, stderr: expect.stringContaining('Usage: prisme <command>') });
    expect(wrong).toMatchObject({ code: 2, stderr: expect.stringContaining("option '--limit <n>' argument 'many' is invalid") });
    expect(after).toMatchObject({ code: 2, stderr: expect.stringContaining('--from 2026-11-03 is after --to 2026-11-02') });
    expect(unreachable).toMatchObject({ code: 1, stderr: expect.stringContaining('no running Prisme in /nonexistent (no runtime.json)') });
  });
});
