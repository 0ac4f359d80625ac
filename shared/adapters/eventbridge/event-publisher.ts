import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { eventBus } from '../../resources';
import { PrismeError } from '../../errors';

/** Detail types Prisme publishes, each with a versioned JSON Schema in `schemas/events/`. */
export const DETAIL_TYPES = {
  membershipChanged: 'Segment Membership Changed',
  snapshotRequested: 'Audience Snapshot Requested',
  snapshotPublished: 'Audience Snapshot Published',
  snapshotHeld: 'Audience Snapshot Held',
  freezeRequested: 'Freeze Requested',
  profileMerged: 'Profile Merged',
  profileErased: 'Profile Erased',
  snapshotScrubRequested: 'Snapshot Scrub Requested',
} as const;
export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];

export interface DomainEvent {
  detailType: DetailType;
  detail: Record<string, unknown>;
}

/** Port: publishes domain events. At least once: details carry ids so consumers can drop duplicates. */
export interface EventPublisher {
  publish(events: readonly DomainEvent[]): Promise<void>;
}

export class EventPublishError extends PrismeError {}

export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(events: readonly DomainEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += 10) {
      const chunk = events.slice(i, i + 10);
      const { FailedEntryCount, Entries } = await this.client.send(
        new PutEventsCommand({
          Entries: chunk.map((e) => ({
            EventBusName: this.busName,
            Source: eventBus.source,
            DetailType: e.detailType,
            Detail: JSON.stringify(e.detail),
          })),
        }),
      );
      if (FailedEntryCount) {
        const first = Entries?.find((entry) => entry.ErrorCode);
        throw new EventPublishError(`EventBridge refused ${FailedEntryCount} event(s): ${first?.ErrorCode} ${first?.ErrorMessage ?? ''}`);
      }
    }
  }
}
