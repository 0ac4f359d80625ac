/**
 * Writes an audience snapshot to S3: member parts, added/removed deltas against
 * the previous run, then `manifest.json`, then `latest.json` last, so a reader
 * that follows `latest.json` only ever sees a complete run.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { CatalogStore, RunRecord } from '../adapters/dynamodb/catalog-store';
import type { MembershipStore } from '../adapters/dynamodb/membership-store';
import type { ProfileStore } from '../adapters/dynamodb/profile-store';
import { DETAIL_TYPES, type EventPublisher } from '../adapters/eventbridge/event-publisher';
import type { ObjectStore } from '../adapters/s3/object-store';
import {
  ROWS_PER_PART,
  SNAPSHOT_SCHEMA_VERSION,
  csvRow,
  diffSortedIds,
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
    const previous = await readLatest(audienceId, deps.objects);
    const previousIds = previous ? await readMemberIds(previous.manifest, deps.objects) : [];

    const columns = exportColumns(audience);
    const ids: string[] = [];
    const rows: string[] = [];
    const holdout: string[] = [];
    for await (const { profile, heldOut } of exportedMembers(audience, deps)) {
      if (heldOut) {
        holdout.push(profile.profileId);
        continue;
      }
      ids.push(profile.profileId);
      rows.push(csvRow(columns.map((field) => fieldValue(profile, field))));
    }

    const held = holdReason(audience, ids.length);
    if (held) {
      await deps.catalog.putRun(runScope(audienceId), {
        ...run,
        status: 'held',
        finishedAt: new Date(deps.now()).toISOString(),
        progress: { members: ids.length, holdout: holdout.length, approvedSize: audience.approval?.size ?? null },
        error: held,
      });
      await deps.publisher.publish([
        { detailType: DETAIL_TYPES.snapshotHeld, detail: { version: 1, audienceId, runId, reason: held, members: ids.length, approvedSize: audience.approval?.size ?? null } },
      ]);
      deps.logger.warn('snapshot held, not published', { audienceId, runId, reason: held, members: ids.length });
      return undefined;
    }

    const { added, removed } = diffSortedIds(previousIds, ids);
    const addedSet = new Set(added);
    const prefix = runPrefix(audienceId, runId);
    const files = [
      ...(await writeParts(prefix, 'members', csvRow(columns), rows, deps.objects)),
      ...(await writeParts(prefix, 'added', csvRow(columns), rows.filter((_, i) => addedSet.has(ids[i]!)), deps.objects)),
      ...(await writeParts(prefix, 'removed', csvRow(['profileId']), removed.map((id) => csvRow([id])), deps.objects)),
    ];

    // The control group, recorded outside the audience's folder (ESPs read that one), for uplift later.
    const holdoutKey = audience.holdoutPercent > 0 ? holdoutFileKey(audienceId, runId) : undefined;
    if (holdoutKey) await deps.objects.put(holdoutKey, gzipSync(csvRow(['profileId']) + holdout.map((id) => csvRow([id])).join('')), 'application/gzip');

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
      counts: { members: ids.length, added: added.length, removed: removed.length },
      files,
      ...(holdoutKey && { holdout: { percent: audience.holdoutPercent, members: holdout.length, key: holdoutKey } }),
    };
    const manifestKey = `${prefix}manifest.json`;
    await deps.objects.put(manifestKey, JSON.stringify(manifest, null, 2), 'application/json');
    const latest: LatestPointer = { schemaVersion: SNAPSHOT_SCHEMA_VERSION, runId, manifestKey, asOf: startedAt, counts: manifest.counts };
    await deps.objects.put(latestKey(audienceId), JSON.stringify(latest, null, 2), 'application/json');

    await deps.catalog.putRun(runScope(audienceId), {
      ...run,
      status: 'succeeded',
      finishedAt: new Date(deps.now()).toISOString(),
      progress: { ...manifest.counts, holdout: holdout.length, manifestKey },
    });
    await deps.publisher.publish([
      { detailType: DETAIL_TYPES.snapshotPublished, detail: { version: 1, audienceId, runId, manifestKey, counts: manifest.counts } },
    ]);
    deps.logger.info('snapshot published', { audienceId, runId, ...manifest.counts });
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

async function writeParts(
  prefix: string,
  kind: SnapshotFileKind,
  header: string,
  rows: readonly string[],
  objects: ObjectStore,
): Promise<ManifestFile[]> {
  const files: ManifestFile[] = [];
  // An empty delta still gets one file, so consumers never have to special-case absence.
  for (let part = 0; part === 0 || part * ROWS_PER_PART < rows.length; part++) {
    const chunk = rows.slice(part * ROWS_PER_PART, (part + 1) * ROWS_PER_PART);
    const body = gzipSync(header + chunk.join(''));
    const key = `${prefix}${partFileName(kind, part)}`;
    await objects.put(key, body, 'application/gzip');
    files.push({ key, kind, rows: chunk.length, bytes: body.length, sha256: sha256(body) });
  }
  return files;
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

/** Profile ids of a run's member files; ids are Prisme's own and never need CSV quoting. */
async function readMemberIds(manifest: Manifest, objects: ObjectStore): Promise<string[]> {
  const ids: string[] = [];
  for (const file of manifest.files.filter((f) => f.kind === 'members')) {
    const body = await objects.get(file.key);
    if (!body) throw new Error(`previous run file ${file.key} is missing`);
    const lines = gunzipSync(body).toString().split('\n');
    for (const line of lines.slice(1)) {
      if (!line) continue;
      const comma = line.indexOf(',');
      ids.push(comma === -1 ? line : line.slice(0, comma));
    }
  }
  return ids;
}
