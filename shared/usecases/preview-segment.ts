/**
 * A condition's size and a sample of its members before it is saved: stored profiles are scanned
 * within a time budget, so the answer is exact when `complete` and a lower bound over `scanned`
 * otherwise.
 */

import { isFrozenIndicator } from '../domain/indicator-settings';
import type { IndicatorModel } from '../domain/indicators';
import { compile } from '../domain/segment-compiler';
import type { Condition } from '../domain/segment-definition';
import { aggregateSpecsOf, dependenciesOf } from '../domain/segment-dependencies';
import type { DefinitionStore } from '../ports/catalog';
import type { FrozenStore } from '../ports/frozen';
import type { GroupStore } from '../ports/groups';
import type { ProfileStore } from '../ports/profiles';
import { GroupTraitsReader } from './group-traits';
import { segmentsWithModel } from './managed-segments';
import { checkReferences } from './save-segment';

export interface PreviewDeps {
  catalog: DefinitionStore;
  profiles: Pick<ProfileStore, 'scan'>;
  frozen: Pick<FrozenStore, 'getMany'>;
  groups: Pick<GroupStore, 'getMany'>;
  now: () => number;
  /** How long a preview may scan profiles before answering with a partial count. */
  previewBudgetMs: number;
}

export interface PreviewRequest {
  condition: Condition;
  sampleSize?: number;
  /** A shorter scan than the server's budget: a quick lower bound while someone is still typing. */
  budgetMs?: number;
}

export async function previewSegment({ condition, sampleSize, budgetMs }: PreviewRequest, deps: PreviewDeps) {
  const { segments, model } = await segmentsWithModel(deps.catalog);
  checkReferences([...segments, { id: '(preview)', condition }]);
  // Filtered figures, sequences and the occurrences at rolling windows' edges only exist once a saved segment (or an indicator) asks for them.
  const maintained = new Set([
    ...model.specs.map((spec) => spec.id),
    ...segments.flatMap((s) => aggregateSpecsOf(s.condition).map((spec) => spec.id)),
  ]);
  const missing = aggregateSpecsOf(condition).filter((spec) => !maintained.has(spec.id));
  const preview = await scanMatches(condition, model, deps, { sampleSize, budgetMs });
  return {
    ...preview,
    ...(missing.length > 0 && {
      warning: `${missing.length} part(s) of this condition (property filters, figures, sequences or the latest occurrences a rolling window reads at its edge) are not kept yet, so this preview undercounts them: saving the segment starts keeping them and backfills them from the event archive`,
    }),
  };
}

async function scanMatches(
  condition: Condition,
  model: IndicatorModel,
  deps: PreviewDeps,
  options: { sampleSize?: number; budgetMs?: number },
) {
  const budget = Math.min(options.budgetMs ?? Infinity, deps.previewBudgetMs);
  const sampleSize = options.sampleSize ?? 10;
  const matches = compile(condition);
  const dependencies = dependenciesOf(condition);
  const needsFrozen = dependencies.indicators.some(isFrozenIndicator);
  // Read once per group for the whole preview: the people of one account share it.
  const groups = dependencies.groupTraits.length > 0 ? new GroupTraitsReader(deps.groups) : undefined;
  const started = Date.now();
  const now = deps.now();
  const sample: Array<{ profileId: string; userId?: string; email?: string }> = [];
  let size = 0;
  let scanned = 0;
  let cursor: string | undefined;
  do {
    const page = await deps.profiles.scan(cursor, 1000);
    const frozen = needsFrozen
      ? new Map((await deps.frozen.getMany(page.items.map((p) => p.profileId))).map((r) => [r.profileId, r.values]))
      : undefined;
    await groups?.prefetch(page.items);
    for (const profile of page.items) {
      if (profile.mergedInto) continue;
      scanned++;
      const groupTraits = await groups?.traitsOf(profile);
      if (
        !matches(
          profile,
          now,
          new Set(profile.segments),
          { ...model.valuesOf(profile, now), ...frozen?.get(profile.profileId) },
          groupTraits,
        )
      )
        continue;
      size++;
      if (sample.length < sampleSize)
        sample.push({ profileId: profile.profileId, userId: profile.identifiers.userId?.at(-1), email: profile.identifiers.email?.at(-1) });
    }
    cursor = page.cursor;
  } while (cursor && Date.now() - started < budget);
  return { size, complete: cursor === undefined, scanned, sample, durationMs: Date.now() - started };
}
