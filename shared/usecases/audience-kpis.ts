/**
 * Audience KPIs: size over time from its runs, and conversion of the exported members against the
 * holdout group of one run (an order after the export): the uplift the campaign can claim.
 */

import { orderedSince } from '../domain/indicators';
import type { Manifest } from '../domain/snapshot-files';
import { NotFoundError } from '../errors';
import type { DefinitionStore, RunStore } from '../ports/catalog';
import type { ObjectStore } from '../ports/objects';
import type { ProfileStore } from '../ports/profiles';
import { indicatorModel } from './managed-segments';
import { idsInFiles } from './snapshot-reader';
import { runScope } from './take-snapshot';

export interface GroupConversion {
  members: number;
  converted: number;
  rate: number | null;
}

export interface Conversion {
  runId: string;
  exportedAt: string;
  /** False when the time budget ran out: figures over the members read so far. */
  complete: boolean;
  exported: GroupConversion;
  holdout: GroupConversion | null;
  /** Exported rate minus holdout rate, in points; null without a holdout. */
  uplift: number | null;
}

export interface KpiDeps {
  catalog: DefinitionStore & RunStore;
  profiles: Pick<ProfileStore, 'getMany'>;
  objects: Pick<ObjectStore, 'get' | 'getStream'>;
}

/** Snapshot runs, newest first, as points of the audience's size over time. */
export async function audienceSizes(audienceId: string, deps: Pick<KpiDeps, 'catalog'>, limit: number) {
  const runs = await deps.catalog.listRuns(runScope(audienceId), limit);
  return runs.map((run) => ({
    runId: run.runId,
    at: run.startedAt,
    status: run.status,
    members: run.progress?.members ?? null,
    added: run.progress?.added ?? null,
    removed: run.progress?.removed ?? null,
    holdout: run.progress?.holdout ?? null,
  }));
}

/** The profile ids of files of a run (the export's members, the holdout group). */
async function idsOf(keys: readonly string[], format: Manifest['format'], objects: KpiDeps['objects']): Promise<string[]> {
  const ids: string[] = [];
  for await (const id of idsInFiles(keys, format, objects)) ids.push(id);
  return ids;
}

export async function conversion(manifest: Manifest, deps: KpiDeps, budgetMs: number): Promise<Conversion> {
  if (manifest.format !== 'csv.gz') throw new Error('conversion is measured on CSV runs');
  const model = await indicatorModel(deps.catalog);
  const since = Date.parse(manifest.asOf);
  const started = Date.now();
  let complete = true;
  const measure = async (ids: readonly string[]): Promise<GroupConversion> => {
    let members = 0;
    let converted = 0;
    for (let i = 0; i < ids.length; i += 100) {
      if (Date.now() - started > budgetMs) {
        complete = false;
        break;
      }
      for (const profile of await deps.profiles.getMany(ids.slice(i, i + 100))) {
        members++;
        if (orderedSince(profile, since, model)) converted++;
      }
    }
    return { members, converted, rate: members === 0 ? null : Math.round((converted / members) * 10_000) / 10_000 };
  };
  const exported = await measure(
    await idsOf(
      manifest.files.filter((f) => f.kind === 'members').map((f) => f.key),
      manifest.format,
      deps.objects,
    ),
  );
  const holdout = manifest.holdout ? await measure(await idsOf([manifest.holdout.key], 'csv.gz', deps.objects)) : null;
  const uplift = holdout?.rate != null && exported.rate != null ? Math.round((exported.rate - holdout.rate) * 10_000) / 100 : null;
  return { runId: manifest.runId, exportedAt: manifest.asOf, complete, exported, holdout, uplift };
}

/** Sizes over the last `limit` runs, and the conversion of one published run (`runId`, or the latest). */
export async function audienceKpis(
  audienceId: string,
  request: { runId?: string; limit: number },
  deps: KpiDeps & { previewBudgetMs: number },
) {
  const audience = await deps.catalog.audiences.get(audienceId);
  if (!audience) throw new NotFoundError(`audience ${audienceId}`);
  const sizes = await audienceSizes(audience.id, deps, request.limit);
  // Conversion of a published run (the latest by default): exported members against the holdout.
  const runId = request.runId ?? sizes.find((s) => s.status === 'succeeded')?.runId;
  const run = runId === undefined ? undefined : await deps.catalog.getRun(runScope(audience.id), runId);
  if (request.runId && !run) throw new NotFoundError(`snapshot run ${request.runId}`);
  const manifestKey = run?.progress?.manifestKey;
  const manifest =
    typeof manifestKey === 'string' ? (JSON.parse((await deps.objects.get(manifestKey))!.toString()) as Manifest) : undefined;
  return {
    audienceId: audience.id,
    segmentId: audience.segmentId,
    sizes,
    conversion: manifest && manifest.format === 'csv.gz' ? await conversion(manifest, deps, deps.previewBudgetMs) : null,
  };
}
