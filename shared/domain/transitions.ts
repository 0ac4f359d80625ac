/**
 * Membership transitions (entered, exited) and the outbox that carries them on the profile item until
 * they are written and published; ids are deterministic, so a retry repeats rather than duplicates.
 * Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import type { PendingChanges, Profile, TransitionReason } from './profile';
import { emptyRecord } from './records';

/** A membership change: published, written to the membership table, counted in the segment's history. */
export interface Transition {
  id: string;
  segmentId: string;
  /** The segment definition's revision that decided this change. */
  segmentRevision: number;
  profileId: string;
  change: 'entered' | 'exited';
  at: string;
  reason: TransitionReason;
}

/** The outbox to store with a write, from that write's transitions and the version it read. */
export function packPending(transitions: readonly Transition[], baseVersion: number): PendingChanges | undefined {
  const first = transitions[0];
  if (!first) return undefined;
  const pending: PendingChanges = { baseVersion, at: Date.parse(first.at), reason: first.reason };
  for (const t of transitions) (pending[t.change] ??= emptyRecord())[t.segmentId] = t.segmentRevision;
  return pending;
}

/** The transitions a stored profile's outbox holds, ids included, as the write that made them produced them. */
export function pendingTransitions(profile: Pick<Profile, 'profileId' | 'pending'>): Transition[] {
  const { pending } = profile;
  if (!pending) return [];
  if (Array.isArray(pending)) return pending as Transition[]; // written before the outbox was compact: the transitions themselves
  const at = new Date(pending.at).toISOString();
  return (['entered', 'exited'] as const).flatMap((change) =>
    Object.entries(pending[change] ?? {}).map(([segmentId, segmentRevision]) => ({
      id: transitionId(profile.profileId, segmentId, change, pending.baseVersion),
      segmentId,
      segmentRevision,
      profileId: profile.profileId,
      change,
      at,
      reason: pending.reason,
    })),
  );
}

/**
 * Deterministic, so a retried write publishes the same id and consumers can drop the duplicate:
 * `version` is the one the write read (it makes `version + 1`).
 */
export const transitionId = (profileId: string, segmentId: string, change: string, version: number): string =>
  createHash('sha256').update(`${profileId}\u0000${segmentId}\u0000${change}\u0000${version}`).digest('hex').slice(0, 32);

/** The id of a change made of these transitions (published as one event): the same transitions, the same id. */
export const changeId = (transitions: readonly Pick<Transition, 'id'>[]): string =>
  createHash('sha256')
    .update(
      transitions
        .map((t) => t.id)
        .sort()
        .join('\u0000'),
    )
    .digest('hex')
    .slice(0, 32);
