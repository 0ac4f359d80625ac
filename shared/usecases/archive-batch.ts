/** The raw event archive: what a delivery folded, sealed per person, for replays and backfills. */
import { gzipSync } from 'node:zlib';
import { archiveKey, newArchiveKey, seal } from '../domain/archive';
import type { Logger } from '../logger';
import type { EventQueue } from '../ports/event-queue';
import type { IdentityStore } from '../ports/identities';
import type { ObjectStore } from '../ports/objects';
import type { SourcedEvent } from './sourced-event';

export interface ArchiveDeps {
  identities: Pick<IdentityStore, 'archiveKeys'>;
  /** Where raw events are archived (sealed per person); no archive when absent. */
  archive?: Pick<ObjectStore, 'put' | 'list' | 'get'>;
  /** Takes the events that could not be archived, to be archived by a later delivery. */
  queue?: Pick<EventQueue, 'send'>;
  logger: Logger;
}

/**
 * Archives the events this delivery folded, each sealed with its person's key, as one object. If that
 * fails, each queue message's events are archived as an object of their own, so one person's key or
 * object does not hold back the other messages. Events still not archived go back to the queue marked
 * `unarchived`, to be archived though their profiles have them (a retry of their message would find
 * them folded and archive nothing); if that send fails too, the error log names them.
 */
export async function archiveBatch(folded: ReadonlyArray<readonly [string, SourcedEvent[]]>, deps: ArchiveDeps): Promise<void> {
  if (folded.length === 0) return;
  const archive = async (part: ReadonlyArray<readonly [string, SourcedEvent[]]>) => {
    const keys = await deps.identities.archiveKeys(
      part.map(([profileId]) => profileId),
      newArchiveKey,
    );
    // Replayed events came from the archive: they are there already.
    const records = part.flatMap(([profileId, items]) =>
      items.filter((i) => !i.event.replayed).map((i) => seal(i.event, profileId, keys.get(profileId)!)),
    );
    if (records.length === 0) return;
    await deps.archive!.put(archiveKey(records), gzipSync(`${records.map((r) => JSON.stringify(r)).join('\n')}\n`), 'application/gzip');
  };
  try {
    await archive(folded);
    return;
  } catch (error) {
    deps.logger.warn('archive write failed for the batch: archiving each message alone', { error: error as Error });
  }
  const byOrigin = new Map<string, Array<readonly [string, SourcedEvent[]]>>();
  for (const [profileId, items] of folded) {
    for (const item of items) {
      const parts = byOrigin.get(item.origin) ?? byOrigin.set(item.origin, []).get(item.origin)!;
      const part = parts.find(([id]) => id === profileId);
      if (part) part[1].push(item);
      else parts.push([profileId, [item]]);
    }
  }
  for (const [origin, parts] of byOrigin) {
    try {
      await archive(parts);
    } catch (error) {
      const items = parts.flatMap(([, part]) => part);
      try {
        if (!deps.queue) throw new Error('this processor has no queue to hand the events back to');
        await deps.queue.send({ v: 1, kind: 'events', events: items.map((i) => i.event), unarchived: true });
        deps.logger.warn('archive write failed: the events are queued again to be archived', {
          origin,
          events: items.length,
          error: error as Error,
        });
      } catch (sendError) {
        // Their profiles have them: a retry would find them folded. Named, so an operator knows which.
        const messageIds = items.map((i) => i.event.messageId);
        deps.logger.error('archive write failed and the events could not be queued again: they are missing from the archive', {
          origin,
          messageIds,
          error: error as Error,
          sendError: sendError as Error,
        });
      }
    }
  }
}
