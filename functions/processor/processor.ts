/**
 * Processor: SQS batches in, profiles and memberships out. Reports partial
 * batch failures; a message that can never succeed, or is on its last receive,
 * goes to the DLQ with its reason instead of vanishing.
 */
import middy from '@middy/core';
import type { Context, SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { EventQueue, QueueMessage } from '../../shared/adapters/sqs/event-queue';
import { PoisonMessageError } from '../../shared/errors';
import type { CounterBuffer } from '../../shared/usecases/counter-buffer';
import type { Logger } from '../../shared/logger';
import { processEvents, type ProcessEventsDeps, type SourcedEvent } from '../../shared/usecases/process-events';
import { eraseProfile, type ErasureDeps } from '../../shared/usecases/erase-profile';
import { replayStep } from '../../shared/usecases/replay';
import { backfillStep } from '../../shared/usecases/backfill';
import { evaluateIndicatorsStep, evaluateSegmentStep, type ReevaluateDeps } from '../../shared/usecases/reevaluate';

export interface ProcessorDeps extends ProcessEventsDeps, ReevaluateDeps, Omit<ErasureDeps, 'catalog' | 'profiles' | 'identities' | 'logger'> {
  queue: EventQueue;
  logger: Logger;
  maxReceiveCount: number;
  /** Segment history counters the writer adds up; written once at the end of each invocation. */
  counters?: Pick<CounterBuffer, 'flush'>;
}

export type ProcessorHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

function parseMessage(record: SQSRecord): QueueMessage {
  let message: unknown;
  try {
    message = JSON.parse(record.body);
  } catch {
    throw new PoisonMessageError('message body is not JSON');
  }
  const kind = (message as { kind?: unknown })?.kind;
  if (kind === 'events' && Array.isArray((message as { events?: unknown }).events)) return message as QueueMessage;
  if (kind === 'evaluate-segment' || kind === 'evaluate-indicators' || kind === 'erase-profile' || kind === 'replay' || kind === 'backfill') return message as QueueMessage;
  throw new PoisonMessageError(`unknown message kind ${JSON.stringify(kind)}`);
}

export function createProcessorHandler(deps: ProcessorDeps): ProcessorHandler {
  const { logger } = deps;

  const process = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failures: SQSBatchItemFailure[] = [];
    const fail = async (record: SQSRecord, error: Error) => {
      const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
      if (error instanceof PoisonMessageError || receiveCount >= deps.maxReceiveCount) {
        const reason = `${error.name}: ${error.message}`;
        try {
          await deps.queue.deadLetter(record.body, reason, receiveCount);
          logger.error('message moved to the dead-letter queue', { messageId: record.messageId, reason, receiveCount });
          return;
        } catch (dlqError) {
          logger.error('could not dead-letter message; leaving it for retry', { messageId: record.messageId, error: dlqError as Error });
        }
      } else {
        logger.warn('message will be retried', { messageId: record.messageId, receiveCount, error: error.message });
      }
      failures.push({ itemIdentifier: record.messageId });
    };

    const byId = new Map(event.Records.map((record) => [record.messageId, record]));
    const events: SourcedEvent[] = [];
    for (const record of event.Records) {
      try {
        const message = parseMessage(record);
        if (message.kind === 'events') {
          for (const e of message.events) events.push({ event: e, origin: record.messageId });
        } else if (message.kind === 'evaluate-segment') {
          const outcome = await evaluateSegmentStep(message, deps);
          logger.info('segment evaluation step', { segmentId: message.segmentId, revision: message.revision, outcome });
        } else if (message.kind === 'evaluate-indicators') {
          const outcome = await evaluateIndicatorsStep(message, deps);
          logger.info('indicator re-evaluation step', { definition: message.definition, revision: message.revision, outcome });
        } else if (message.kind === 'erase-profile') {
          // Erased already (a redelivery) when the profile is gone: nothing left to do.
          await eraseProfile(message.profileId, message.erasureId, deps);
        } else if (message.kind === 'backfill') {
          const outcome = await backfillStep(message, deps);
          logger.info('backfill step', { runId: message.runId, outcome });
        } else if (deps.archive) {
          const outcome = await replayStep(message, { ...deps, archive: deps.archive });
          logger.info('replay step', { runId: message.runId, day: message.day, outcome });
        } else {
          throw new PoisonMessageError('replay needs the archive, and this processor has none');
        }
      } catch (error) {
        await fail(record, error as Error);
      }
    }

    if (events.length > 0) {
      const result = await processEvents(events, deps);
      for (const [origin, error] of result.failed) await fail(byId.get(origin)!, error);
      logger.info('batch processed', {
        messages: event.Records.length,
        events: events.length,
        profiles: result.profiles,
        applied: result.applied,
        duplicates: result.duplicates,
        failedMessages: failures.length,
      });
    }
    // Counters are history, not state: a failed write is kept for the next invocation, never a retry of the batch.
    await deps.counters?.flush().catch((error: Error) => logger.warn('segment history counters not written yet', { error: error.message }));
    return { batchItemFailures: failures };
  };

  return middy<SQSEvent, SQSBatchResponse>().handler(process);
}
