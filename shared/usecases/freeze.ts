/**
 * The daily freeze: frozen indicators for every profile, then memberships re-evaluated as of now.
 * Two passes, each fanned out over parallel scan segments by `Freeze Requested` events (one
 * invocation per segment, so 10 million profiles spread over as many workers as segments):
 *
 * 1. `measure`: each worker feeds mergeable accumulators (quantile sketches, moments, a reservoir
 *    sample, the customers' weighted rows) and stores them as run parts. The last to finish merges
 *    them and fits the model (quintile boundaries, population purchase rate, clusters, the BG/NBD and
 *    Gamma-Gamma customer-base models), once, guarded by the run's phase.
 * 2. `score`: each worker scores its profiles, writes the frozen values that changed to the frozen
 *    table (outside the hot item), and re-evaluates memberships with them. The last to finish
 *    closes the run with its figures and the clusters' descriptions.
 *
 * A worker near its time limit stores its state and hands its cursor to a fresh invocation.
 * Memory per worker is bounded by one page of profiles and its accumulators.
 */

import { DETAIL_TYPES } from '../contracts/detail-types';
import { newRunId } from '../domain/audiences';
import type { SerialisedCustomerBase } from '../domain/customer-base';
import {
  type FreezeModel,
  type FrozenValues,
  featuresOf,
  fitModel,
  Measure,
  type SerialisedMeasure,
  scoreProfile,
  seededRandom,
} from '../domain/frozen';
import type { Logger } from '../logger';
import type { CatalogStore, RunRecord } from '../ports/catalog';
import type { EventPublisher } from '../ports/event-publisher';
import type { FrozenStore } from '../ports/frozen';
import type { MembershipStore } from '../ports/memberships';
import type { MetricsRecorder } from '../ports/metrics';
import { freezeSettings } from '../resources';
import { loadRules } from './managed-segments';
import { FREEZE_SCOPE, PROFILES_PER_PAGE, type ReevaluateDeps } from './reevaluate';
import { reconcileSizes } from './segment-sizes';

export interface FreezeDeps extends ReevaluateDeps {
  catalog: CatalogStore;
  /** Counted by the last worker, to set the segments' size counters right. */
  memberships: Pick<MembershipStore, 'count'>;
  frozen: FrozenStore;
  publisher: EventPublisher;
  logger: Logger;
  now: () => number;
  /** Parallel scan segments of the profiles table, one worker each (default `freezeSettings.scanSegments`). */
  scanSegments?: number;
  /** Runs by how they ended, with the duration and profiles of those that succeeded. */
  metrics?: MetricsRecorder;
}

type Phase = 'measure' | 'score';
/** A `Freeze Requested` event's detail: a start without `phase`, else one worker of a pass. */
export interface FreezeDetail {
  runId?: string;
  /** Epoch ms the indicators are computed as of, when not now: for histories imported up to that day. */
  asOf?: number;
  phase?: Phase;
  /** The worker's parallel scan segment, of `segments`. */
  segment?: number;
  segments?: number;
  cursor?: string;
  /** Counts of this segment so far, carried across hand-offs. */
  profiles?: number;
  transitions?: number;
  written?: number;
}
interface MeasurePart {
  done: boolean;
  profiles: number;
  measure: SerialisedMeasure;
}
interface ScorePart {
  done: boolean;
  profiles: number;
  transitions: number;
  written: number;
}

/** Leave this much of the invocation for the hand-off. */
const SAFETY_MS = 60_000;

type Worker = Required<Pick<FreezeDetail, 'runId' | 'segment' | 'segments'>> & FreezeDetail;
type ProfilePage = Awaited<ReturnType<ReevaluateDeps['profiles']['scan']>>['items'];

const iso = (deps: Pick<FreezeDeps, 'now'>) => new Date(deps.now()).toISOString();
const publish = (detail: FreezeDetail & { runId: string }, deps: Pick<FreezeDeps, 'publisher'>) =>
  deps.publisher.publish([{ detailType: DETAIL_TYPES.freezeRequested, detail: { version: 1, ...detail } }]);

/**
 * One step of a freeze run, as one invocation takes it: a start (no `phase`: fan out the measure pass)
 * or one worker's share of a pass. `remainingMs` says how long the invocation has left.
 */
export async function freezeStep(detail: FreezeDetail, remainingMs: () => number, deps: FreezeDeps): Promise<void> {
  const runId = detail.runId || newRunId(deps.now());
  if (!detail.phase) {
    await start(runId, detail.asOf, deps);
    return;
  }
  const segment = detail.segment ?? 0;
  const segments = detail.segments ?? 1;
  try {
    if (detail.phase === 'measure') await measure({ ...detail, runId, segment, segments }, remainingMs, deps);
    else await score({ ...detail, runId, segment, segments }, remainingMs, deps);
  } catch (error) {
    deps.logger.error('freeze worker failed', { runId, phase: detail.phase, segment, error: error as Error });
    const run = await deps.catalog.getRun(FREEZE_SCOPE, runId);
    if (run)
      await deps.catalog.putRun(FREEZE_SCOPE, {
        ...run,
        status: 'failed',
        finishedAt: iso(deps),
        error: `${detail.phase} segment ${segment}: ${(error as Error).message}`,
      });
    deps.metrics?.add('freezeRuns', 1, { status: 'failed' });
    throw error;
  }
}

async function start(runId: string, asOf: number | undefined, deps: FreezeDeps): Promise<RunRecord> {
  const segments = deps.scanSegments ?? freezeSettings.scanSegments;
  const run: RunRecord = {
    runId,
    status: 'running',
    phase: 'measure',
    startedAt: iso(deps),
    progress: { segments, ...(asOf !== undefined && { asOf: new Date(asOf).toISOString() }) },
  };
  await deps.catalog.putRun(FREEZE_SCOPE, run);
  for (let segment = 0; segment < segments; segment++)
    await publish({ runId, phase: 'measure', segment, segments, ...(asOf !== undefined && { asOf }) }, deps);
  deps.logger.info('freeze started', { runId, segments });
  return run;
}

/** Pages through one scan segment, handing off near the time limit; `visit` handles each page. */
async function walk(
  detail: Worker & Required<Pick<FreezeDetail, 'phase'>>,
  remainingMs: () => number,
  visit: (profiles: ProfilePage) => Promise<void>,
  handOff: (cursor: string) => Promise<void>,
  deps: FreezeDeps,
): Promise<'finished' | 'handed-off'> {
  let cursor = detail.cursor;
  do {
    const page = await deps.profiles.scan(cursor, PROFILES_PER_PAGE, { index: detail.segment, total: detail.segments });
    await visit(page.items.filter((p) => !p.mergedInto)); // redirects left by merges: the survivor counts
    cursor = page.cursor;
    if (cursor && remainingMs() < SAFETY_MS) {
      await handOff(cursor);
      deps.logger.info('freeze worker continues in a new invocation', {
        runId: detail.runId,
        phase: detail.phase,
        segment: detail.segment,
      });
      return 'handed-off';
    }
  } while (cursor);
  return 'finished';
}

async function measure(detail: Worker, remainingMs: () => number, deps: FreezeDeps): Promise<void> {
  const { runId, segment, segments } = detail;
  // A late duplicate of a worker (EventBridge delivers at least once) once the pass is over.
  const run = await deps.catalog.getRun(FREEZE_SCOPE, runId);
  if (run?.phase !== 'measure') return;
  const model = (await loadRules(deps.catalog)).indicators;
  const { sampleSize } = model.settings.clusters;
  // Seeded by segment, not run: the same profiles give the same model, so clusters keep their numbers.
  const random = seededRandom(`freeze#${segment}`);
  const partName = `measure#${segment}`;
  const customersPart = `customers#${segment}`;
  const saved = detail.cursor ? await deps.catalog.getRunPart<MeasurePart>(FREEZE_SCOPE, runId, partName) : undefined;
  const savedCustomers = saved && (await deps.catalog.getRunPart<SerialisedCustomerBase>(FREEZE_SCOPE, runId, customersPart));
  const accumulator = saved ? Measure.fromJSON(saved.measure, sampleSize, random, savedCustomers) : new Measure(sampleSize, random);
  const store = async (done: boolean) => {
    // The customers first: a part marked done has its customers stored.
    await deps.catalog.putRunPart(FREEZE_SCOPE, runId, customersPart, accumulator.customerBase.toJSON());
    await deps.catalog.putRunPart(FREEZE_SCOPE, runId, partName, { done, profiles, measure: accumulator.toJSON() } satisfies MeasurePart);
  };
  let profiles = saved?.profiles ?? 0;
  const now = detail.asOf ?? deps.now();
  const outcome = await walk(
    { ...detail, phase: 'measure' },
    remainingMs,
    async (page) => {
      for (const profile of page) {
        const features = featuresOf(profile, now, model);
        if (features) accumulator.add(features);
      }
      profiles += page.length;
    },
    async (cursor) => {
      await store(false);
      await publish({ ...detail, cursor }, deps);
    },
    deps,
  );
  if (outcome === 'handed-off') return;
  await store(true);
  deps.logger.info('freeze segment measured', { runId, segment, profiles, customers: accumulator.customerBase.customers });

  const parts = (await deps.catalog.listRunParts<MeasurePart>(FREEZE_SCOPE, runId, 'measure#')).filter((p) => p.data.done);
  if (parts.length < segments || !(await deps.catalog.advanceRun(FREEZE_SCOPE, runId, 'measure', 'model'))) return;
  // This worker finished last: merge everyone's accumulators and fit the day's model, once.
  const customers = new Map(
    (await deps.catalog.listRunParts<SerialisedCustomerBase>(FREEZE_SCOPE, runId, 'customers#')).map((p) => [
      p.part.slice('customers#'.length),
      p.data,
    ]),
  );
  const merged = parts
    .sort((a, b) => a.part.localeCompare(b.part))
    .map((p) =>
      Measure.fromJSON(p.data.measure, sampleSize, seededRandom(`freeze#merge#${p.part}`), customers.get(p.part.slice('measure#'.length))),
    )
    .reduce((into, part) => {
      into.merge(part);
      return into;
    });
  const fitted = fitModel(merged, model, seededRandom('freeze#fit'));
  await deps.catalog.putRunPart(FREEZE_SCOPE, runId, 'model', fitted);
  await deps.catalog.advanceRun(FREEZE_SCOPE, runId, 'model', 'score', {
    // What the start recorded (the scan segments, an `asOf`) stays, with the model's figures.
    progress: { ...run.progress, segments, measured: merged.profiles, ...modelSummary(fitted) },
  });
  deps.logger.info('freeze model fitted', {
    runId,
    profiles: merged.profiles,
    clusters: fitted.clusters?.k,
    silhouette: fitted.clusters?.silhouette,
    customers: merged.customerBase.customers,
    customerModels: fitted.customerBase
      ? { bgnbd: fitted.customerBase.bgnbd, spend: fitted.customerBase.spend }
      : fitted.customerBaseUnfitted,
  });
  for (let next = 0; next < segments; next++)
    await publish({ runId, phase: 'score', segment: next, segments, ...(detail.asOf !== undefined && { asOf: detail.asOf }) }, deps);
}

async function score(detail: Worker, remainingMs: () => number, deps: FreezeDeps): Promise<void> {
  const { runId, segment, segments } = detail;
  const fitted = await deps.catalog.getRunPart<FreezeModel>(FREEZE_SCOPE, runId, 'model');
  if (!fitted) {
    // A late duplicate of a worker (EventBridge delivers at least once) after the run closed.
    if ((await deps.catalog.getRun(FREEZE_SCOPE, runId))?.phase === 'done') return;
    throw new Error(`freeze run ${runId} has no model to score with`);
  }
  const compiled = await loadRules(deps.catalog);
  const model = compiled.indicators;
  const counts = { profiles: detail.profiles ?? 0, transitions: detail.transitions ?? 0, written: detail.written ?? 0 };
  const now = detail.asOf ?? deps.now();
  const frozenAt = new Date(now).toISOString();
  const outcome = await walk(
    { ...detail, phase: 'score' },
    remainingMs,
    async (page) => {
      const stored = new Map((await deps.frozen.getMany(page.map((p) => p.profileId))).map((r) => [r.profileId, r.values]));
      for (const profile of page) {
        const features = featuresOf(profile, now, model);
        const values: FrozenValues | undefined = features ? scoreProfile(features, fitted, model) : undefined;
        // Unchanged values are not rewritten: most profiles keep their quintiles from day to day.
        if (values && canonical(values) !== canonical(stored.get(profile.profileId))) {
          await deps.frozen.put({ profileId: profile.profileId, runId, frozenAt, values });
          counts.written++;
        }
        const result = await deps.writer.apply(
          { profileId: profile.profileId, events: [], identifiers: [], reason: 'time', frozen: values },
          compiled,
          profile,
        );
        counts.transitions += result.transitions.length;
      }
      counts.profiles += page.length;
    },
    (cursor) => publish({ ...detail, cursor, ...counts }, deps),
    deps,
  );
  if (outcome === 'handed-off') return;
  await deps.catalog.putRunPart(FREEZE_SCOPE, runId, `score#${segment}`, { done: true, ...counts } satisfies ScorePart);
  deps.logger.info('freeze segment scored', { runId, segment, ...counts });

  const parts = (await deps.catalog.listRunParts<ScorePart>(FREEZE_SCOPE, runId, 'score#')).filter((p) => p.data.done);
  if (parts.length < segments) return;
  const total = parts.reduce(
    (sum, p) => ({
      profiles: sum.profiles + p.data.profiles,
      transitions: sum.transitions + p.data.transitions,
      written: sum.written + p.data.written,
    }),
    { profiles: 0, transitions: 0, written: 0 },
  );
  const run = await deps.catalog.getRun(FREEZE_SCOPE, runId);
  // The last worker sets the segments' size counters right; a drift is a crash between a membership write and its count.
  const { drifts, busy } = await reconcileSizes(deps);
  const finishedAt = iso(deps);
  const durationMs = Date.parse(finishedAt) - Date.parse(run?.startedAt ?? finishedAt);
  const closed = await deps.catalog.advanceRun(FREEZE_SCOPE, runId, 'score', 'done', {
    status: 'succeeded',
    finishedAt,
    progress: {
      ...run?.progress,
      profiles: total.profiles,
      transitions: total.transitions,
      frozenWritten: total.written,
      durationMs,
      sizes: { drifts, ...(busy.length > 0 && { busy }) },
    },
  });
  if (closed) {
    // The sketches and samples were only for this run: its record keeps the figures and the clusters.
    await deps.catalog.deleteRunParts(FREEZE_SCOPE, runId);
    deps.metrics?.add('freezeRuns', 1, { status: 'succeeded' });
    deps.metrics?.add('freezeDuration', durationMs, {});
    deps.metrics?.add('freezeProfiles', total.profiles, {});
    deps.logger.info('freeze finished', { runId, ...total, durationMs });
  }
}

/** Key order is not kept by DynamoDB maps: compare values with sorted keys. */
const canonical = (values: object | undefined) =>
  values ? JSON.stringify(Object.entries(values).sort(([a], [b]) => a.localeCompare(b))) : '';

/** What the run record shows of the day's model. */
const modelSummary = (model: FreezeModel) => ({
  boundaries: model.boundaries,
  populationRate: model.populationRate,
  ...(model.customerBase && { customerBase: model.customerBase }),
  ...(model.customerBaseUnfitted && { customerBaseUnfitted: model.customerBaseUnfitted }),
  ...(model.clusters && {
    clusters: {
      k: model.clusters.k,
      silhouette: model.clusters.silhouette,
      descriptions: model.clusters.clusters.map(({ id, share, description }) => ({ id, share, description })),
    },
  }),
});
