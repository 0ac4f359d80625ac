/**
 * Reading the raw event archive back, for replays and backfills: one object's records unsealed with
 * their people's keys. An erased person's records stay unreadable (the key is gone): counted, not returned.
 */

import { type ArchivedEvent, archivedRecords, unseal } from '../domain/archive';
import type { EnrichedEvent } from '../domain/events';
import type { IdentityStore } from '../ports/identities';
import type { ObjectStore } from '../ports/objects';

/** Archive objects a replay or backfill step reads before handing on to the next step (a queue message). */
export const OBJECTS_PER_STEP = 5;

export interface ArchiveReaderDeps {
  archive: Pick<ObjectStore, 'get'>;
  identities: Pick<IdentityStore, 'archiveKeys'>;
}

export interface OpenedObject {
  events: Array<{ profileId: string; event: EnrichedEvent }>;
  unreadable: number;
}

/** The events of the archive object at `key` whose records `keep` accepts; undefined if the object is gone. */
export async function openArchiveObject(
  key: string,
  deps: ArchiveReaderDeps,
  keep: (record: ArchivedEvent) => boolean = () => true,
): Promise<OpenedObject | undefined> {
  const body = await deps.archive.get(key);
  if (!body) return undefined;
  const records = archivedRecords(body).filter(keep);
  const keys = await deps.identities.archiveKeys(records.map((r) => r.profileId));
  const opened: OpenedObject = { events: [], unreadable: 0 };
  for (const record of records) {
    const event = unseal(record, keys.get(record.profileId));
    if (event) opened.events.push({ profileId: record.profileId, event });
    else opened.unreadable++;
  }
  return opened;
}
