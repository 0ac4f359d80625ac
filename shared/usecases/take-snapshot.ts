/**
 * Writes an audience snapshot to S3: member parts, added/removed deltas against
 * the previous run, then `manifest.json`, then `latest.json` last, so a reader
 * that follows `latest.json` only ever sees a complete run.
 */
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Transform } from 'node:stream';
import { createGunzip, createGzip, type Gzip } from 'node:zlib';
import type { CatalogStore, RunRecord } from '../adapters/dynamodb/catalog-store';
import type { MembershipStore } from '../adapters/dynamodb/membership-store';
import type { ProfileStore } from '../adapters/dynamodb/profile-store';
import { DETAIL_TYPES, type EventPublisher } from '../adapters/eventbridge/event-publisher';
import type { ObjectStore } from '../adapters/s3/object-store';
import {
  ROWS_PER_PART,
  SNAPSHOT_SCHEMA_VERSION,
  csvRow,
  exportColumns,
  fieldValue,
  holdReason,
  holdoutFileKey,
  isHeldOut,
  type Audience,
  latestKey,
  partFileName,
  runPrefix,
  type LatestPointer,
  type Manifest,
  type ManifestFile,
  type SnapshotFileKind,
} from '../domain/audiences';
import { notFound } from '../errors';
import type { Profile } from '../domain/profile';
import type { Logger } from '../logger';

export interface SnapshotDeps {
  catalog: CatalogStore;
  memberships: MembershipStore;
  profiles: ProfileStore;
  objects: ObjectStore;
  publisher: EventPublisher;
  logger: Logger;
  now: () => number;
}

export const runScope = (audienceId: string): string => `audience#${audienceId}`;
const MEMBERS_PER_PAGE = 500;

/** The exported members of an audience now: its segment's members, less the holdout group, by profile id. */
export async function* exportedMembers(
  audience: Audience,
  deps: Pick<SnapshotDeps, 'memberships' | 'profiles'>,
): AsyncGenerator<{ profile: Profile; heldOut: boolean }> {
  let cursor: string | undefined;
  do {
    const page = await deps.memberships.members(audience.segmentId, cursor, MEMBERS_PER_PAGE);
    const profiles = new Map((await deps.profiles.getMany(page.items.map((m) => m.profileId))).map((p) => [p.profileId, p]));
    for (const member of page.items) {
      const profile = profiles.get(member.profileId);
      if (!profile) continue; // erased or not yet written: never export a row we cannot fill
      yield { profile, heldOut: isHeldOut(profile.profileId, audience) };
    }
    cursor = page.cursor;
  } while (cursor);
}

/**
 * Takes a snapshot, or holds it when governance says no (a draft, under the minimum size, a size
 * change beyond the limit): a held run publishes nothing and is reported. Returns the manifest of a
 * published run.
 *
 * Streams: members are read a page at a time, compared with the previous run's member files as they
 * are read back (both are sorted by profile id, so the deltas are a merge, not a set in memory), and
 * written through gzip into multipart uploads. Memory stays bounded whatever the audience's size.
 */
export async function takeSnapshot(audienceId: string, runId: string, deps: SnapshotDeps): Promise<Manifest | undefined> {
  const audience = await deps.catalog.audiences.get(audienceId);
  if (!audience) throw notFound(`audience ${audienceId}`);
  const segment = await deps.catalog.segments.get(audience.segmentId);
  if (!segment) throw notFound(`segment ${audience.segmentId}`);

  const startedAt = new Date(deps.now()).toISOString();
  const run: RunRecord = { runId, status: 'running', startedAt };
  await deps.catalog.putRun(runScope(audienceId), run);
  try {
    // Governance first, from the membership ids alone: a held run writes nothing.
    const size = await exportSize(audience, deps);
    const held = holdReason(audience, size.members);
    if (held) {
      await deps.catalog.putRun(runScope(audienceId), {
        ...run,
        status: 'held',
        finishedAt: new Date(deps.now()).toISOString(),
        progress: { members: size.members, holdout: size.holdout, approvedSize: audience.approval?.size ?? null },
        error: held,
      });
      await deps.publisher.publish([
        { detailType: DETAIL_TYPES.snapshotHeld, detail: { version: 1, audienceId, runId, reason: held, members: size.members, approvedSize: audience.approval?.size ?? null } },
      ]);
      deps.logger.warn('snapshot held, not published', { audienceId, runId, reason: held, members: size.members });
      return undefined;
    }

    const previous = await readLatest(audienceId, deps.objects);
    const previousIds = memberIds(previous?.manifest, deps.objects)[Symbol.asyncIterator]();
    const columns = exportColumns(audience);
    const header = csvRow(columns);
    const prefix = runPrefix(audienceId, runId);
    const writers = {
      members: new PartWriter(prefix, 'members', header, deps.objects),
      added: new PartWriter(prefix, 'added', header, deps.objects),
      removed: new PartWriter(prefix, 'removed', csvRow(['profileId']), deps.objects),
    };
    // The control group, recorded outside the audience's folder (ESPs read that one), for uplift later.
    const holdoutKey = audience.holdoutPercent > 0 ? holdoutFileKey(audienceId, runId) : undefined;
    const holdout = holdoutKey ? new PartWriter('', 'holdout', csvRow(['profileId']), deps.objects, () => holdoutKey) : undefined;
    const counts = { members: 0, added: 0, removed: 0, holdout: 0 };

    let previousId = (await previousIds.next()).value as string | undefined;
    for await (const { profile, heldOut } of exportedMembers(audience, deps)) {
      const id = profile.profileId;
      if (heldOut) {
        await holdout?.write(csvRow([id]));
        counts.holdout++;
        continue;
      }
      const row = csvRow(columns.map((field) => fieldValue(profile, field)));
      await writers.members.write(row);
      counts.members++;
      // Previous members before this id are gone; this id is new unless it was there before.
      while (previousId !== undefined && previousId < id) {
        await writers.removed.write(csvRow([previousId]));
        counts.removed++;
        previousId = (await previousIds.next()).value as string | undefined;
      }
      if (previousId === id) previousId = (await previousIds.next()).value as string | undefined;
      else {
        await writers.added.write(row);
        counts.added++;
      }
      if (counts.members % 100_000 === 0) deps.logger.info('snapshot progress', { audienceId, runId, members: counts.members });
    }
    for (; previousId !== undefined; previousId = (await previousIds.next()).value as string | undefined) {
      await writers.removed.write(csvRow([previousId]));
      counts.removed++;
    }
    const files = [...(await writers.members.finish()), ...(await writers.added.finish()), ...(await writers.removed.finish())];
    if (holdout) await holdout.finish();

    const manifest: Manifest = {
      schemaVersion: SNAPSHOT_SCHEMA_VERSION,
      audienceId,
      audienceRevision: audience.revision,
      segmentId: segment.id,
      segmentRevision: segment.revision,
      runId,
      previousRunId: previous?.manifest.runId ?? null,
      asOf: startedAt,
      format: 'csv.gz',
      columns,
      counts: { members: counts.members, added: counts.added, removed: counts.removed },
      files,
      ...(holdoutKey && { holdout: { percent: audience.holdoutPercent, members: counts.holdout, key: holdoutKey } }),
    };
    const manifestKey = `${prefix}manifest.json`;
    await deps.objects.put(manifestKey, JSON.stringify(manifest, null, 2), 'application/json');
    const latest: LatestPointer = { schemaVersion: SNAPSHOT_SCHEMA_VERSION, runId, manifestKey, asOf: startedAt, counts: manifest.counts };
    await deps.objects.put(latestKey(audienceId), JSON.stringify(latest, null, 2), 'application/json');

    await deps.catalog.putRun(runScope(audienceId), {
      ...run,
      status: 'succeeded',
      finishedAt: new Date(deps.now()).toISOString(),
      progress: { ...manifest.counts, holdout: counts.holdout, manifestKey },
    });
    await deps.publisher.publish([
      { detailType: DETAIL_TYPES.snapshotPublished, detail: { version: 1, audienceId, runId, manifestKey, counts: manifest.counts } },
    ]);
    deps.logger.info('snapshot published', { audienceId, runId, ...manifest.counts, holdout: counts.holdout });
    return manifest;
  } catch (error) {
    await deps.catalog.putRun(runScope(audienceId), {
      ...run,
      status: 'failed',
      finishedAt: new Date(deps.now()).toISOString(),
      error: (error as Error).message,
    });
    throw error;
  }
}

/** Members the export would have now, and the control group, from membership ids alone. */
export async function exportSize(audience: Audience, deps: Pick<SnapshotDeps, 'memberships'>): Promise<{ members: number; holdout: number }> {
  const size = { members: 0, holdout: 0 };
  let cursor: string | undefined;
  do {
    const page = await deps.memberships.members(audience.segmentId, cursor, 1000);
    for (const { profileId } of page.items) isHeldOut(profileId, audience) ? size.holdout++ : size.members++;
    cursor = page.cursor;
  } while (cursor);
  return size;
}

/**
 * Rows into gzip parts of at most ROWS_PER_PART rows, each streamed to S3 as it is written, with its
 * byte count and SHA-256 taken on the way. An empty file still gets one part (its header), so
 * consumers never have to special-case absence.
 */
export class PartWriter {
  private readonly files: ManifestFile[] = [];
  private current?: { key: string; gzip: Gzip; rows: number; bytes: number; hash: Hash; uploaded: Promise<void> };
  private part = 0;

  constructor(
    private readonly prefix: string,
    private readonly kind: SnapshotFileKind | 'holdout',
    private readonly header: string,
    private readonly objects: ObjectStore,
    private readonly keyOf: (part: number) => string = (part) => `${this.prefix}${partFileName(this.kind as SnapshotFileKind, part)}`,
  ) {}

  /** Rows not yet handed to gzip: batched, as one write per row costs more than the compression. */
  private pending: string[] = [];

  async write(row: string): Promise<void> {
    if (!this.current || this.current.rows >= ROWS_PER_PART) {
      await this.close();
      this.open();
    }
    this.current!.rows++;
    this.pending.push(row);
    if (this.pending.length >= 1000) await this.flush();
  }

  async finish(): Promise<ManifestFile[]> {
    if (!this.current && this.files.length === 0) this.open();
    await this.close();
    return this.files;
  }

  private async flush(): Promise<void> {
    const current = this.current!;
    const chunk = this.pending.join('');
    this.pending = [];
    if (!current.gzip.write(chunk)) {
      // Wait for the upload to take more, or for it to fail (then never wait for a drain that will not come).
      await Promise.race([once(current.gzip, 'drain'), current.uploaded.then(() => Promise.reject(new Error(`upload of ${current.key} ended early`)))]);
    }
  }

  private open(): void {
    const key = this.keyOf(this.part++);
    const gzip = createGzip();
    const hash = createHash('sha256');
    const state = { key, gzip, rows: 0, bytes: 0, hash, uploaded: Promise.resolve() };
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        state.bytes += chunk.length;
        done(null, chunk);
      },
    });
    state.uploaded = this.objects.putStream(key, gzip.pipe(counted), 'application/gzip');
    state.uploaded.catch(() => undefined); // awaited in close(); a failure must not go unhandled meanwhile
    gzip.write(this.header);
    this.current = state;
  }

  private async close(): Promise<void> {
    const current = this.current;
    if (!current) return;
    if (this.pending.length > 0) await this.flush();
    this.current = undefined;
    current.gzip.end();
    await current.uploaded;
    if (this.kind !== 'holdout') {
      this.files.push({ key: current.key, kind: this.kind, rows: current.rows, bytes: current.bytes, sha256: current.hash.digest('hex') });
    }
  }
}

export const sha256 = (body: Buffer): string => createHash('sha256').update(body).digest('hex');

export async function readLatest(
  audienceId: string,
  objects: ObjectStore,
): Promise<{ latest: LatestPointer; manifest: Manifest } | undefined> {
  const latestBody = await objects.get(latestKey(audienceId));
  if (!latestBody) return undefined;
  const latest = JSON.parse(latestBody.toString()) as LatestPointer;
  const manifestBody = await objects.get(latest.manifestKey);
  if (!manifestBody) throw new Error(`latest.json of ${audienceId} points to a missing manifest ${latest.manifestKey}`);
  return { latest, manifest: JSON.parse(manifestBody.toString()) as Manifest };
}

/** Profile ids of a run's member files, in order, read back as a stream; ids never need CSV quoting. */
async function* memberIds(manifest: Manifest | undefined, objects: ObjectStore): AsyncGenerator<string> {
  for (const file of manifest?.files.filter((f) => f.kind === 'members') ?? []) {
    const body = await objects.getStream(file.key);
    if (!body) throw new Error(`previous run file ${file.key} is missing`);
    let header = true;
    for await (const line of createInterface({ input: body.pipe(createGunzip()), crlfDelay: Infinity })) {
      if (header) {
        header = false;
        continue;
      }
      if (!line) continue;
      const comma = line.indexOf(',');
      yield comma === -1 ? line : line.slice(0, comma);
    }
  }
}
