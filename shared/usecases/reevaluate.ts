/**
 * Re-evaluation of stored profiles without new events: after a segment is
 * created or changed, and daily as time windows pass.
 */
import type { CatalogStore } from '../adapters/dynamodb/catalog-store';
import type { ProfileStore } from '../adapters/dynamodb/profile-store';
import type { EventQueue, QueueMessage } from '../adapters/sqs/event-queue';
import type { TransitionReason } from '../domain/profile';
import { compileCatalog, type CompiledCatalog } from '../domain/segments';
import type { ProfileWriter } from './profile-writer';

export interface ReevaluateDeps {
  catalog: CatalogStore;
  profiles: ProfileStore;
  writer: ProfileWriter;
}

export const PROFILES_PER_PAGE = 100;
/** Run records of the daily freeze live under this scope in the catalog. */
export const FREEZE_SCOPE = 'job#freeze';

/** Fresh, uncached: a job must not act on a catalog older than the change that started it. */
export const loadSegments = async (catalog: CatalogStore): Promise<CompiledCatalog> => compileCatalog(await catalog.segments.list());

export interface PageResult {
  profiles: number;
  transitions: number;
  cursor?: string;
}

export async function reevaluatePage(
  cursor: string | undefined,
  segments: CompiledCatalog,
  deps: ReevaluateDeps,
  reason: TransitionReason,
): Promise<PageResult> {
  const page = await deps.profiles.scan(cursor, PROFILES_PER_PAGE);
  let transitions = 0;
  for (const profile of page.items) {
    if (profile.mergedInto) continue; // a redirect left by a merge: the survivor is evaluated on its own
    const outcome = await deps.writer.apply({ profileId: profile.profileId, events: [], identifiers: [], reason }, segments, profile);
    transitions += outcome.transitions.length;
  }
  return { profiles: page.items.length, transitions, cursor: page.cursor };
}

type EvaluateSegmentMessage = Extract<QueueMessage, { kind: 'evaluate-segment' }>;

/**
 * One step of a segment's first evaluation: a page of profiles, then the next
 * step is queued. Each step is short and idempotent, so the job survives
 * restarts and scales with the queue instead of one long-running function.
 */
export async function evaluateSegmentStep(
  message: EvaluateSegmentMessage,
  deps: ReevaluateDeps & { queue: EventQueue },
): Promise<'continued' | 'done' | 'superseded'> {
  const segment = await deps.catalog.segments.get(message.segmentId);
  if (!segment || segment.revision !== message.revision) return 'superseded';
  const result = await reevaluatePage(message.cursor, await loadSegments(deps.catalog), deps, 'definition');
  await deps.catalog.addSegmentProgress(segment.id, segment.revision, result.profiles);
  if (result.cursor) {
    await deps.queue.send({ ...message, cursor: result.cursor });
    return 'continued';
  }
  await deps.catalog.markSegmentReady(segment.id, segment.revision);
  return 'done';
}
