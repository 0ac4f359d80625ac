/** `prisme verify-snapshot <target>`: an audience snapshot run checked against its manifest, as an ESP would. */

import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import { S3ObjectStore } from '#shared/adapters/s3/object-store';
import { type LatestPointer, type Manifest, runPrefix } from '#shared/domain/snapshot-files';
import { verifySnapshot } from '#shared/usecases/verify-snapshot';
import { EXIT } from '../exit-codes';

type Reader = (key: string) => Promise<Buffer | undefined>;

function s3Reader(bucket: string): Reader {
  const objects = new S3ObjectStore(new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3) }), bucket);
  return (key) => objects.get(key);
}

/** A file on disk by name, as downloaded, or as s3rver stores objects (`<name>._S3rver_object`). */
const readLocal = (path: string): Buffer | undefined =>
  [path, `${path}._S3rver_object`].filter((p) => existsSync(p) && statSync(p).isFile()).map((p) => readFileSync(p))[0];

/** A file's key within its run's folder: an experiment's variants each have files of the same names in folders of their own. */
function runRelative(manifest: Manifest, key: string): string {
  const prefix = runPrefix(manifest.audienceId, manifest.runId);
  return key.startsWith(prefix) ? key.slice(prefix.length) : basename(key);
}

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
  return { manifest, read: async (key) => readLocal(join(folder, runRelative(manifest, key))), where: manifestPath };
}

async function verify(target: string): Promise<number> {
  const { manifest, read, where } = await locate(target);
  console.log(`Run ${manifest.runId} of audience ${manifest.audienceId} (${where})`);
  const result = await verifySnapshot(manifest, read);
  for (const file of result.files) {
    const rows = manifest.files.find((f) => f.key === file.key)!.rows;
    console.log(
      `  ${file.ok ? 'ok  ' : 'FAIL'}  ${runRelative(manifest, file.key).padEnd(24)} ${String(rows).padStart(9)} rows${file.ok ? '' : `  ${file.problems.join('; ')}`}`,
    );
  }
  for (const problem of result.problems) console.log(`  FAIL  ${problem}`);
  const { members, added, removed } = manifest.counts;
  console.log(result.ok ? `Verified: ${members} members, ${added} added, ${removed} removed.` : 'The run does NOT match its manifest.');
  return result.ok ? EXIT.ok : EXIT.failed;
}

export function verifySnapshotCommand(program: Command, done: (code: number) => void): void {
  program
    .command('verify-snapshot')
    .summary('check an audience snapshot run against its manifest')
    .description(
      `Check an audience snapshot run against its manifest, as an ESP would: every file present, byte count and SHA-256 as announced, decompresses, header and row counts right, members sorted and unique, counts adding up. Exit code 1 if the run does not match.`,
    )
    .argument('<target>', 'an S3 URI or a local path: to latest.json, a manifest.json, an audience folder or a run folder')
    .addHelpText(
      'after',
      `
Examples:
  npm run prisme -- verify-snapshot .prisme-local/s3/prisme-local/audiences/vip-email      (npm start's bucket)
  npm run prisme -- verify-snapshot ./downloads/vip-email/runs/20261123T060000000Z
  npm run prisme -- verify-snapshot s3://prisme-data-123456789012-eu-west-1/audiences/vip-email/

S3 uses the usual AWS credentials; AWS_ENDPOINT_URL_S3 points it elsewhere (path-style), e.g. at
npm start's s3rver.`,
    )
    .action(async (target: string) => done(await verify(target)));
}
