/**
 * The README's "Try it" block, read from the README itself and run as written against `npm start` (a
 * separate process with its default settings), one step per comment, each answer checked. Only what
 * differs on a test machine is replaced: the port, the data folder (PRISME_DATA_DIR, which the command
 * line reads like npm start), and the key and token npm start printed.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, savedCredentials } from '#local/runtime-file';

const root = resolve(import.meta.dirname, '../..');

interface Step {
  title: string;
  script: string;
}

/** The sh block under "## Try it": its KEY and TOKEN lines, then steps, each from a comment to the next. */
function tryItSteps(readme: string): { preamble: string; steps: Step[] } {
  const section = readme.slice(readme.indexOf('## Try it'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('the README has no sh block under "## Try it"');
  const steps: Step[] = [];
  const preamble: string[] = [];
  let current: Step | undefined;
  for (const line of block.split('\n')) {
    if (line.startsWith('# ')) {
      if (current?.script.trim() !== '') {
        current = { title: line.slice(2), script: '' };
        steps.push(current);
      } else current.title += ` ${line.slice(2)}`;
    } else if (current) current.script += `${line}\n`;
    else preamble.push(line);
  }
  return { preamble: preamble.join('\n'), steps };
}

/** Every JSON value curl printed (its answers are not separated), and the other lines (the command line's). */
function answersIn(stdout: string): { json: unknown[]; text: string } {
  const json: unknown[] = [];
  let text = '';
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < stdout.length; i++) {
    const c = stdout[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"' && depth > 0) inString = true;
    else if (c === '{' || (c === '[' && depth > 0)) {
      if (depth++ === 0) start = i;
    } else if ((c === '}' || c === ']') && depth > 0) {
      if (--depth === 0) json.push(JSON.parse(stdout.slice(start, i + 1)));
    } else if (depth === 0) text += c;
  }
  return { json, text };
}

type Check = (answers: { json: unknown[]; text: string }) => void;

const drained = (text: string) => expect(text).toMatch(/Drained: the events queue is empty and nothing is being processed/);

/** What each step must answer, by the start of its comment. A step without a check fails the test. */
const CHECKS: Array<[string, Check]> = [
  ['Two store purchases', ({ json }) => expect(json).toEqual([{ success: true }, { success: true }, { success: true }])],
  ['Events are acknowledged once queued', ({ text }) => drained(text)],
  [
    'The unified profile',
    ({ json }) => {
      expect(json).toHaveLength(1);
      expect(json[0]).toMatchObject({
        identifiers: { userId: ['ada'], email: ['ada@example.com'] },
        traits: { tier: 'VIP', firstName: 'Ada' },
        channels: { store: 2, web: 1 },
        events: { 'Order Completed': { store: 2 } },
        indicators: expect.objectContaining({ orders: 2, revenue: 200 }),
      });
    },
  ],
  [
    'A segment: VIP customers',
    ({ json, text }) => {
      drained(text);
      expect(json[0]).toMatchObject({ id: 'vip-store', name: 'VIP store buyers' });
      expect(json[1]).toMatchObject({ members: [expect.objectContaining({ profileId: expect.any(String) })] });
    },
  ],
  [
    'An audience on the segment',
    ({ json }) => {
      expect(json[0]).toMatchObject({ id: 'vip-email', segmentId: 'vip-store', status: 'draft' });
      expect(json[1]).toMatchObject({ id: 'vip-email', status: 'approved' });
      expect(json[2]).toMatchObject({ runId: expect.any(String) });
    },
  ],
  [
    'The snapshot, once taken',
    ({ text }) => {
      drained(text);
      expect(text).toContain('Verified: 1 members, 1 added, 0 removed.');
    },
  ],
  [
    'Indicators: the daily freeze now',
    ({ json, text }) => {
      expect(json[0]).toMatchObject({ runId: expect.any(String) });
      drained(text);
      expect(json[1]).toBeTypeOf('object');
      expect(json[2]).toMatchObject({ id: 'champions', name: 'Champions' });
    },
  ],
];

let child: ChildProcess;
let output = '';
const dataDir = mkdtempSync(join(tmpdir(), 'prisme-readme-'));
let port = '';

beforeAll(async () => {
  child = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', PRISME_DATA_DIR: dataDir, LOG_LEVEL: 'WARN' },
  });
  for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk) => (output += chunk));
  const deadline = Date.now() + 60_000;
  while (!/API\s+http:\/\/\S+/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not start:\n${output}`);
    await new Promise((done) => setTimeout(done, 100));
  }
  port = new URL(/API\s+(http:\/\/\S+)/.exec(output)![1]!).port;
}, 90_000);

afterAll(() => {
  child?.kill('SIGTERM');
});

describe("the README's Try it block", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const { preamble, steps } = tryItSteps(readme);

  it('has a check for every step, and a step for every check', () => {
    expect(preamble).toMatch(/^KEY=wk_\.\.\. /m);
    expect(preamble).toMatch(/^TOKEN=adm_\.\.\. /m);
    expect(steps.map((s) => CHECKS.find(([start]) => s.title.startsWith(start))?.[0])).toEqual(CHECKS.map(([start]) => start));
  });

  it('runs as written, each step answering what it says', { timeout: 300_000 }, async () => {
    const keys = savedCredentials(dataDir) as Credentials;
    // The two keys npm start printed, as the reader pastes them.
    expect(output).toContain(keys.writeKey);
    expect(output).toContain(keys.adminToken);
    for (const step of steps) {
      const script = step.script.replaceAll('localhost:3000', `localhost:${port}`).replaceAll('.prisme-local/', `${dataDir}/`);
      const result = await promisify(execFile)('bash', ['-e', '-o', 'pipefail', '-c', script], {
        cwd: root,
        env: { ...process.env, KEY: keys.writeKey, TOKEN: keys.adminToken, PRISME_DATA_DIR: dataDir },
      }).catch((error: { code: number; stdout: string; stderr: string }) => {
        throw new Error(`step "${step.title}" exited with ${error.code}:\n${error.stdout}\n${error.stderr}`);
      });
      const check = CHECKS.find(([start]) => step.title.startsWith(start))![1];
      try {
        check(answersIn(result.stdout));
      } catch (error) {
        throw new Error(`step "${step.title}" answered:\n${result.stdout}\n${result.stderr}\n${(error as Error).message}`);
      }
    }
  });
});
