/**
 * Writes an audience snapshot to S3: member parts, added/removed deltas against
 * the previous run, then `manifest.json`, then `latest.json` last, so a reader
 * that follows `latest.json` only ever sees a complete run.
 */

import { DETAIL_TYPES } from '../contracts/detail-types';
import { exportColumns, holdReason, isGroupTraitField } from '../domain/audiences';
import {
  type Encoding,
  encodingFor,
  FORMAT_EXTENSIONS,
  holdoutFileKey,
  type LatestPointer,
  latestKey,
  type Manifest,
  partFileName,
  runPrefix,
  SNAPSHOT_SCHEMA_VERSION,
  type SnapshotFileKind,
} from '../domain/snapshot-files';
import { fieldValue } from '../domain/snapshot-rows';
import { NotFoundError } from '../errors';
import type { Logger } from '../logger';
import type { CatalogStore, RunRecord } from '../ports/catalog';
import type { EventPublisher } from '../ports/event-publisher';
import type { FrozenStore } from '../ports/frozen';
import type { GroupStore } from '../ports/groups';
import type { MembershipStore } from '../ports/memberships';
import type { MetricsRecorder } from '../ports/metrics';
import type { ObjectStore } from '../ports/objects';
import type { ProfileStore } from '../ports/profiles';
import { exportedMembers, exportSize, isFrozenColumn } from './audience-export';
import { EspWriter } from './esp-writer';
import { indicatorModel } from './managed-segments';
import { PartWriter } from './snapshot-parts';
import { memberIds, readLatest } from './snapshot-reader';

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
  /** Runs by how they ended, and the rows published. */
  metrics?: MetricsRecorder;
}

export const runScope = (audienceId: string): string => `audience#${audienceId}`;

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
        {
          detailType: DETAIL_TYPES.snapshotHeld,
          detail: { version: 1, audienceId, runId, reason: held, members: size.members, approvedSize: audience.approval?.size ?? null },
        },
      ]);
      deps.metrics?.add('snapshotRuns', 1, { status: 'held' });
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
    for await (const { profile, heldOut, frozen, groups } of exportedMembers(audience, {
      ...deps,
      withFrozen: columns.some(isFrozenColumn),
      withGroups: columns.some(isGroupTraitField),
    })) {
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
    deps.metrics?.add('snapshotRuns', 1, { status: 'published' });
    deps.metrics?.add('snapshotRows', manifest.counts.members, {});
    deps.logger.info('snapshot published', { audienceId, runId, ...manifest.counts, holdout: counts.holdout });
    return manifest;
  } catch (error) {
    await deps.catalog.putRun(runScope(audienceId), {
      ...run,
      status: 'failed',
      finishedAt: new Date(deps.now()).toISOString(),
      error: (error as Error).message,
    });
    deps.metrics?.add('snapshotRuns', 1, { status: 'failed' });
    throw error;
  }
}
