/**
 * Backfill: when a segment needs filtered or valued aggregates no profile kept yet, live events fold
 * into them from `since` (the segment's save, plus the processors' cache delay) and this job adds the
 * older ones from the raw event archive: those received before `since` (`receivedAt` is fixed at
 * ingest). The queue does not keep order, so one received before may reach the processor only after
 * this job has read its part of the archive, or before it is archived at all: the live fold takes
 * such a late event and notes it on its profile, and this job skips the events noted. What this job
 * reads was archived after its profile folded it live, so a later delivery is a redelivery. Every
 * event is counted once (see late-folds.ts).
 *
 * Archive objects are read in key order, a few per step (each step a queue message). Each profile
 * remembers the last position of the run it took (object key, then archived profile id), so a
 * redelivered step adds nothing twice. At the end the specs are marked whole in every segment, and
 * the segment's first evaluation over stored profiles starts.
 */

import type { QueueMessage } from '../contracts/queue-messages';
import { takesEvent } from '../domain/aggregates';
import { ARCHIVE_PREFIX, archiveDayOf } from '../domain/archive';
import { BACKFILL_MAX_DAYS, behaviourName } from '../domain/buckets';
import type { EnrichedEvent } from '../domain/events';
import { PROFILE_LIMITS } from '../domain/profile';
import { DAY_MS, dayIndex } from '../domain/time';
import type { CatalogStore } from '../ports/catalog';
import type { EventQueue } from '../ports/event-queue';
import type { IdentityStore } from '../ports/identities';
import type { ObjectStore } from '../ports/objects';
import { OBJECTS_PER_STEP, openArchiveObject } from './archive-reader';
import { loadRules } from './managed-segments';
import type { ProfileWriter } from './profile-writer';

export const BACKFILL_SCOPE = 'job#backfill';
export const backfillRunId = (segmentId: string, revision: number): string => `${segmentId}-r${revision}`;

export interface BackfillDeps {
  catalog: CatalogStore;
  identities: Pick<IdentityStore, 'archiveKeys'>;
  /** Absent when the processor has no archive: the specs then keep counting from `since`. */
  archive?: Pick<ObjectStore, 'list' | 'get'>;
  queue: Pick<EventQueue, 'send'>;
  writer: Pick<ProfileWriter, 'apply'>;
  now: () => number;
}

export type BackfillMessage = Extract<QueueMessage, { kind: 'backfill' }>;

export async function backfillStep(
  message: BackfillMessage,
  deps: BackfillDeps,
): Promise<'continued' | 'done' | 'superseded' | 'skipped' | 'failed'> {
  const { runId } = message;
  const run = await deps.catalog.getRun(BACKFILL_SCOPE, runId);
  if (run && run.status !== 'running') return 'done'; // a redelivery of the last step
  const now = deps.now();
  const startedAt = run?.startedAt ?? new Date(now).toISOString();
  const counts = { objects: 0, events: 0, profileWrites: 0, unreadable: 0, ...(run?.progress as Record<string, number> | undefined) };
  const progress = (extra: Record<string, unknown> = {}) => ({
    segmentId: message.segmentId,
    revision: message.revision,
    specs: message.specs,
    since: message.since,
    ...counts,
    ...extra,
  });
  const finish = async (status: 'succeeded' | 'skipped' | 'failed', extra: Record<string, unknown> = {}) => {
    await deps.catalog.putRun(BACKFILL_SCOPE, {
      runId,
      status,
      startedAt,
      finishedAt: new Date(deps.now()).toISOString(),
      progress: progress(extra),
    });
    // Whatever happened, the segment's first evaluation over stored profiles still has to run.
    await deps.queue.send({ v: 1, kind: 'evaluate-segment', segmentId: message.segmentId, revision: message.revision });
  };

  const rules = await loadRules(deps.catalog);
  const specs = rules.specs.filter((spec) => message.specs.includes(spec.id));
  if (specs.length === 0) {
    await finish('skipped', { reason: 'no segment needs these aggregates any more' });
    return 'superseded';
  }
  const { archive } = deps;
  if (!archive) {
    await finish('skipped', { reason: `no event archive: the aggregates count events received from ${message.since}` });
    return 'skipped';
  }
  if (now - Date.parse(startedAt) > BACKFILL_MAX_DAYS * DAY_MS) {
    // Profiles forget a run's markers after this: going on could add a part twice.
    await finish('failed', { reason: `a backfill must finish within ${BACKFILL_MAX_DAYS} days` });
    return 'failed';
  }

  const since = Date.parse(message.since);
  const lastDay = message.since.slice(0, 10);
  const firstDay = new Date((dayIndex(since) - PROFILE_LIMITS.horizonDays) * DAY_MS).toISOString().slice(0, 10);
  const startDay = dayIndex(Date.parse(startedAt));
  // From the first key (older days skipped here): s3rver fails a listing that starts after a key it lacks.
  const page = await archive.list(ARCHIVE_PREFIX, message.after, OBJECTS_PER_STEP);
  const keys = page.keys.filter((key) => archiveDayOf(key) <= lastDay);
  for (const key of keys) {
    if (archiveDayOf(key) < firstDay) continue; // beyond the longest window a segment reads
    const opened = await openArchiveObject(
      key,
      { archive, identities: deps.identities },
      (record) => Date.parse(record.receivedAt) < since,
    );
    if (!opened) continue;
    counts.unreadable += opened.unreadable; // erased
    const byProfile = new Map<string, EnrichedEvent[]>();
    for (const { profileId, event } of opened.events) {
      // Only events some spec takes: a profile with none is not even read.
      const name = behaviourName(event);
      if (name === undefined || !specs.some((spec) => takesEvent(spec, name) && spec.valueOf(event, now) !== undefined)) continue;
      byProfile.get(profileId)?.push(event) ?? byProfile.set(profileId, [event]);
      counts.events++;
    }
    // In profile id order: the position must only grow within the run.
    for (const profileId of [...byProfile.keys()].sort()) {
      const position = `${key.slice(ARCHIVE_PREFIX.length)}#${profileId}`;
      const backfill = { runId, startDay, position, events: byProfile.get(profileId)!, specs };
      const outcome = await deps.writer.apply({ profileId, events: [], identifiers: [], reason: 'definition', backfill }, rules);
      if (outcome.written) counts.profileWrites++;
    }
    counts.objects++;
  }

  if (page.more && keys.length === page.keys.length) {
    await deps.catalog.putRun(BACKFILL_SCOPE, {
      runId,
      status: 'running',
      startedAt,
      progress: progress({ day: archiveDayOf(keys.at(-1)!) }),
    });
    await deps.queue.send({ ...message, after: keys.at(-1) });
    return 'continued';
  }
  await deps.catalog.clearSpecsSince(message.specs);
  await finish('succeeded', { durationMs: deps.now() - Date.parse(startedAt) });
  return 'done';
}
