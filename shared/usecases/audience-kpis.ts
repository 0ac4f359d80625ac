/**
 * Audience KPIs: size over time from its runs, and conversion (an order after the export) of one run's
 * groups: the exported members against the holdout group, or each variant of an experiment against its
 * control, with intervals and a significance test: the uplift the campaign can claim.
 */

import { compareVariants, type VariantResult } from '../domain/experiments';
import { orderedSince } from '../domain/indicators';
import type { Manifest } from '../domain/snapshot-files';
import { NotFoundError } from '../errors';
import type { DefinitionStore, RunStore } from '../ports/catalog';
import type { ObjectStore } from '../ports/objects';
import type { ProfileStore } from '../ports/profiles';
import { indicatorModel } from './managed-segments';
import { idsInFiles, memberFileKeys } from './snapshot-reader';
import { runScope } from './take-snapshot';

export interface GroupConversion {
  members: number;
  converted: number;
  rate: number | null;
}

export interface Conversion {
  runId: string;
  exportedAt: string;
  /** False when the time budget ran out: figures over the members read so far (the same share of each group). */
  complete: boolean;
  /** All exported members (every exported variant). */
  exported: GroupConversion;
  /** The control group, or the experiment's holdout variant. */
  holdout: GroupConversion | null;
  /** Exported rate minus holdout rate, in points; null without a holdout. */
  uplift: number | null;
  /** The group the others are compared with: the experiment's control, or `holdout`. */
  control: string | null;
  /** Each group with its interval, and against the control its uplift, test and verdict. */
  variants: VariantResult[];
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

/** The groups of a run whose conversion is compared: its experiment's variants, or its export and holdout. */
function groupsOf(manifest: Manifest): { control: string | null; groups: Group[] } {
  const holdout = manifest.holdout;
  const heldOut = (name: string): Group => ({ name, holdout: true, keys: [holdout!.key], format: 'csv.gz' });
  if (manifest.control !== undefined) {
    const exported = (manifest.variants ?? [])
      .filter((v) => !v.closed)
      .map((v): Group => ({ name: v.name, holdout: false, keys: memberFileKeys(manifest, v.name), format: manifest.format }));
    return { control: manifest.control, groups: holdout?.variant ? [...exported, heldOut(holdout.variant)] : exported };
  }
  const exported: Group = { name: 'exported', holdout: false, keys: memberFileKeys(manifest), format: manifest.format };
  return holdout ? { control: 'holdout', groups: [exported, heldOut('holdout')] } : { control: null, groups: [exported] };
}

interface Group {
  name: string;
  holdout: boolean;
  keys: string[];
  format: Manifest['format'];
}

const rateOf = ({ members, converted }: { members: number; converted: number }): GroupConversion => ({
  members,
  converted,
  rate: members === 0 ? null : Math.round((converted / members) * 10_000) / 10_000,
});

/**
 * Who ordered after the export, per group. Within the time budget, the group read least (as a share of
 * its size) is read next: when the budget runs out, every group is measured on the same share.
 */
export async function conversion(manifest: Manifest, deps: KpiDeps, budgetMs: number): Promise<Conversion> {
  const model = await indicatorModel(deps.catalog);
  const since = Date.parse(manifest.asOf);
  const started = Date.now();
  const { control, groups } = groupsOf(manifest);
  const states: Array<Group & { ids: string[]; read: number; members: number; converted: number }> = [];
  for (const group of groups) {
    const ids: string[] = [];
    for await (const id of idsInFiles(group.keys, group.format, deps.objects)) ids.push(id);
    states.push({ ...group, ids, read: 0, members: 0, converted: 0 });
  }
  const share = (s: (typeof states)[number]) => (s.ids.length === 0 ? 1 : s.read / s.ids.length);
  let complete = true;
  for (;;) {
    const next = states.filter((s) => s.read < s.ids.length).sort((a, b) => share(a) - share(b))[0];
    if (!next) break;
    if (Date.now() - started > budgetMs) {
      complete = false;
      break;
    }
    const batch = next.ids.slice(next.read, next.read + 100);
    next.read += batch.length;
    for (const profile of await deps.profiles.getMany(batch)) {
      next.members++;
      if (orderedSince(profile, since, model)) next.converted++;
    }
  }
  const variants = compareVariants(
    states.map((s) => ({ name: s.name, holdout: s.holdout, members: s.members, converted: s.converted })),
    control ?? '',
  );
  const total = (list: typeof states) => ({
    members: list.reduce((sum, s) => sum + s.members, 0),
    converted: list.reduce((sum, s) => sum + s.converted, 0),
  });
  const exported = rateOf(total(states.filter((s) => !s.holdout)));
  const holdout = states.some((s) => s.holdout) ? rateOf(total(states.filter((s) => s.holdout))) : null;
  const uplift = holdout?.rate != null && exported.rate != null ? Math.round((exported.rate - holdout.rate) * 10_000) / 100 : null;
  return { runId: manifest.runId, exportedAt: manifest.asOf, complete, exported, holdout, uplift, control, variants };
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
    conversion: manifest ? await conversion(manifest, deps, deps.previewBudgetMs) : null,
  };
}
