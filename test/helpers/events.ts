import { DETAIL_TYPES } from '#shared/contracts/detail-types';
import { type MembershipChangedDetail, transitionsOf } from '#shared/contracts/events';
import type { Channel, EnrichedEvent } from '#shared/domain/events';

let counter = 0;

/** An enriched event as the processor receives it, with sensible defaults. */
export function anEvent(overrides: Partial<EnrichedEvent> & { at?: string } = {}): EnrichedEvent {
  const { at, ...rest } = overrides;
  const timestamp = at ?? '2026-03-15T10:00:00.000Z';
  return {
    messageId: `m-${++counter}`,
    type: 'track',
    event: 'Order Completed',
    userId: 'u1',
    properties: {},
    traits: {},
    context: {},
    timestamp,
    receivedAt: timestamp,
    channel: 'web' as Channel,
    sourceId: 'test',
    ...rest,
  };
}

/**
 * The segment transitions in published events, one line per segment: each `Segment Membership Changed`
 * lists one profile's change (every segment entered and left at once), under the event's id.
 */
export function membershipChanges(events: ReadonlyArray<{ detailType?: string; 'detail-type'?: string; detail: Record<string, unknown> }>) {
  return events
    .filter((e) => (e.detailType ?? e['detail-type']) === DETAIL_TYPES.membershipChanged)
    .flatMap((e) => transitionsOf(e.detail as MembershipChangedDetail).map((t) => ({ ...t, id: String(e.detail.id) })));
}
