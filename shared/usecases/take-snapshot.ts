/**
 * Writes an audience snapshot to S3: member parts, added/removed deltas against
 * the previous run, then `manifest.json`, then `latest.json` last, so a reader
 * that follows `latest.json` only ever sees a complete run.
 */

import { DETAIL_TYPES } from '../contracts/detail-types';
import { exportColumns, holdReason, isGroupTraitField } from '../domain/audiences';
import { controlOf, exportedVariants } from '../domain/experiments';
import {
  encodingFor,
  FORMAT_EXTENSIONS,
  holdoutFileKey,
  type LatestPointer,
  latestKey,
  type Manifest,
  partFileName,
  runPrefix,
  SNAPSHOT_SCHEMA_VERSION,
  variantFolder,
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
import { type ListFiles, ListWriter } from './snapshot-list';
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
 * With an experiment, each exported variant is a list of its own, compared with its previous list.
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
    const holdBack = holdReason(audience, size.members, size.variants);
    if (holdBack) {
      await deps.catalog.putRun(runScope(audienceId), {
        ...run,
        status: 'held',
        finishedAt: new Date(deps.now()).toISOString(),
        progress: {
          members: size.members,
          holdout: size.holdout,
          ...(size.variants && { variants: size.variants }),
          approvedSize: audience.approval?.size ?? null,
        },
        error: holdBack,
      });
      await deps.publisher.publish([
        {
          detailType: DETAIL_TYPES.snapshotHeld,
          detail: { version: 1, audienceId, runId, reason: holdBack, members: size.members, approvedSize: audience.approval?.size ?? null },
        },
      ]);
      deps.metrics?.add('snapshotRuns', 1, { status: 'held' });
      deps.logger.warn('snapshot held, not published', { audienceId, runId, reason: holdBack, members: size.members });
      return undefined;
    }

    const previous = await readLatest(audienceId, deps.objects);
    const columns = exportColumns(audience);
    const prefix = runPrefix(audienceId, runId);
    const encodings = { rows: encodingFor(audience.format, columns), ids: encodingFor(audience.format, ['profileId']) };
    // One list for the audience, or one per exported variant, each with its deltas and its ESP file.
    const variants = audience.experiment ? exportedVariants(audience.experiment) : undefined;
    const names: Array<string | undefined> = variants?.map((v) => v.name) ?? [undefined];
    // A list the previous run had and this one does not (an experiment started or stopped, a variant renamed,
    // dropped or made the holdout) is closed: written empty, so its members are removed and its ESP told so.
    const closing = previousLists(previous?.manifest).filter((name) => !names.includes(name));
    const lists = new Map<string | undefined, ListWriter>();
    for (const variant of [...names, ...closing]) {
      const folder = variant === undefined ? prefix : `${prefix}${variantFolder(variant)}`;
      lists.set(
        variant,
        await ListWriter.open({
          previous: memberIds(previous?.manifest, deps.objects, variant),
          keyOf: (kind, part) => `${folder}${partFileName(kind, part, audience.format)}`,
          encodings,
          objects: deps.objects,
          esp: audience.preset ? new EspWriter(audience, runId, columns, deps, variant) : undefined,
          variant,
        }),
      );
    }
    // The control group, recorded outside the audience's folder (ESPs read that one), for uplift later.
    const holdoutVariant = audience.experiment?.variants.find((v) => v.holdout);
    const holdoutKey = audience.holdoutPercent > 0 || holdoutVariant ? holdoutFileKey(audienceId, runId) : undefined;
    const holdout = holdoutKey
      ? new PartWriter('holdout', encodingFor('csv', ['profileId']), deps.objects, () => holdoutKey, Infinity)
      : undefined;
    const needsIndicators = columns.some((c) => c.startsWith('indicators.'));
    const model = needsIndicators ? await indicatorModel(deps.catalog) : undefined;
    const now = deps.now();
    let held = 0;
    let members = 0;

    for await (const { profile, heldOut, variant, frozen, groups } of exportedMembers(audience, {
      ...deps,
      withFrozen: columns.some(isFrozenColumn),
      withGroups: columns.some(isGroupTraitField),
    })) {
      if (heldOut) {
        await holdout?.write([profile.profileId]);
        held++;
        continue;
      }
      const indicators = model && { ...model.valuesOf(profile, now), ...frozen };
      await lists.get(variant?.name)!.member(
        profile,
        columns.map((field) => fieldValue(profile, field, indicators, groups)),
      );
      if (++members % 100_000 === 0) deps.logger.info('snapshot progress', { audienceId, runId, members });
    }
    const written = new Map<string | undefined, ListFiles>();
    for (const [variant, list] of lists) written.set(variant, await list.finish());
    if (holdout) await holdout.finish();
    const all = [...written.values()];
    const files = (['members', 'added', 'removed'] as const).flatMap((kind) =>
      all.flatMap((list) => list.files.filter((f) => f.kind === kind)),
    );
    const sum = (kind: 'members' | 'added' | 'removed') => all.reduce((total, list) => total + list.counts[kind], 0);
    const espFile = written.get(undefined)?.esp;

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
      counts: { members: sum('members'), added: sum('added'), removed: sum('removed') },
      files,
      ...(holdoutKey && {
        holdout: {
          percent: holdoutVariant?.percent ?? audience.holdoutPercent,
          members: held,
          key: holdoutKey,
          ...(holdoutVariant && { variant: holdoutVariant.name }),
        },
      }),
      ...(espFile && { esp: espFile }),
      ...((variants || closing.some((name) => name !== undefined)) && {
        variants: [
          ...(variants ?? []).map(({ name, percent }) => ({ name, percent, ...variantFiles(written.get(name)!) })),
          ...closing.flatMap((name) =>
            name === undefined ? [] : [{ name, percent: 0, closed: true, ...variantFiles(written.get(name)!) }],
          ),
        ],
      }),
      ...(audience.experiment && { control: controlOf(audience.experiment) }),
    };
    const manifestKey = `${prefix}manifest.json`;
    await deps.objects.put(manifestKey, JSON.stringify(manifest, null, 2), 'application/json');
    const latest: LatestPointer = { schemaVersion: SNAPSHOT_SCHEMA_VERSION, runId, manifestKey, asOf: startedAt, counts: manifest.counts };
    await deps.objects.put(latestKey(audienceId), JSON.stringify(latest, null, 2), 'application/json');

    await deps.catalog.putRun(runScope(audienceId), {
      ...run,
      status: 'succeeded',
      finishedAt: new Date(deps.now()).toISOString(),
      progress: {
        ...manifest.counts,
        holdout: held,
        manifestKey,
        ...(espFile && { espKey: espFile.key }),
        ...(manifest.variants && {
          variants: manifest.variants.map(({ name, counts, esp, closed }) => ({
            name,
            ...counts,
            ...(esp && { espKey: esp.key }),
            ...(closed && { closed }),
          })),
        }),
      },
    });
    await deps.publisher.publish([
      { detailType: DETAIL_TYPES.snapshotPublished, detail: { version: 1, audienceId, runId, manifestKey, counts: manifest.counts } },
    ]);
    deps.metrics?.add('snapshotRuns', 1, { status: 'published' });
    deps.metrics?.add('snapshotRows', manifest.counts.members, {});
    deps.logger.info('snapshot published', { audienceId, runId, ...manifest.counts, holdout: held });
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

/** The lists a run wrote members to: the audience's (undefined), or its variants'. */
const previousLists = (manifest: Manifest | undefined): Array<string | undefined> => [
  ...new Set(manifest?.files.filter((f) => f.kind === 'members' && f.rows > 0).map((f) => f.variant)),
];

const variantFiles = (list: ListFiles) => ({ counts: list.counts, ...(list.esp && { esp: list.esp }) });
