import type { EnrichedEvent } from '../domain/events';

/** An event and the queue message it came in, so failures map back to messages. */
export interface SourcedEvent {
  event: EnrichedEvent;
  origin: string;
  /** Its message is on its last receive: a failure now is final, and the event is parked. */
  lastAttempt?: boolean;
  /** Folded by an earlier delivery that could not archive it: archived though its profile has it. */
  unarchived?: boolean;
}
