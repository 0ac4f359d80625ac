/**
 * Saving a segment: checked against the catalog (its limit, references without cycles), stored as a
 * new revision, then evaluated over stored profiles by a job: directly, or after a backfill from the
 * event archive when it needs aggregates nobody kept yet.
 */

import type { AggregateSpec } from '../domain/aggregates';
import { CONDITION_LANGUAGE_VERSION, type Condition, MAX_SEGMENTS, type Segment, type SegmentInput } from '../domain/segment-definition';
import { aggregateSpecsOf, aggregateStarts, orderByDependencies, SegmentGraphError } from '../domain/segment-dependencies';
import { ConflictError, InvalidInputError } from '../errors';
import type { Logger } from '../logger';
import type { DefinitionStore, RunStore, StatsStore } from '../ports/catalog';
import type { EventQueue } from '../ports/event-queue';
import { BACKFILL_SCOPE, backfillRunId } from './backfill';
import { segmentsWithModel } from './managed-segments';

export interface SaveSegmentDeps {
  catalog: DefinitionStore & Pick<RunStore, 'putRun'> & Pick<StatsStore, 'setSize'>;
  queue: Pick<EventQueue, 'send'>;
  logger: Logger;
  now: () => number;
  /** Wait before a segment's first evaluation over stored profiles (see `segmentEvaluationDelaySeconds`). */
  segmentEvaluationDelaySeconds: number;
}

export interface SavedSegment {
  segment: Segment;
  created: boolean;
  /** The backfill run that fills its new aggregates from the archive, when it needs one. */
  backfillRunId?: string;
}

/** Refuses a condition that refers to unknown segments or closes a cycle among them. */
export function checkReferences(segments: ReadonlyArray<Pick<Segment, 'id' | 'condition'>>): void {
  try {
    orderByDependencies(segments);
  } catch (error) {
    if (error instanceof SegmentGraphError) throw new InvalidInputError(error.message, [{ path: 'condition', message: error.message }]);
    throw error;
  }
}

export async function saveSegment(id: string, input: SegmentInput, deps: SaveSegmentDeps): Promise<SavedSegment> {
  const { segments, model } = await segmentsWithModel(deps.catalog);
  const others = segments.filter((s) => s.id !== id);
  if (others.length >= MAX_SEGMENTS) throw new ConflictError(`a catalog holds at most ${MAX_SEGMENTS} segments; delete one first`);
  checkReferences([...others, { id, condition: input.condition }]);
  // A stage segment is refused by the catalog's own put (409), like its deletion.
  const existing = segments.find((s) => s.id === id);
  const revision = (existing?.revision ?? 0) + 1;
  const now = new Date(deps.now()).toISOString();
  const starts = startsOf(
    input.condition,
    existing ? [...others, existing] : others,
    model.specs,
    deps.now() + deps.segmentEvaluationDelaySeconds * 1000,
  );
  const segment: Segment = {
    ...input,
    id,
    revision,
    languageVersion: CONDITION_LANGUAGE_VERSION,
    status: 'building',
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
    ...(Object.keys(starts.specsSince).length > 0 && {
      aggregatesSince: Object.values(starts.specsSince).sort().at(-1),
      specsSince: starts.specsSince,
    }),
  };
  await deps.catalog.segments.put(segment);
  // A new segment has no members yet: its size counter starts at 0, and the membership writes keep it.
  if (!existing) await deps.catalog.setSize(segment.id, 0);
  if (starts.newSpecs.length > 0) {
    // Older events come from the archive once every processor folds the new aggregates (twice the
    // delay: the last invocation started before `since` has ended); the first evaluation follows it.
    const runId = backfillRunId(id, revision);
    const since = starts.specsSince[starts.newSpecs[0]!]!;
    const progress = { segmentId: id, revision, specs: starts.newSpecs, since };
    await deps.catalog.putRun(BACKFILL_SCOPE, { runId, status: 'running', startedAt: now, progress });
    await deps.queue.send(
      { v: 1, kind: 'backfill', runId, segmentId: id, revision, specs: starts.newSpecs, since },
      Math.min(900, 2 * deps.segmentEvaluationDelaySeconds),
    );
    deps.logger.info('segment saved, backfill requested', { segmentId: id, revision, runId });
    return { segment, created: !existing, backfillRunId: runId };
  }
  // Existing profiles are evaluated by a job that walks them page by page through the queue.
  await deps.queue.send({ v: 1, kind: 'evaluate-segment', segmentId: id, revision }, deps.segmentEvaluationDelaySeconds);
  deps.logger.info('segment saved', { segmentId: id, revision });
  return { segment, created: !existing };
}

/**
 * When a condition needs aggregates no other segment maintains (`newSpecs`), live events fold into
 * them once every processor's catalog cache has caught up: those received from `foldedFrom` on; a
 * backfill adds the older ones. Aggregates shared with other segments keep the start they recorded
 * (none once whole); indicators' aggregates are whole from the start.
 */
function startsOf(condition: Condition, others: readonly Segment[], indicatorSpecs: readonly AggregateSpec[], foldedFrom: number) {
  const kept = aggregateStarts(others, indicatorSpecs);
  const specsSince: Record<string, string> = {};
  const newSpecs: string[] = [];
  for (const spec of aggregateSpecsOf(condition)) {
    const known = kept.get(spec.id);
    if (known && known.since === undefined) continue; // whole already
    if (!known) newSpecs.push(spec.id);
    specsSince[spec.id] = known?.since ?? new Date(foldedFrom).toISOString();
  }
  return { specsSince, newSpecs };
}
