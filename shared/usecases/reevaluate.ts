/**
 * Re-evaluation of stored profiles without new events: after a segment is
 * created or changed, and daily as time windows pass.
 */

import type { QueueMessage } from '../contracts/queue-messages';
import { PrismeError } from '../domain/errors';
import type { CompiledRules } from '../domain/memberships';
import type { TransitionReason } from '../domain/profile';
import { hasKey } from '../domain/records';
import type { CatalogStore } from '../ports/catalog';
import type { EventQueue } from '../ports/event-queue';
import type { GroupStore } from '../ports/groups';
import type { ProfileStore } from '../ports/profiles';
import { GroupTraitsReader } from './group-traits';
import { loadRules } from './managed-segments';
import type { ProfileWriter } from './profile-writer';

export interface ReevaluateDeps {
  catalog: CatalogStore;
  profiles: ProfileStore;
  writer: ProfileWriter;
  now: () => number;
}

export const PROFILES_PER_PAGE = 100;
/** Run records of the daily freeze live under this scope in the catalog. */
export const FREEZE_SCOPE = 'job#freeze';
/** Run records of the re-evaluations that follow a change of indicator definition. */
export const INDICATORS_SCOPE = 'job#indicators';
export const indicatorRunId = (definition: string, revision: number): string => `${definition}-r${revision}`;

export interface PageResult {
  profiles: number;
  transitions: number;
  cursor?: string;
}

export async function reevaluatePage(
  cursor: string | undefined,
  rules: CompiledRules,
  deps: ReevaluateDeps,
  reason: TransitionReason,
): Promise<PageResult> {
  const page = await deps.profiles.scan(cursor, PROFILES_PER_PAGE);
  let transitions = 0;
  for (const profile of page.items) {
    if (profile.mergedInto) continue; // a redirect left by a merge: the survivor is evaluated on its own
    const outcome = await deps.writer.apply({ profileId: profile.profileId, events: [], identifiers: [], reason }, rules, profile);
    transitions += outcome.transitions.length;
  }
  return { profiles: page.items.length, transitions, cursor: page.cursor };
}

/**
 * One step of a walk over every stored profile: a page, then the next step is queued. Each step is
 * short and idempotent, so the walk survives restarts and scales with the queue instead of one
 * long-running function.
 */
async function walkStep(
  cursor: string | undefined,
  deps: ReevaluateDeps & { queue: EventQueue },
  step: {
    next: (cursor: string, page: PageResult) => QueueMessage;
    page: (page: PageResult) => Promise<void>;
    done: (page: PageResult) => Promise<void>;
  },
): Promise<'continued' | 'done'> {
  const page = await reevaluatePage(cursor, await loadRules(deps.catalog), deps, 'definition');
  await step.page(page);
  if (page.cursor) {
    await deps.queue.send(step.next(page.cursor, page));
    return 'continued';
  }
  await step.done(page);
  return 'done';
}

type EvaluateSegmentMessage = Extract<QueueMessage, { kind: 'evaluate-segment' }>;

/** One step of a segment's first evaluation over stored profiles. */
export async function evaluateSegmentStep(
  message: EvaluateSegmentMessage,
  deps: ReevaluateDeps & { queue: EventQueue },
): Promise<'continued' | 'done' | 'superseded'> {
  const segment = await deps.catalog.segments.get(message.segmentId);
  if (!segment || segment.revision !== message.revision) return 'superseded';
  return walkStep(message.cursor, deps, {
    next: (cursor) => ({ ...message, cursor }),
    page: (page) => deps.catalog.addSegmentProgress(segment.id, segment.revision, page.profiles),
    done: () => deps.catalog.markSegmentReady(segment.id, segment.revision),
  });
}

type EvaluateIndicatorsMessage = Extract<QueueMessage, { kind: 'evaluate-indicators' }>;

/**
 * One step of the re-evaluation a changed indicator definition starts: stage segments and segments
 * comparing indicators may move for any stored profile. Progress is a run record, like the freeze's.
 */
export async function evaluateIndicatorsStep(
  message: EvaluateIndicatorsMessage,
  deps: ReevaluateDeps & { queue: EventQueue },
): Promise<'continued' | 'done' | 'superseded'> {
  const definition = await deps.catalog.indicators.get(message.definition);
  if (!definition || definition.revision !== message.revision) return 'superseded';
  const runId = indicatorRunId(message.definition, message.revision);
  const run = await deps.catalog.getRun(INDICATORS_SCOPE, runId);
  const startedAt = run?.startedAt ?? new Date(deps.now()).toISOString();
  const progress = (page: PageResult) => ({
    definition: message.definition,
    revision: message.revision,
    profiles: (message.profiles ?? 0) + page.profiles,
    transitions: Number(run?.progress?.transitions ?? 0) + page.transitions,
  });
  return walkStep(message.cursor, deps, {
    next: (cursor, page) => ({ ...message, cursor, profiles: progress(page).profiles }),
    page: (page) =>
      page.cursor
        ? deps.catalog.putRun(INDICATORS_SCOPE, { runId, status: 'running', startedAt, progress: progress(page) })
        : Promise.resolve(),
    done: (page) => {
      const finishedAt = new Date(deps.now()).toISOString();
      const durationMs = Date.parse(finishedAt) - Date.parse(startedAt);
      return deps.catalog.putRun(INDICATORS_SCOPE, {
        runId,
        status: 'succeeded',
        startedAt,
        finishedAt,
        progress: { ...progress(page), durationMs },
      });
    },
  });
}

type EvaluateGroupMessage = Extract<QueueMessage, { kind: 'evaluate-group' }>;

/** The group a re-evaluation was sent for is not written yet: the message is retried after the visibility timeout. */
export class GroupNotWrittenError extends PrismeError {}

/**
 * One step of the re-evaluation of a group's members after its traits changed: a page of member items,
 * each member evaluated with the group's traits as stored now, then the next page is queued. Repeatable:
 * an evaluation with unchanged inputs writes nothing.
 */
export async function evaluateGroupStep(
  message: EvaluateGroupMessage,
  deps: ReevaluateDeps & { queue: EventQueue; groups: Pick<GroupStore, 'getMany' | 'members'> },
): Promise<'continued' | 'done'> {
  const [group] = await deps.groups.getMany([message.groupId]);
  if (!group || group.version < message.version)
    throw new GroupNotWrittenError(`group ${message.groupId} is not at version ${message.version} yet`);
  // Fresh, uncached: a job must not act on rules older than the change that started it.
  const rules = await loadRules(deps.catalog);
  if (!rules.needsGroups) return 'done'; // the segments comparing group traits were deleted meanwhile
  const page = await deps.groups.members(message.groupId, message.cursor, PROFILES_PER_PAGE);
  const profiles = await deps.profiles.getMany(page.items);
  const reader = new GroupTraitsReader(deps.groups, [group]);
  await reader.prefetch(profiles);
  for (const profile of profiles) {
    // A member item outlives the profile's listing (it kept its newest groups only); a merged-away one leads to the survivor.
    if (!profile.mergedInto && !hasKey(profile.groups ?? {}, message.groupId)) continue;
    await deps.writer.apply(
      { profileId: profile.profileId, events: [], identifiers: [], reason: 'events', groups: reader },
      rules,
      profile,
    );
  }
  if (!page.cursor) return 'done';
  await deps.queue.send({ ...message, cursor: page.cursor });
  return 'continued';
}
