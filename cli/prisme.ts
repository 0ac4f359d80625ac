/**
 * `npm run prisme -- <command>`: Prisme's command line.
 *
 *   verify-snapshot <s3://bucket/key | path>   check a snapshot run against its manifest
 *   dlq inspect | dlq redrive                   the dead-letter queue
 *   replay --from <day> --to <day>              archived events through the processor again
 *   stats [--minutes N] [--json]                what the local runtime's metrics say
 */

import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { formatSummary, summariseMetrics } from '#local/metrics-summary';
import { S3ObjectStore } from '#shared/adapters/s3/object-store';
import { DeadLetters, describeBody } from '#shared/adapters/sqs/dead-letters';
import type { LatestPointer, Manifest } from '#shared/domain/snapshot-files';
import { verifySnapshot } from '#shared/usecases/verify-snapshot';

const HELP = `Usage: npm run prisme -- <command>

Commands:
  verify-snapshot <target>   Check an audience snapshot run against its manifest: every file present,
                             byte count and SHA-256 as announced, decompresses, header and row counts
                             right, members sorted and unique, counts adding up. Exit code 1 if not.
                             <target> is an S3 URI or a local path, to latest.json, a manifest.json,
                             an audience folder or a run folder:
                               s3://prisme-data-123456789012-eu-west-1/audiences/vip-email/
                               ./downloads/vip-email/runs/20261123T060000000Z
                               .prisme-local/s3/prisme-local/audiences/vip-email   (npm start's bucket)
                             S3 uses the usual AWS credentials; AWS_ENDPOINT_URL_S3 points it elsewhere
                             (path-style), e.g. at npm start's s3rver.
  dlq inspect [--limit 20] [--json]
                             List the messages parked in the dead-letter queue with the reason each
                             failed, its receive count and what it holds (event ids and types, no
                             personal data). Leaves them in place.
  dlq redrive [--limit 1000]
                             Send parked messages back to the events queue (once the cause is fixed):
                             each is sent, then removed from the DLQ; one that fails again returns to
                             the DLQ with its new reason.

  replay --from 2026-11-01 --to 2026-11-23 [--url <api> --token <bearer>]
                             Send the archived events of those days (UTC, by the day they were
                             received) through the processor again. Profiles fold only what they have
                             not seen, so replaying is harmless on live data and rebuilds emptied
                             tables; erased people stay unreadable. Follows the run to its end.

  stats [--minutes 60] [--json] [--data-dir <dir>]
                             Sum the metrics a running (or stopped) "npm start" wrote to
                             <data-dir>/metrics.jsonl, the same EMF documents CloudWatch reads on AWS:
                             events accepted and rejected, processed, their lag, membership changes,
                             merges, erasures, DLQ parks, snapshot and freeze runs, the time sweep.
                             --minutes keeps the last N minutes only.

The dlq and replay commands reach a running "npm start" through <data-dir>/runtime.json (--data-dir, default
PRISME_DATA_DIR or .prisme-local); on AWS set EVENTS_QUEUE_URL and DEAD_LETTER_QUEUE_URL (outputs of
the PrismeData stack) and the usual AWS credentials; replay calls the admin API (--url and --token for
an API behind a JWT authorizer).
`;

type Reader = (key: string) => Promise<Buffer | undefined>;

/** Reads S3 keys, from a bucket. */
function s3Reader(bucket: string): Reader {
  const objects = new S3ObjectStore(new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3) }), bucket);
  return (key) => objects.get(key);
}

/** A file on disk by name, as downloaded, or as s3rver stores objects (`<name>._S3rver_object`). */
const readLocal = (path: string): Buffer | undefined =>
  [path, `${path}._S3rver_object`].filter((p) => existsSync(p) && statSync(p).isFile()).map((p) => readFileSync(p))[0];

async function locate(target: string): Promise<{ manifest: Manifest; read: Reader; where: string }> {
  const json = <T>(body: Buffer | undefined, what: string): T => {
    if (!body) throw new Error(`no ${what} at ${target}`);
    return JSON.parse(body.toString()) as T;
  };
  if (target.startsWith('s3://')) {
    const [bucket, ...rest] = target.slice(5).split('/');
    const key = rest.join('/');
    const read = s3Reader(bucket!);
    let manifestKey = key;
    if (!key.endsWith('manifest.json')) {
      const latestKey = key.endsWith('latest.json') ? key : `${key.replace(/\/?$/, '/')}latest.json`;
      const latest = await read(latestKey);
      manifestKey = latest ? json<LatestPointer>(latest, 'latest.json').manifestKey : `${key.replace(/\/?$/, '/')}manifest.json`;
    }
    return { manifest: json<Manifest>(await read(manifestKey), 'manifest.json'), read, where: `s3://${bucket}/${manifestKey}` };
  }
  // Local: a manifest, a latest.json, a run folder or an audience folder.
  let manifestPath = target;
  if (existsSync(target) && statSync(target).isDirectory()) {
    const latest = readLocal(join(target, 'latest.json'));
    manifestPath = latest
      ? join(target, 'runs', json<LatestPointer>(latest, 'latest.json').runId, 'manifest.json')
      : join(target, 'manifest.json');
  } else if (basename(target).startsWith('latest.json')) {
    manifestPath = join(
      dirname(target),
      'runs',
      json<LatestPointer>(readLocal(target.replace(/\._S3rver_object$/, '')), 'latest.json').runId,
      'manifest.json',
    );
  }
  const manifest = json<Manifest>(readLocal(manifestPath.replace(/\._S3rver_object$/, '')), 'manifest.json');
  const folder = dirname(manifestPath);
  return { manifest, read: async (key) => readLocal(join(folder, basename(key))), where: manifestPath };
}

async function verifyCommand(target: string | undefined): Promise<number> {
  if (!target) {
    console.error('verify-snapshot needs a target: an S3 URI or a path (npm run prisme -- --help)');
    return 2;
  }
  const { manifest, read, where } = await locate(target);
  console.log(`Run ${manifest.runId} of audience ${manifest.audienceId} (${where})`);
  const result = await verifySnapshot(manifest, read);
  for (const file of result.files) {
    const rows = manifest.files.find((f) => f.key === file.key)!.rows;
    console.log(
      `  ${file.ok ? 'ok  ' : 'FAIL'}  ${basename(file.key).padEnd(24)} ${String(rows).padStart(9)} rows${file.ok ? '' : `  ${file.problems.join('; ')}`}`,
    );
  }
  for (const problem of result.problems) console.log(`  FAIL  ${problem}`);
  const { members, added, removed } = manifest.counts;
  console.log(result.ok ? `Verified: ${members} members, ${added} added, ${removed} removed.` : 'The run does NOT match its manifest.');
  return result.ok ? 0 : 1;
}

interface LocalRuntimeFile {
  pid: number;
  url: string;
  endpoints: { sqs: string };
  queues: { events: string; deadLetter: string };
}

/** The `npm start` running in the data folder, from its runtime.json; undefined when there is none. */
function localRuntime(dataDirOption: string | undefined): { dataDir: string; runtime?: LocalRuntimeFile } {
  const dataDir = dataDirOption ?? process.env.PRISME_DATA_DIR ?? '.prisme-local';
  const runtimeFile = join(dataDir, 'runtime.json');
  if (!existsSync(runtimeFile)) return { dataDir };
  const runtime = JSON.parse(readFileSync(runtimeFile, 'utf8')) as LocalRuntimeFile;
  try {
    process.kill(runtime.pid, 0);
  } catch {
    throw new Error(`the Prisme in ${dataDir} (process ${runtime.pid}) is not running: start it with npm start`);
  }
  return { dataDir, runtime };
}

/** The queues of a running local Prisme, or of AWS from the environment. */
function deadLetters(options: { 'data-dir'?: string }): DeadLetters {
  const { dataDir, runtime } = localRuntime(options['data-dir']);
  if (runtime) {
    const client = new SQSClient({
      endpoint: runtime.endpoints.sqs,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    return new DeadLetters(client, runtime.queues.deadLetter, runtime.queues.events);
  }
  const events = process.env.EVENTS_QUEUE_URL;
  const deadLetter = process.env.DEAD_LETTER_QUEUE_URL;
  if (!events || !deadLetter) {
    throw new Error(`no running Prisme in ${dataDir} (no runtime.json), and EVENTS_QUEUE_URL / DEAD_LETTER_QUEUE_URL are not set`);
  }
  return new DeadLetters(new SQSClient({}), deadLetter, events);
}

async function statsCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { minutes: { type: 'string' }, json: { type: 'boolean' }, 'data-dir': { type: 'string' } },
  });
  const dataDir = values['data-dir'] ?? process.env.PRISME_DATA_DIR ?? '.prisme-local';
  const file = join(dataDir, 'metrics.jsonl');
  if (!existsSync(file)) throw new Error(`no metrics in ${dataDir} yet (${file} is written by npm start as it works)`);
  const minutes = values.minutes === undefined ? undefined : Number(values.minutes);
  if (minutes !== undefined && !(minutes > 0)) throw new Error('--minutes is a number of minutes, above 0');
  const lines = await summariseMetrics(file, minutes === undefined ? 0 : Date.now() - minutes * 60_000);
  console.log(values.json ? JSON.stringify(lines, null, 2) : formatSummary(lines));
  return 0;
}

async function dlqCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { limit: { type: 'string' }, json: { type: 'boolean' }, 'data-dir': { type: 'string' } },
  });
  const [action] = positionals;
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new Error('--limit must be a whole number of at least 1');
  const queue = deadLetters(values);
  if (action === 'inspect') {
    const parked = await queue.peek(limit ?? 20);
    if (values.json)
      console.log(
        JSON.stringify(
          parked.map(({ receiptHandle: _r, ...m }) => m),
          null,
          2,
        ),
      );
    else {
      console.log(
        parked.length === 0
          ? 'The dead-letter queue is empty.'
          : `${parked.length} message(s) in the dead-letter queue${parked.length === (limit ?? 20) ? ' (or more: --limit)' : ''}:`,
      );
      for (const m of parked)
        console.log(
          `  ${m.messageId}  ${m.sentAt ?? ''}  receives: ${m.receiveCount ?? '?'}\n    reason: ${m.reason}\n    holds:  ${describeBody(m.body)}`,
        );
    }
    return 0;
  }
  if (action === 'redrive') {
    const moved = await queue.redrive(limit ?? 1000, (m) => console.log(`  sent back ${m.messageId} (${describeBody(m.body)})`));
    console.log(
      moved === 0 ? 'The dead-letter queue is empty: nothing to send back.' : `Sent ${moved} message(s) back to the events queue.`,
    );
    return 0;
  }
  console.error(`dlq needs inspect or redrive (npm run prisme -- --help)`);
  return 2;
}

async function replayCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      'data-dir': { type: 'string' },
    },
  });
  if (!values.from || !values.to) {
    console.error('replay needs --from and --to (days, YYYY-MM-DD)');
    return 2;
  }
  let url = values.url;
  let token = values.token;
  if (!url) {
    const { dataDir, runtime } = localRuntime(values['data-dir']);
    if (!runtime) throw new Error(`no running Prisme in ${dataDir} (no runtime.json); give --url and --token`);
    url = runtime.url;
    token ??=
      process.env.PRISME_ADMIN_TOKEN ??
      (JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as { adminToken: string }).adminToken;
  }
  interface RunAnswer {
    runId: string;
    status?: string;
    progress?: { day?: string; events?: number; objects?: number; unreadable?: number };
    error?: { message?: string };
  }
  const call = async (method: string, path: string, body?: unknown): Promise<RunAnswer> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = (await response.json()) as RunAnswer;
    if (!response.ok) throw new Error(`${response.status} ${answer.error?.message ?? JSON.stringify(answer)}`);
    return answer;
  };
  const { runId } = await call('POST', '/v1/jobs/replay', { from: values.from, to: values.to });
  console.log(`Replay ${runId}: ${values.from} to ${values.to}`);
  for (;;) {
    const run = await call('GET', `/v1/jobs/replay/runs/${runId}`);
    const p = run.progress ?? {};
    if (run.status === 'succeeded' || run.status === 'failed') {
      console.log(
        `${run.status}: ${p.events ?? 0} events from ${p.objects ?? 0} archive objects sent again${p.unreadable ? `, ${p.unreadable} unreadable (erased people)` : ''}.`,
      );
      return run.status === 'succeeded' ? 0 : 1;
    }
    if (p.day) console.log(`  ${p.day}: ${p.events ?? 0} events so far`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const [command, ...commandArgs] = process.argv.slice(2);
try {
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP);
    process.exit(command ? 0 : 2);
  } else if (command === 'verify-snapshot') {
    process.exit(await verifyCommand(commandArgs[0]));
  } else if (command === 'dlq') {
    process.exit(await dlqCommand(commandArgs));
  } else if (command === 'replay') {
    process.exit(await replayCommand(commandArgs));
  } else if (command === 'stats') {
    process.exit(await statsCommand(commandArgs));
  } else {
    console.error(`Unknown command "${command}".\n\n${HELP}`);
    process.exit(2);
  }
} catch (error) {
  console.error(`prisme ${command}: ${(error as Error).message}`);
  process.exit(1);
}
