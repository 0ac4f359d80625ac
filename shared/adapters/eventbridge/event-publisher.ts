import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PrismeError } from '../../domain/errors';
import type { DomainEvent, EventPublisher } from '../../ports/event-publisher';
import { eventBus } from '../../resources';

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
