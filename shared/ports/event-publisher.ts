import type { z } from 'zod';
import type { DetailType } from '../contracts/detail-types';
import type { eventContracts } from '../contracts/events';

/** One event of each detail type, its detail typed by its contract (`shared/contracts/events.ts`). */
export type DomainEvent = { [T in DetailType]: { detailType: T; detail: z.input<(typeof eventContracts)[T]> } }[DetailType];

/** Port: publishes domain events. At least once: details carry ids so consumers can drop duplicates. */
export interface EventPublisher {
  publish(events: readonly DomainEvent[]): Promise<void>;
}
