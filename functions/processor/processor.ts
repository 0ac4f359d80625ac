/**
 * Processor: SQS batches in, profiles and memberships out. Reports partial
 * batch failures; a message that can never succeed, or is on its last receive,
 * goes to the DLQ with its reason instead of vanishing.
 */
import middy from '@middy/core';
import type { Context, SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { flushMetrics } from '#shared/adapters/metrics/flush-metrics';
import { type QueueMessage, queueMessageSchema } from '#shared/contracts/queue-messages';
import { assertUnreachable } from '#shared/domain/assert-unreachable';
import { isPlainObject } from '#shared/domain/events';
import { PoisonMessageError } from '#shared/errors';
import type { Logger } from '#shared/logger';
import type { EventQueue } from '#shared/ports/event-queue';
import type { GroupStore } from '#shared/ports/groups';
import { type MetricsRecorder, NO_METRICS } from '#shared/ports/metrics';
import { backfillStep } from '#shared/usecases/backfill';
import type { CounterBuffer } from '#shared/usecases/counter-buffer';
import { type ErasureDeps, eraseProfile } from '#shared/usecases/erase-profile';
import { type ProcessEventsDeps, processEvents } from '#shared/usecases/process-events';
import { evaluateGroupStep, evaluateIndicatorsStep, evaluateSegmentStep, type ReevaluateDeps } from '#shared/usecases/reevaluate';
import { replayStep } from '#shared/usecases/replay';
import type { SeenBuffer } from '#shared/usecases/seen-buffer';
import type { SourcedEvent } from '#shared/usecases/sourced-event';

export interface ProcessorDeps
  extends ProcessEventsDeps,
    ReevaluateDeps,
    Omit<ErasureDeps, 'catalog' | 'profiles' | 'identities' | 'logger' | 'groups'> {
  queue: EventQueue;
  groups: GroupStore;
  logger: Logger;
  maxReceiveCount: number;
  /** Segment history counters the writer adds up; written once at the end of each invocation. */
  counters?: Pick<CounterBuffer, 'flush'>;
  /** What was seen (event names, property keys, traits), for autocomplete; written now and then. */
  seen?: Pick<SeenBuffer, 'add' | 'flush'>;
  /** Events processed, their lag, parks and erasures (the writer records changes and merges): written at the end of each invocation. */
  metrics?: MetricsRecorder;
}

export type ProcessorHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

function parseMessage(record: SQSRecord): QueueMessage {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new PoisonMessageError('message body is not JSON');
  }
  const parsed = queueMessageSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'message'}: ${issue.message}`);
  throw new PoisonMessageError(`not a message this processor knows (${issues.join('; ')})`);
}

export function createProcessorHandler(deps: ProcessorDeps): ProcessorHandler {
  const { logger } = deps;
  const metrics = deps.metrics ?? NO_METRICS;

  const process = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failures: SQSBatchItemFailure[] = [];
    const receivesOf = (record: SQSRecord) => Number(record.attributes.ApproximateReceiveCount ?? '1');
    /** Parks a body with its reason; false when the DLQ cannot take it (the message is then retried). */
    const park = async (record: SQSRecord, body: string, error: Error, eventCount?: number): Promise<boolean> => {
      const reason = `${error.name}: ${error.message}`;
      const receiveCount = receivesOf(record);
      try {
        await deps.queue.deadLetter(body, reason, receiveCount);
        metrics.add('parked', 1, { reason: error.name });
        logger.error('moved to the dead-letter queue', {
          messageId: record.messageId,
          reason,
          receiveCount,
          ...(eventCount === undefined ? {} : { events: eventCount }),
        });
        return true;
      } catch (dlqError) {
        logger.error('could not dead-letter; leaving the message for retry', { messageId: record.messageId, error: dlqError as Error });
        return false;
      }
    };
    const fail = async (record: SQSRecord, error: Error) => {
      const receiveCount = receivesOf(record);
      if (error instanceof PoisonMessageError || receiveCount >= deps.maxReceiveCount) {
        if (await park(record, record.body, error)) return;
      } else {
        logger.warn('message will be retried', { messageId: record.messageId, receiveCount, error: error.message });
      }
      failures.push({ itemIdentifier: record.messageId });
    };

    const byId = new Map(event.Records.map((record) => [record.messageId, record]));
    /** Something in an events message that is no event at all: parked alone at once, the others go on. */
    const parkStray = async (record: SQSRecord, stray: unknown) => {
      const body = JSON.stringify({ v: 1, kind: 'events', events: [stray] });
      const parked = await park(record, body, new PoisonMessageError('an event of the message is not a JSON object'), 1);
      // Not parked: the whole message is retried, so the stray is not lost.
      if (!parked && !failures.some((f) => f.itemIdentifier === record.messageId)) failures.push({ itemIdentifier: record.messageId });
    };
    const events: SourcedEvent[] = [];
    for (const record of event.Records) {
      try {
        const message = parseMessage(record);
        switch (message.kind) {
          case 'events': {
            const lastAttempt = receivesOf(record) >= deps.maxReceiveCount;
            const unarchived = message.unarchived === true;
            let oldest = Number.POSITIVE_INFINITY;
            for (const e of message.events) {
              if (!isPlainObject(e)) {
                await parkStray(record, e);
                continue;
              }
              events.push({ event: e, origin: record.messageId, lastAttempt, ...(unarchived && { unarchived }) });
              oldest = Math.min(oldest, Date.parse(e.receivedAt));
            }
            // One value a message: its events were received together, so the oldest stands for them.
            if (Number.isFinite(oldest)) metrics.add('processingLag', Math.max(0, deps.now() - oldest), {});
            break;
          }
          case 'evaluate-segment': {
            const outcome = await evaluateSegmentStep(message, deps);
            logger.info('segment evaluation step', { segmentId: message.segmentId, revision: message.revision, outcome });
            break;
          }
          case 'evaluate-group': {
            const outcome = await evaluateGroupStep(message, deps);
            logger.info('group members evaluation step', { version: message.version, outcome });
            break;
          }
          case 'evaluate-indicators': {
            const outcome = await evaluateIndicatorsStep(message, deps);
            logger.info('indicator re-evaluation step', { definition: message.definition, revision: message.revision, outcome });
            break;
          }
          case 'erase-profile':
            // Erased already (a redelivery) when the profile is gone: nothing left to do.
            if (await eraseProfile(message.profileId, message.erasureId, deps)) metrics.add('profilesErased', 1, {});
            break;
          case 'backfill': {
            const outcome = await backfillStep(message, deps);
            logger.info('backfill step', { runId: message.runId, outcome });
            break;
          }
          case 'replay': {
            if (!deps.archive) throw new PoisonMessageError('replay needs the archive, and this processor has none');
            const outcome = await replayStep(message, { ...deps, archive: deps.archive });
            logger.info('replay step', { runId: message.runId, day: message.day, outcome });
            break;
          }
          default:
            assertUnreachable(message);
        }
      } catch (error) {
        await fail(record, error as Error);
      }
    }

    if (events.length > 0) {
      deps.seen?.add(events.map((pending) => pending.event));
      const result = await processEvents(events, deps).catch(async (error: Error) => {
        // A step no event caused (the segment catalog unreadable): every events message is retried.
        for (const origin of new Set(events.map((e) => e.origin))) await fail(byId.get(origin)!, error);
        return undefined;
      });
      for (const [origin, error] of result?.failed ?? []) await fail(byId.get(origin)!, error);
      // Each event that will not succeed is parked alone, in a message of its own, so a redrive sends
      // back only it; the rest of its message is done, and the message is deleted.
      for (const { event: parked, origin, error } of result?.parked ?? []) {
        const message: QueueMessage = { v: 1, kind: 'events', events: [parked] };
        const retried = failures.some((f) => f.itemIdentifier === origin);
        if (!(await park(byId.get(origin)!, JSON.stringify(message), error, 1)) && !retried) failures.push({ itemIdentifier: origin });
      }
      if (result && result.applied > 0) metrics.add('eventsProcessed', result.applied, {});
      logger.info('batch processed', {
        messages: event.Records.length,
        events: events.length,
        profiles: result?.profiles,
        applied: result?.applied,
        duplicates: result?.duplicates,
        parkedEvents: result?.parked.length,
        failedMessages: failures.length,
      });
    }
    // Counters are history, not state: a failed write is kept for the next invocation, never a retry of the batch.
    await deps.counters?.flush().catch((error: Error) => logger.warn('segment history counters not written yet', { error: error.message }));
    await deps.seen?.flush().catch((error: Error) => logger.warn('seen event names and traits not written yet', { error: error.message }));
    return { batchItemFailures: failures };
  };

  return middy<SQSEvent, SQSBatchResponse>().use(flushMetrics(metrics, logger)).handler(process);
}
