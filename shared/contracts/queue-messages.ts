/**
 * What travels in one SQS message: many events (fewer, fuller messages cost
 * less) or a control command. The processor parses every body with this
 * schema, so a message it cannot act on is parked with its reason, never
 * mistaken for another kind.
 */
import { z } from 'zod';
import type { EnrichedEvent } from '../domain/events';

// Events were validated at ingest; the processor checks each again as it takes it, so that one bad
// event is parked alone rather than failing the message it shares with others.
const enrichedEvent = z.custom<EnrichedEvent>(() => true);
const cursor = z.string().optional();
const revision = z.number().int().min(0);

export const queueMessageSchema = z.discriminatedUnion('kind', [
  z.object({
    v: z.literal(1),
    kind: z.literal('events'),
    events: z.array(enrichedEvent),
    /** Events a processor folded but could not archive, sent back to be archived. */
    unarchived: z.literal(true).optional(),
  }),
  z.object({ v: z.literal(1), kind: z.literal('evaluate-segment'), segmentId: z.string(), revision, cursor }),
  /** Re-evaluates a group's members after its traits changed: written at `version` or later; `cursor` pages the member items. */
  z.object({ v: z.literal(1), kind: z.literal('evaluate-group'), groupId: z.string(), version: z.number().int().min(0), cursor }),
  z.object({
    v: z.literal(1),
    kind: z.literal('evaluate-indicators'),
    definition: z.string(),
    revision,
    cursor,
    profiles: z.number().int().min(0).optional(),
  }),
  z.object({ v: z.literal(1), kind: z.literal('erase-profile'), profileId: z.string(), erasureId: z.string() }),
  z.object({
    v: z.literal(1),
    kind: z.literal('replay'),
    runId: z.string(),
    from: z.string(),
    to: z.string(),
    day: z.string(),
    after: cursor,
  }),
  z.object({
    v: z.literal(1),
    kind: z.literal('backfill'),
    runId: z.string(),
    segmentId: z.string(),
    revision,
    specs: z.array(z.string()),
    since: z.string(),
    after: cursor,
  }),
]);

export type QueueMessage = z.infer<typeof queueMessageSchema>;
