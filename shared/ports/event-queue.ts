import type { QueueMessage } from '../contracts/queue-messages';
import type { EnrichedEvent } from '../domain/events';

/** Port: the durable hand-off between ingest and the processor. */
export interface EventQueue {
  /** Resolves only once every event is durably queued. */
  sendEvents(events: readonly EnrichedEvent[]): Promise<void>;
  /** Sends one message, visible to consumers after `delaySeconds` (at most 900). */
  send(message: QueueMessage, delaySeconds?: number): Promise<void>;
  /** Parks a message that will never succeed, with the reason, for an operator. */
  deadLetter(body: string, reason: string, receiveCount: number): Promise<void>;
  /** About how many messages are parked in the dead-letter queue (SQS's approximate counts). */
  parked(): Promise<number>;
}
