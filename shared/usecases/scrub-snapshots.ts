/**
 * Erasure, for the snapshots already written: every run that can hold the person (taken since their
 * first profile was created) has its member, delta and control-group files and its ESP file rewritten
 * without them, and its manifest re-hashed, so `verify-snapshot` still passes. Rewritten rather than
 * removed: an audience's latest run is the base of its next deltas, and almost every erasure of a
 * member would otherwise cost the audience its whole history.
 *
 * A year of daily runs does not fit in one invocation, so this is a job of the snapshot function, in
 * steps: the erasure leaves what the scrub needs as a part of its record (profile ids, hashes of the
 * userIds, never a value in clear) and publishes `Profile Erased` (step 0); a step walks the run folders
 * in key order from its cursor, and near its time limit hands the cursor to the next step through the
 * erasure record and a `Snapshot Scrub Requested` event. A step runs only while the record's phase is
 * `snapshots#<n>` and ends by moving it on conditionally, so of two deliveries of a step only one hands
 * off or finishes (the other's rewrites are the same bytes: files are recomputed, not patched), and a
 * late duplicate does nothing. The last step closes the erasure and deletes the part.
 */

import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { parquetReadObjects } from 'hyparquet';
import { DETAIL_TYPES } from '../contracts/detail-types';
import { newRunId } from '../domain/audiences';
import { identifierKey } from '../domain/identity';
import { arrayBufferOf, encodingFor, type LatestPointer, latestKey, type Manifest } from '../domain/snapshot-files';
import type { Logger } from '../logger';
import type { RunStore } from '../ports/catalog';
import type { EventPublisher } from '../ports/event-publisher';
import type { ObjectStore } from '../ports/objects';
import { sha256 } from './snapshot-parts';

export const ERASURES_SCOPE = 'erasures';
/** The erasure's part holding the `ErasedPerson`, from the erasure to the end of the scrub. */
export const SCRUB_PART = 'snapshots';

export interface ErasedPerson {
  /** The profile and every profile merged into it: the ids their rows were written under. */
  profileIds: readonly string[];
  /** Braze rows are keyed by userId: matched by the SHA-256 of `userId:<value>`, so none is kept in clear. */
  userIdHashes: readonly string[];
  /** When the oldest of those profiles was created: earlier runs cannot hold them ('' when unknown: every run). */
  since: string;
}

/** `progress.snapshots` of the erasure record. Counts only: which runs held the person is theirs. */
export interface SnapshotsProgress {
  status: 'rewriting' | 'done';
  /** Runs read (taken since the person existed). */
  runs: number;
  /** Files rewritten without the person, manifests and `latest.json` included. */
  rewrittenFiles: number;
  /** The last run folder done, while rewriting: where the next step starts. */
  cursor?: string;
}

export const hashUserId = (value: string): string =>
  createHash('sha256')
    .update(identifierKey({ type: 'userId', value }))
    .digest('hex');

export const scrubPhase = (step: number): string => `snapshots#${step}`;

export interface ScrubDeps {
  catalog: Pick<RunStore, 'getRun' | 'getRunPart' | 'advanceRun' | 'deleteRunParts'>;
  objects: Pick<ObjectStore, 'get' | 'put' | 'listFolders'>;
  publisher: EventPublisher;
  logger: Logger;
  now: () => number;
}

/** Leave this much of the invocation when starting another run: one run's files are read and written whole. */
export const SCRUB_SAFETY_MS = 120_000;
/** A run is named when it was asked for and read a little later: runs named this long before the person are read too. */
const RUN_ID_MARGIN_MS = 24 * 3600_000;
const PAGE = 1000;

export type ScrubOutcome = 'finished' | 'handed-off' | 'skipped';

/**
 * Step `step` of erasure `erasureId`'s scrub: rewrites runs until none is left (and closes the erasure)
 * or until `remainingMs()` falls under `safetyMs` with runs left (and hands off). Every step does one
 * run at least, so a budget too small for more still ends.
 */
export async function scrubSnapshotsStep(
  erasureId: string,
  step: number,
  deps: ScrubDeps,
  remainingMs: () => number,
  safetyMs = SCRUB_SAFETY_MS,
): Promise<ScrubOutcome> {
  const { catalog, logger } = deps;
  const record = await catalog.getRun(ERASURES_SCOPE, erasureId);
  if (record?.phase === 'done') {
    // A crash after closing could leave the part behind: it goes now.
    await catalog.deleteRunParts(ERASURES_SCOPE, erasureId);
    return 'skipped';
  }
  // Another delivery of this step (or an erasure from before scrubs were steps): nothing to do.
  if (!record || record.phase !== scrubPhase(step)) return 'skipped';
  const person = await catalog.getRunPart<ErasedPerson>(ERASURES_SCOPE, erasureId, SCRUB_PART);
  if (!person) throw new Error(`erasure ${erasureId}: the scrub has no erased person to look for`);

  const progress = { ...(record.progress?.snapshots as SnapshotsProgress) };
  const matches = { ids: new Set(person.profileIds), userIdHashes: new Set(person.userIdHashes) };
  let done = 0;
  for await (const folder of runFolders(person.since, progress.cursor, deps.objects)) {
    if (done > 0 && remainingMs() < safetyMs) {
      const next = { ...progress, status: 'rewriting' } satisfies SnapshotsProgress;
      const handedOver = { progress: { ...record.progress, snapshots: next } };
      if (!(await catalog.advanceRun(ERASURES_SCOPE, erasureId, scrubPhase(step), scrubPhase(step + 1), handedOver))) return 'skipped'; // another delivery got there first
      await publishStep(erasureId, step + 1, deps).catch(async (error: unknown) => {
        // Nobody will run the next step: this one takes its phase back (with the cursor it reached) and is retried.
        await catalog.advanceRun(ERASURES_SCOPE, erasureId, scrubPhase(step + 1), scrubPhase(step), handedOver);
        throw error;
      });
      logger.info('erasure scrub continues in a new invocation', {
        erasureId,
        step: step + 1,
        runs: progress.runs,
        rewrittenFiles: progress.rewrittenFiles,
      });
      return 'handed-off';
    }
    const scrubbed = await scrubRunFolder(folder, person.since, matches, deps.objects);
    progress.runs += scrubbed.read ? 1 : 0;
    progress.rewrittenFiles += scrubbed.rewritten;
    progress.cursor = folder;
    done++;
  }
  const { cursor: _, ...counts } = progress;
  const closed = await catalog.advanceRun(ERASURES_SCOPE, erasureId, scrubPhase(step), 'done', {
    status: 'succeeded',
    finishedAt: new Date(deps.now()).toISOString(),
    progress: { ...record.progress, snapshots: { ...counts, status: 'done' } satisfies SnapshotsProgress },
  });
  if (!closed) return 'skipped';
  await catalog.deleteRunParts(ERASURES_SCOPE, erasureId);
  logger.info('erasure scrub finished', { erasureId, steps: step + 1, runs: counts.runs, rewrittenFiles: counts.rewrittenFiles });
  return 'finished';
}

const publishStep = (erasureId: string, step: number, deps: Pick<ScrubDeps, 'publisher'>) =>
  deps.publisher.publish([{ detailType: DETAIL_TYPES.snapshotScrubRequested, detail: { version: 1, erasureId, step } }]);

/**
 * The run folders (`audiences/<id>/runs/<runId>/`) that can hold the person, after `cursor`, in key
 * order. Listed by folder, not by object: one entry per run however many parts it has, and runs named
 * before the person existed are not listed at all (run ids sort by time).
 */
async function* runFolders(since: string, cursor: string | undefined, objects: Pick<ObjectStore, 'listFolders'>): AsyncGenerator<string> {
  const first = since ? newRunId(Date.parse(since) - RUN_ID_MARGIN_MS) : '';
  for await (const audience of folders('audiences/', undefined, objects)) {
    if (cursor && audience < cursor && !cursor.startsWith(audience)) continue; // done in an earlier step
    const runs = `${audience}runs/`;
    // After a folder is after every key in it: `a/` then `a0` (`0` follows `/`).
    const after = cursor?.startsWith(runs) ? `${cursor.slice(0, -1)}0` : `${runs}${first}`;
    yield* folders(runs, after, objects);
  }
}

async function* folders(prefix: string, startAfter: string | undefined, objects: Pick<ObjectStore, 'listFolders'>): AsyncGenerator<string> {
  for (let after = startAfter, more = true; more; ) {
    const page = await objects.listFolders(prefix, after, PAGE);
    yield* page.folders;
    more = page.more;
    after = page.next;
  }
}

interface Matches {
  ids: ReadonlySet<string>;
  userIdHashes: ReadonlySet<string>;
}

/** One run folder scrubbed: whether its manifest was read (a run since the person existed), and how many files were rewritten. */
async function scrubRunFolder(
  folder: string,
  since: string,
  matches: Matches,
  objects: Pick<ObjectStore, 'get' | 'put'>,
): Promise<{ read: boolean; rewritten: number }> {
  const key = `${folder}manifest.json`;
  const body = await objects.get(key);
  if (!body) return { read: false, rewritten: 0 }; // a run under way, or one that failed: no manifest, nothing published
  const manifest = JSON.parse(body.toString()) as Manifest;
  if (manifest.asOf < since) return { read: false, rewritten: 0 };
  const changed = await scrubRun(manifest, matches, objects);
  if (changed.length === 0) return { read: true, rewritten: 0 };
  await objects.put(key, JSON.stringify(manifest, null, 2), 'application/json');
  let rewritten = changed.length + 1;
  const latestBody = await objects.get(latestKey(manifest.audienceId));
  const latest = latestBody && (JSON.parse(latestBody.toString()) as LatestPointer);
  if (latest && latest.manifestKey === key) {
    await objects.put(latestKey(manifest.audienceId), JSON.stringify({ ...latest, counts: manifest.counts }, null, 2), 'application/json');
    rewritten++;
  }
  return { read: true, rewritten };
}

/**
 * Rewrites the run's files that hold the person and updates `manifest` in place; the keys changed.
 * Each entry is recomputed from the file as it is now, not patched: a scrub interrupted between a
 * file and its manifest (a crash, a timeout) leaves a file the retry finds clean but hashed wrongly.
 */
async function scrubRun(manifest: Manifest, { ids, userIdHashes }: Matches, objects: Pick<ObjectStore, 'get' | 'put'>): Promise<string[]> {
  const changed: string[] = [];
  const counts = { members: 0, added: 0, removed: 0 };
  const variantCounts = new Map(manifest.variants?.map((v) => [v.name, { members: 0, added: 0, removed: 0 }]));
  for (const file of manifest.files) {
    const columns = file.kind === 'removed' ? ['profileId'] : manifest.columns;
    const scrubbed = await withoutRows(manifest.format, columns, (await objects.get(file.key))!, ids);
    if (scrubbed.dropped > 0)
      await objects.put(file.key, scrubbed.body, manifest.format === 'parquet' ? 'application/vnd.apache.parquet' : 'application/gzip');
    counts[file.kind] += scrubbed.rows;
    const variant = file.variant === undefined ? undefined : variantCounts.get(file.variant);
    if (variant) variant[file.kind] += scrubbed.rows;
    const hash = sha256(scrubbed.body);
    if (hash === file.sha256) continue;
    Object.assign(file, { rows: scrubbed.rows, bytes: scrubbed.body.length, sha256: hash });
    changed.push(file.key);
  }
  manifest.counts = counts;
  for (const variant of manifest.variants ?? []) variant.counts = variantCounts.get(variant.name)!;
  const holdout = manifest.holdout;
  const holdoutBody = holdout && (await objects.get(holdout.key));
  if (holdout && holdoutBody) {
    const scrubbed = await withoutRows('csv.gz', ['profileId'], holdoutBody, ids);
    if (scrubbed.dropped > 0) await objects.put(holdout.key, scrubbed.body, 'application/gzip');
    if (scrubbed.rows !== holdout.members) changed.push(holdout.key);
    holdout.members = scrubbed.rows;
  }
  for (const esp of [manifest.esp, ...(manifest.variants ?? []).map((v) => v.esp)]) {
    const espBody = esp && (await objects.get(esp.key));
    if (!esp || !espBody) continue;
    // Braze's rows are keyed by userId; the full-list presets' first column is the profile id.
    const records = csvRecords(espBody.toString());
    const erased = esp.preset === 'braze' ? (cell: string) => userIdHashes.has(hashUserId(cell)) : (cell: string) => ids.has(cell);
    const kept = records.filter((record, i) => i === 0 || !erased(record.first));
    const body = Buffer.from(kept.map((record) => record.raw).join(''));
    if (kept.length < records.length) await objects.put(esp.key, body, 'text/csv');
    const hash = sha256(body);
    if (hash !== esp.sha256) {
      Object.assign(esp, { rows: kept.length - 1, bytes: body.length, sha256: hash });
      changed.push(esp.key);
    }
  }
  return changed;
}

/** The file without the rows of `ids` (the same bytes when it held none), and the rows it keeps. */
async function withoutRows(
  format: Manifest['format'],
  columns: readonly string[],
  body: Buffer,
  ids: ReadonlySet<string>,
): Promise<{ body: Buffer; rows: number; dropped: number }> {
  if (format === 'parquet') {
    const rows = await parquetReadObjects({ file: arrayBufferOf(body) });
    const kept = rows.filter((row) => !ids.has(String(row.profileId)));
    if (kept.length === rows.length) return { body, rows: rows.length, dropped: 0 };
    const encoded = encodingFor('parquet', columns).binary!(kept.map((row) => columns.map((c) => row[c])));
    return { body: Buffer.from(encoded), rows: kept.length, dropped: rows.length - kept.length };
  }
  const text = gunzipSync(body).toString();
  // JSON Lines escape line breaks; a CSV field may hold one, quoted, so CSV is split by record.
  const [header, ...records] =
    format === 'jsonl.gz'
      ? [
          { raw: '', first: '' },
          ...text
            .split(/(?<=\n)/)
            .filter(Boolean)
            .map((raw) => ({ raw, first: String((JSON.parse(raw) as { profileId: unknown }).profileId) })),
        ]
      : csvRecords(text);
  const kept = records.filter((record) => !ids.has(record.first));
  if (kept.length === records.length) return { body, rows: records.length, dropped: 0 };
  return {
    body: gzipSync([header!, ...kept].map((record) => record.raw).join('')),
    rows: kept.length,
    dropped: records.length - kept.length,
  };
}

/** CSV text as its records, each as written (line break included) and its first cell, by csv-parse: a quoted cell may hold a line break. */
function csvRecords(text: string): Array<{ raw: string; first: string }> {
  return (parse(text, { raw: true, relax_column_count: true }) as unknown as Array<{ raw: string; record: string[] }>).map(
    ({ raw, record }) => ({ raw, first: record[0] ?? '' }),
  );
}
