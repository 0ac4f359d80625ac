/**
 * Writes the traits of a batch's group calls onto their groups, before the batch's profiles are
 * evaluated (so they see them), and starts the re-evaluation of a group's members when its traits change.
 */

import { backoff } from '../concurrency';
import type { EnrichedEvent } from '../domain/events';
import { foldGroupCalls, type Group, newGroup } from '../domain/groups';
import { VersionConflictError } from '../errors';
import type { Logger } from '../logger';
import type { EventQueue } from '../ports/event-queue';
import type { GroupStore } from '../ports/groups';

export interface GroupWriterDeps {
  groups: Pick<GroupStore, 'getMany' | 'put'>;
  queue: Pick<EventQueue, 'send'>;
  logger: Logger;
  now: () => number;
}

/** Many people of one account post at once (a company-wide login): the writers of a group back off and try again. */
const MAX_ATTEMPTS = 12;

/**
 * The member re-evaluation waits this long, so it finds the write it was sent for (sent before it:
 * a write that is done always has its re-evaluation queued).
 */
export const GROUP_EVALUATION_DELAY_SECONDS = 2;

/**
 * Folds one group's calls into the stored group, with a write conditional on the version read, read
 * again and folded again on conflict (processors write one account's group concurrently). Repeating
 * calls changes nothing and writes nothing. When `reevaluateMembers` (a segment compares group traits)
 * and traits changed, a job re-evaluating every member is queued first. Returns the group as stored.
 */
export async function writeGroupCalls(
  groupId: string,
  calls: readonly EnrichedEvent[],
  deps: GroupWriterDeps,
  reevaluateMembers: boolean,
): Promise<Group> {
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) await backoff(attempt - 1);
    const [stored] = await deps.groups.getMany([groupId]);
    const current = stored ?? newGroup(groupId);
    const { group, changed, limits } = foldGroupCalls(current, calls);
    if (changed.length === 0) return current;
    if (limits.length > 0) deps.logger.warn('group limit reached: the group stays bounded and left something out', { groupId, limits });
    const next: Group = { ...group, version: current.version + 1, updatedAt: new Date(deps.now()).toISOString() };
    if (reevaluateMembers) {
      await deps.queue.send({ v: 1, kind: 'evaluate-group', groupId, version: next.version }, GROUP_EVALUATION_DELAY_SECONDS);
    }
    try {
      await deps.groups.put(next, current.version);
      return next;
    } catch (error) {
      if (!(error instanceof VersionConflictError) || attempt >= MAX_ATTEMPTS) throw error;
      deps.logger.debug('group version conflict, retrying', { groupId, attempt });
    }
  }
}
