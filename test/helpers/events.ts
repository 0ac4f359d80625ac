import type { Channel, EnrichedEvent } from '../../shared/domain/events';

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
