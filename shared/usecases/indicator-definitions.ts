/**
 * Indicator definitions (scores' weights, stages' thresholds, RFM and clustering settings): read with
 * their defaults, and changed by a new revision that re-evaluates every stored profile, and runs the
 * freeze now when a frozen indicator depends on it.
 */

import type { CustomerBaseModel } from '../domain/customer-base';
import {
  ALL_INDICATORS,
  DEFAULT_INDICATOR_SETTINGS,
  DEFINITION_IDS,
  type DefinitionId,
  definitionSchemas,
  FROZEN_INDICATORS,
  type IndicatorDefinition,
  type IndicatorSettings,
} from '../domain/indicator-settings';
import { NotFoundError } from '../errors';
import type { Logger } from '../logger';
import type { DefinitionStore, RunStore } from '../ports/catalog';
import type { EventQueue } from '../ports/event-queue';
import { FREEZE_SCOPE, INDICATORS_SCOPE, indicatorRunId } from './reevaluate';
import { type RequestJobDeps, requestFreeze } from './request-job';

export interface DefinitionDeps extends RequestJobDeps {
  catalog: Pick<DefinitionStore, 'indicators'> & Pick<RunStore, 'getRun' | 'putRun' | 'listRuns'>;
  queue: Pick<EventQueue, 'send'>;
  logger: Logger;
  now: () => number;
  /** Wait before the re-evaluation over stored profiles (see `segmentEvaluationDelaySeconds`). */
  segmentEvaluationDelaySeconds: number;
}

export function definitionIdOf(id: string): DefinitionId {
  if (!(DEFINITION_IDS as string[]).includes(id))
    throw new NotFoundError(`indicator definition ${id} (one of ${DEFINITION_IDS.join(', ')})`);
  return id as DefinitionId;
}

/** A definition as it applies now (its defaults when never changed), with its last re-evaluation. */
export async function definitionView(id: DefinitionId, stored: IndicatorDefinition | undefined, deps: Pick<DefinitionDeps, 'catalog'>) {
  return {
    id,
    revision: stored?.revision ?? 0,
    isDefault: stored === undefined,
    settings: stored?.settings ?? DEFAULT_INDICATOR_SETTINGS[id],
    defaults: DEFAULT_INDICATOR_SETTINGS[id],
    indicators: ALL_INDICATORS.filter((i) => i.definitions.includes(id)).map((i) => i.id),
    ...(stored && {
      updatedAt: stored.updatedAt,
      evaluation: (await deps.catalog.getRun(INDICATORS_SCOPE, indicatorRunId(id, stored.revision))) ?? null,
    }),
  };
}

export async function listDefinitions(deps: Pick<DefinitionDeps, 'catalog'>) {
  const stored = new Map((await deps.catalog.indicators.list()).map((d) => [d.id, d]));
  return Promise.all(DEFINITION_IDS.map((id) => definitionView(id, stored.get(id), deps)));
}

export async function saveDefinition(id: DefinitionId, input: unknown, deps: DefinitionDeps) {
  const settings = definitionSchemas[id].parse(input) as IndicatorSettings[typeof id];
  const existing = await deps.catalog.indicators.get(id);
  const definition: IndicatorDefinition = {
    id,
    revision: (existing?.revision ?? 0) + 1,
    settings,
    updatedAt: new Date(deps.now()).toISOString(),
  };
  await deps.catalog.indicators.put(definition);
  // Stage segments and segments comparing indicators may move for any stored profile: walk them all.
  await deps.catalog.putRun(INDICATORS_SCOPE, {
    runId: indicatorRunId(id, definition.revision),
    status: 'requested',
    startedAt: new Date(deps.now()).toISOString(),
  });
  await deps.queue.send(
    { v: 1, kind: 'evaluate-indicators', definition: id, revision: definition.revision },
    deps.segmentEvaluationDelaySeconds,
  );
  // Frozen indicators change with the next freeze: run it now rather than tomorrow.
  const freezeRunId = FROZEN_INDICATORS.some((i) => i.definitions.includes(id)) ? await requestFreeze(deps) : undefined;
  deps.logger.info('indicator definition saved', { definition: id, revision: definition.revision, freezeRunId });
  return { definition: { ...(await definitionView(id, definition, deps)), ...(freezeRunId && { freezeRunId }) }, created: !existing };
}

/** The latest succeeded freeze whose run record holds `key` (what it fitted), or a 404 that says why there is none. */
async function latestFitted(deps: Pick<DefinitionDeps, 'catalog'>, key: 'clusters' | 'customerBase', missing: NotFoundError) {
  const run = (await deps.catalog.listRuns(FREEZE_SCOPE, 30)).find((r) => r.status === 'succeeded' && r.progress?.[key]);
  if (!run) throw missing;
  return { run, fitted: run.progress![key] as object };
}

/** The clusters of the latest freeze that fitted some, with their descriptions. */
export async function latestClusters(deps: Pick<DefinitionDeps, 'catalog'>) {
  const { run, fitted } = await latestFitted(
    deps,
    'clusters',
    new NotFoundError(
      'clusters',
      'no clusters yet: a freeze fits them once enough people have interactions (at least 10 in its sample); POST /v1/jobs/freeze runs one now',
    ),
  );
  return { runId: run.runId, frozenAt: run.finishedAt, ...fitted };
}

/** The customer-base models of the last freeze that could fit them: parameters, fit and the customers behind them. */
export async function latestCustomerModels(deps: Pick<DefinitionDeps, 'catalog'>) {
  // Why the latest freeze fitted none, when it says: more use than the general rule.
  const latest = (await deps.catalog.listRuns(FREEZE_SCOPE, 30)).find((r) => r.status === 'succeeded');
  const why = latest?.progress?.customerBaseUnfitted;
  const { run, fitted } = await latestFitted(
    deps,
    'customerBase',
    new NotFoundError(
      'customer models',
      `no customer-base models yet: ${typeof why === 'string' ? `the last freeze fitted none (${why})` : "a freeze fits them once there are enough customers (customer_value's minCustomers and minRepeatCustomers)"}; POST /v1/jobs/freeze runs one now`,
    ),
  );
  return {
    runId: run.runId,
    frozenAt: run.finishedAt,
    asOf: (run.progress!.asOf as string | undefined) ?? run.startedAt,
    timeUnit: 'weeks',
    ...(fitted as CustomerBaseModel),
  };
}
