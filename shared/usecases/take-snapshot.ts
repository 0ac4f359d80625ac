/**
 * Writes an audience snapshot to S3: member parts, added/removed deltas against
 * the previous run, then `manifest.json`, then `latest.json` last, so a reader
 * that follows `latest.json` only ever sees a complete run.
 */
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, Transform } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import type { CatalogStore, RunRecord } from '../ports/catalog';
import type { MembershipStore } from '../ports/memberships';
import type { ProfileStore } from '../ports/profiles';
import { DETAIL_TYPES } from '../contracts/detail-types';
import type { EventPublisher } from '../ports/event-publisher';
import type { ObjectStore } from '../ports/objects';
import {
  FORMAT_EXTENSIONS,
  ROWS_PER_PART,
  SNAPSHOT_SCHEMA_VERSION,
  csvOptionsFor,
  csvRow,
  csvRows,
  encodingFor,
  type Encoding,
  type EspPreset,
  exportColumns,
  fieldValue,
  holdReason,
  holdoutFileKey,
  parquetProfileIds,
  profileIdsOfText,
  isGroupTraitField,
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
import { NotFoundError } from '../errors';
import { reachable } from '../domain/consent';
import { BRAZE_HEADER, brazeRow, espFileKey, presetColumns } from '../domain/esp';
import type { FrozenStore } from '../ports/frozen';
import type { FrozenValues } from '../domain/frozen';
import type { GroupStore } from '../ports/groups';
import type { GroupTraits } from '../domain/groups';
import { GroupTraitsReader } from './group-traits';
import { isFrozenIndicator } from '../domain/indicators';
import { indicatorModel } from './catalog-view';

const isFrozenColumn = (column: string) => column.startsWith('indicators.') && isFrozenIndicator(column.slice('indicators.'.length).split('|')[0]!);
import type { Profile } from '../domain/profile';
import type { Logger } from '../logger';

export interface SnapshotDeps {
  catalog: CatalogStore;
  /** Read for `indicators.<frozen indicator>` columns. */
  frozen?: Pick<FrozenStore, 'getMany'>;
  /** Read for `groups.<trait>` columns. */
  groups?: Pick<GroupStore, 'getMany'>;
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
  deps: Pick<SnapshotDeps, 'memberships' | 'profiles'> & { frozen?: Pick<FrozenStore, 'getMany'>; withFrozen?: boolean; groups?: Pick<GroupStore, 'getMany'>; withGroups?: boolean },
): AsyncGenerator<{ profile: Profile; heldOut: boolean; frozen?: FrozenValues; groups?: GroupTraits[] }> {
  let cursor: string | undefined;
  do {
    const page = await deps.memberships.members(audience.segmentId, cursor, MEMBERS_PER_PAGE);
    const ids = page.items.map((m) => m.profileId);
    const profiles = new Map((await deps.profiles.getMany(ids)).map((p) => [p.profileId, p]));
    const frozen = deps.withFrozen && deps.frozen ? new Map((await deps.frozen.getMany(ids)).map((r) => [r.profileId, r.values])) : undefined;
    if (deps.withGroups && !deps.groups) throw new Error('the snapshot needs the group store: the audience exports groups.<trait> columns');
    // A reader per page: memory stays bounded by a page's groups whatever the audience's size.
    const groups = deps.withGroups ? new GroupTraitsReader(deps.groups!) : undefined;
    await groups?.prefetch(profiles.values());
    for (const member of page.items) {
      const profile = profiles.get(member.profileId);
      if (!profile) continue; // erased or not yet written: never export a row we cannot fill
      // Only people who may be contacted on the audience's channel; the control group is drawn from them.
      if (audience.consentChannel && !reachable(profile, audience.consentChannel)) continue;
      const groupTraits = await groups?.traitsOf(profile);
      yield { profile, heldOut: isHeldOut(profile.profileId, audience), frozen: frozen?.get(profile.profileId), groups: groupTraits };
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
  if (!audience) throw new NotFoundError(`audience ${audienceId}`);
  const segment = await deps.catalog.segments.get(audience.segmentId);
  if (!segment) throw new NotFoundError(`segment ${audience.segmentId}`);

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
    const prefix = runPrefix(audienceId, runId);
    const rows = encodingFor(audience.format, columns);
    const ids = encodingFor(audience.format, ['profileId']);
    const writer = (kind: SnapshotFileKind, encoding: Encoding) =>
      new PartWriter(kind, encoding, deps.objects, (part) => `${prefix}${partFileName(kind, part, audience.format)}`);
    const writers = { members: writer('members', rows), added: writer('added', rows), removed: writer('removed', ids) };
    // The control group, recorded outside the audience's folder (ESPs read that one), for uplift later.
    const holdoutKey = audience.holdoutPercent > 0 ? holdoutFileKey(audienceId, runId) : undefined;
    const holdout = holdoutKey ? new PartWriter('holdout', encodingFor('csv', ['profileId']), deps.objects, () => holdoutKey) : undefined;
    const esp = audience.preset ? new EspWriter(audience, runId, columns, deps) : undefined;
    const needsIndicators = columns.some((c) => c.startsWith('indicators.'));
    const model = needsIndicators ? await indicatorModel(deps.catalog) : undefined;
    const now = deps.now();
    const counts = { members: 0, added: 0, removed: 0, holdout: 0 };

    let previousId = (await previousIds.next()).value as string | undefined;
    for await (const { profile, heldOut, frozen, groups } of exportedMembers(audience, { ...deps, withFrozen: columns.some(isFrozenColumn), withGroups: columns.some(isGroupTraitField) })) {
      const id = profile.profileId;
      if (heldOut) {
        await holdout?.write([id]);
        counts.holdout++;
        continue;
      }
      const indicators = model && { ...model.valuesOf(profile, now), ...frozen };
      const row = columns.map((field) => fieldValue(profile, field, indicators, groups));
      await writers.members.write(row);
      await esp?.member(row);
      counts.members++;
      // Previous members before this id are gone; this id is new unless it was there before.
      while (previousId !== undefined && previousId < id) {
        await writers.removed.write([previousId]);
        await esp?.removed(previousId);
        counts.removed++;
        previousId = (await previousIds.next()).value as string | undefined;
      }
      if (previousId === id) previousId = (await previousIds.next()).value as string | undefined;
      else {
        await writers.added.write(row);
        await esp?.added(profile, row);
        counts.added++;
      }
      if (counts.members % 100_000 === 0) deps.logger.info('snapshot progress', { audienceId, runId, members: counts.members });
    }
    for (; previousId !== undefined; previousId = (await previousIds.next()).value as string | undefined) {
      await writers.removed.write([previousId]);
      await esp?.removed(previousId);
      counts.removed++;
    }
    const files = [...(await writers.members.finish()), ...(await writers.added.finish()), ...(await writers.removed.finish())];
    if (holdout) await holdout.finish();
    const espFile = await esp?.finish();

    const manifest: Manifest = {
      schemaVersion: SNAPSHOT_SCHEMA_VERSION,
      audienceId,
      audienceRevision: audience.revision,
      segmentId: segment.id,
      segmentRevision: segment.revision,
      runId,
      previousRunId: previous?.manifest.runId ?? null,
      asOf: startedAt,
      format: FORMAT_EXTENSIONS[audience.format],
      columns,
      counts: { members: counts.members, added: counts.added, removed: counts.removed },
      files,
      ...(holdoutKey && { holdout: { percent: audience.holdoutPercent, members: counts.holdout, key: holdoutKey } }),
      ...(espFile && { esp: espFile }),
    };
    const manifestKey = `${prefix}manifest.json`;
    await deps.objects.put(manifestKey, JSON.stringify(manifest, null, 2), 'application/json');
    const latest: LatestPointer = { schemaVersion: SNAPSHOT_SCHEMA_VERSION, runId, manifestKey, asOf: startedAt, counts: manifest.counts };
    await deps.objects.put(latestKey(audienceId), JSON.stringify(latest, null, 2), 'application/json');

    await deps.catalog.putRun(runScope(audienceId), {
      ...run,
      status: 'succeeded',
      finishedAt: new Date(deps.now()).toISOString(),
      progress: { ...manifest.counts, holdout: counts.holdout, manifestKey, ...(espFile && { espKey: espFile.key }) },
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

/** Members the export would have now, and the control group: from membership ids alone, unless consent must be read. */
export async function exportSize(audience: Audience, deps: Pick<SnapshotDeps, 'memberships' | 'profiles'>): Promise<{ members: number; holdout: number }> {
  const size = { members: 0, holdout: 0 };
  if (audience.consentChannel) {
    // Consent lives on the profiles: read them.
    for await (const { heldOut } of exportedMembers(audience, deps)) heldOut ? size.holdout++ : size.members++;
    return size;
  }
  let cursor: string | undefined;
  do {
    const page = await deps.memberships.members(audience.segmentId, cursor, 1000);
    for (const { profileId } of page.items) isHeldOut(profileId, audience) ? size.holdout++ : size.members++;
    cursor = page.cursor;
  } while (cursor);
  return size;
}

/**
 * Rows into parts of at most ROWS_PER_PART rows, each with its byte count and SHA-256. Text formats are
 * gzipped and streamed to S3 as they are written; Parquet is encoded a part at a time. An empty file
 * still gets one part (a CSV one holds its header), so consumers never special-case absence.
 */
export class PartWriter {
  private readonly files: ManifestFile[] = [];
  private current?: { key: string; rows: number; bytes: number; hash: Hash; gzip?: Transform; uploaded: Promise<void>; buffered: unknown[][] };
  private part = 0;
  /** Rows not yet handed to gzip: batched, as one write (and one CSV encoding) per row costs more than the compression. */
  private pending: Array<readonly unknown[]> = [];

  constructor(
    private readonly kind: SnapshotFileKind | 'holdout',
    private readonly encoding: Encoding,
    private readonly objects: ObjectStore,
    private readonly keyOf: (part: number) => string,
  ) {}

  async write(values: readonly unknown[]): Promise<void> {
    if (!this.current || this.current.rows >= ROWS_PER_PART) {
      await this.close();
      this.open();
    }
    const current = this.current!;
    current.rows++;
    if (this.encoding.binary) current.buffered.push([...values]);
    else {
      this.pending.push([...values]); // encoded at the flush: a copy, in case the caller reuses its row
      if (this.pending.length >= 1000) await this.flush();
    }
  }

  async finish(): Promise<ManifestFile[]> {
    if (!this.current && this.files.length === 0) this.open();
    await this.close();
    return this.files;
  }

  private async flush(): Promise<void> {
    const current = this.current!;
    const chunk = this.encoding.text!.lines(this.pending);
    this.pending = [];
    if (!current.gzip!.write(chunk)) {
      // Wait for the upload to take more, or for it to fail (then never wait for a drain that will not come).
      await Promise.race([once(current.gzip!, 'drain'), current.uploaded.then(() => Promise.reject(new Error(`upload of ${current.key} ended early`)))]);
    }
  }

  private open(): void {
    const state: NonNullable<PartWriter['current']> = { key: this.keyOf(this.part++), rows: 0, bytes: 0, hash: createHash('sha256'), uploaded: Promise.resolve(), buffered: [] };
    if (this.encoding.text) {
      const gzip = this.encoding.text.plain ? new PassThrough() : createGzip();
      const counted = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          state.hash.update(chunk);
          state.bytes += chunk.length;
          done(null, chunk);
        },
      });
      state.gzip = gzip;
      state.uploaded = this.objects.putStream(state.key, gzip.pipe(counted), this.encoding.contentType);
      state.uploaded.catch(() => undefined); // awaited in close(); a failure must not go unhandled meanwhile
      if (this.encoding.text.header) gzip.write(this.encoding.text.header);
    }
    this.current = state;
  }

  private async close(): Promise<void> {
    const current = this.current;
    if (!current) return;
    if (this.pending.length > 0) await this.flush();
    this.current = undefined;
    if (current.gzip) {
      current.gzip.end();
      await current.uploaded;
    } else {
      const body = Buffer.from(this.encoding.binary!(current.buffered));
      current.hash.update(body);
      current.bytes = body.length;
      await this.objects.put(current.key, body, this.encoding.contentType);
    }
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

/** Profile ids in files of a run, in order, read back part by part (CSV and JSON Lines as streams). */
export async function* idsInFiles(keys: readonly string[], format: Manifest['format'], objects: Pick<ObjectStore, 'get' | 'getStream'>): AsyncGenerator<string> {
  for (const key of keys) {
    if (format === 'parquet') {
      const body = await objects.get(key);
      if (!body) throw new Error(`run file ${key} is missing`);
      yield* await parquetProfileIds(body);
      continue;
    }
    const body = await objects.getStream(key);
    if (!body) throw new Error(`run file ${key} is missing`);
    yield* profileIdsOfText(format, body.pipe(createGunzip()));
  }
}

const memberIds = (manifest: Manifest | undefined, objects: ObjectStore): AsyncGenerator<string> =>
  idsInFiles(manifest?.files.filter((f) => f.kind === 'members').map((f) => f.key) ?? [], manifest?.format ?? 'csv.gz', objects);

/**
 * The file of the audience's ESP preset, written alongside the run in its own folder. Braze takes
 * changes (entered: true, left: false, by external id); the others take the full list.
 */
class EspWriter {
  private readonly preset: EspPreset;
  private readonly writer: PartWriter;
  private readonly key: string;
  private rows = 0;
  private skipped = 0;
  /** Braze needs the userId of members who left: read in batches, as they come. */
  private leaving: string[] = [];

  constructor(
    private readonly audience: Audience,
    runId: string,
    private readonly columns: readonly string[],
    private readonly deps: Pick<SnapshotDeps, 'objects' | 'profiles'>,
  ) {
    this.preset = audience.preset!;
    this.key = espFileKey(this.preset, audience.id, runId);
    const options = csvOptionsFor(columns);
    const encoding: Encoding =
      this.preset === 'braze'
        ? { contentType: 'text/csv', text: { header: BRAZE_HEADER, lines: (rows) => rows.map(([row]) => String(row)).join(''), plain: true } }
        : { contentType: 'text/csv', text: { header: csvRow(presetColumns(this.preset, columns)), lines: (rows) => csvRows(rows, options), plain: true } };
    this.writer = new PartWriter('members', encoding, deps.objects, () => this.key);
  }

  async member(row: readonly unknown[]): Promise<void> {
    if (this.preset !== 'braze') await this.write(row);
  }

  async added(profile: Profile, row: readonly unknown[]): Promise<void> {
    if (this.preset !== 'braze') return;
    const attributes = Object.fromEntries(this.columns.map((c, i) => [c.replace(/^(traits|indicators)\./, ''), row[i]]).filter(([c]) => c !== 'profileId' && c !== 'userId'));
    await this.brazeRow(brazeRow(this.audience.id, profile.identifiers.userId?.at(-1), true, attributes));
  }

  async removed(profileId: string): Promise<void> {
    if (this.preset !== 'braze') return;
    this.leaving.push(profileId);
    if (this.leaving.length >= 100) await this.flushLeaving();
  }

  async finish(): Promise<NonNullable<Manifest['esp']>> {
    await this.flushLeaving();
    const [file] = await this.writer.finish();
    return { preset: this.preset, key: this.key, rows: this.rows, bytes: file!.bytes, sha256: file!.sha256, skipped: this.skipped };
  }

  private async flushLeaving(): Promise<void> {
    const ids = this.leaving;
    this.leaving = [];
    const userIds = new Map((await this.deps.profiles.getMany(ids)).map((p) => [p.profileId, p.identifiers.userId?.at(-1)]));
    for (const id of ids) await this.brazeRow(brazeRow(this.audience.id, userIds.get(id), false));
  }

  private async brazeRow(line: string | undefined): Promise<void> {
    if (line === undefined) this.skipped++;
    else await this.write([line]);
  }

  private async write(values: readonly unknown[]): Promise<void> {
    this.rows++;
    await this.writer.write(values);
  }
}
