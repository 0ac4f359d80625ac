/**
 * Segment sizes from counters the membership writes keep, so listing segments costs O(segments), not
 * O(members); and their reconciliation against the members counted, which the daily freeze runs.
 */
import type { Logger } from '../logger';
import type { DefinitionStore, StatsStore } from '../ports/catalog';
import type { MembershipStore } from '../ports/memberships';

export interface SizeDeps {
  catalog: Pick<StatsStore, 'sizes'>;
  memberships: Pick<MembershipStore, 'count'>;
}

/** Each segment's size: its counter, or (a segment counted before counters, until its first reconciliation) its members counted. */
export async function segmentSizes(segmentIds: readonly string[], deps: SizeDeps): Promise<Map<string, number>> {
  const counted = await deps.catalog.sizes(segmentIds);
  await Promise.all(segmentIds.filter((id) => !counted.has(id)).map(async (id) => counted.set(id, await deps.memberships.count(id))));
  return counted;
}

export interface Drift {
  segmentId: string;
  /** What the counter said (null: no counter yet). */
  counter: number | null;
  members: number;
}

/**
 * Counts each segment's members and sets its counter to them when they differ (or when it has none).
 * A counter that moves while its members are counted is left for the next run: the count may straddle
 * a change. Returns the drifts corrected and the segments left alone.
 */
export async function reconcileSizes(deps: {
  catalog: Pick<StatsStore, 'sizes' | 'setSize'> & Pick<DefinitionStore, 'segments'>;
  memberships: Pick<MembershipStore, 'count'>;
  logger: Logger;
}): Promise<{ segments: number; drifts: Drift[]; busy: string[] }> {
  const segments = await deps.catalog.segments.list();
  const drifts: Drift[] = [];
  const busy: string[] = [];
  for (const { id } of segments) {
    const before = (await deps.catalog.sizes([id])).get(id);
    const members = await deps.memberships.count(id);
    if (before === members) continue;
    if (await deps.catalog.setSize(id, members, before)) drifts.push({ segmentId: id, counter: before ?? null, members });
    else busy.push(id);
  }
  for (const drift of drifts.filter((d) => d.counter !== null))
    deps.logger.warn('segment size counter drifted, set to the members counted', { ...drift });
  return { segments: segments.length, drifts, busy };
}
