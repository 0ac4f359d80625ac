/**
 * Replay: archived events sent through the queue again, flagged as replayed, a day at a time, a few
 * archive objects per step (each step a queue message, like segment evaluations). The processor folds
 * a replayed event only if its profile has not seen it (its message ring, and its live watermark), so
 * replaying into live profiles changes nothing they already hold, and replaying into emptied tables
 * rebuilds them. Erased people stay unreadable: their keys are gone.
 */

import type { QueueMessage } from '../contracts/queue-messages';
import { archiveDayPrefix } from '../domain/archive';
import type { EnrichedEvent } from '../domain/events';
import { DAY_MS } from '../domain/time';
import type { RunStore } from '../ports/catalog';
import type { EventQueue } from '../ports/event-queue';
import type { IdentityStore } from '../ports/identities';
import type { ObjectStore } from '../ports/objects';
import { OBJECTS_PER_STEP, openArchiveObject } from './archive-reader';

export const REPLAY_SCOPE = 'job#replay';

export interface ReplayDeps {
  catalog: Pick<RunStore, 'getRun' | 'putRun'>;
  identities: Pick<IdentityStore, 'archiveKeys'>;
  archive: Pick<ObjectStore, 'list' | 'get'>;
  queue: Pick<EventQueue, 'send' | 'sendEvents'>;
  now: () => number;
}

type ReplayMessage = Extract<QueueMessage, { kind: 'replay' }>;

const nextDay = (day: string): string => new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);

export async function replayStep(message: ReplayMessage, deps: ReplayDeps): Promise<'continued' | 'done'> {
  const run = await deps.catalog.getRun(REPLAY_SCOPE, message.runId);
  const counts = { objects: 0, events: 0, unreadable: 0, ...(run?.progress as Record<string, number> | undefined) };
  const page = await deps.archive.list(archiveDayPrefix(message.day), message.after, OBJECTS_PER_STEP);
  for (const key of page.keys) {
    const opened = await openArchiveObject(key, deps);
    if (!opened) continue;
    counts.unreadable += opened.unreadable; // erased
    const events = opened.events.map(({ event }): EnrichedEvent => ({ ...event, replayed: true }));
    if (events.length > 0) await deps.queue.sendEvents(events);
    counts.objects++;
    counts.events += events.length;
  }
  const startedAt = run?.startedAt ?? new Date(deps.now()).toISOString();
  const progress = { from: message.from, to: message.to, day: message.day, ...counts };
  const next: ReplayMessage | undefined = page.more
    ? { ...message, after: page.keys.at(-1) }
    : nextDay(message.day) <= message.to
      ? { ...message, day: nextDay(message.day), after: undefined }
      : undefined;
  if (next) {
    await deps.catalog.putRun(REPLAY_SCOPE, { runId: message.runId, status: 'running', startedAt, progress });
    await deps.queue.send(next);
    return 'continued';
  }
  await deps.catalog.putRun(REPLAY_SCOPE, {
    runId: message.runId,
    status: 'succeeded',
    startedAt,
    finishedAt: new Date(deps.now()).toISOString(),
    progress,
  });
  return 'done';
}
