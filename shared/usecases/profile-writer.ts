/**
 * The one path by which a profile changes: read, fold, evaluate, conditional
 * write, then apply the membership outbox. Used by the processor (events), the
 * segment evaluation job and the daily freeze (time passing).
 */
import type { CatalogStore, DailyChanges, Migration } from '../adapters/dynamodb/catalog-store';
import type { MembershipStore } from '../adapters/dynamodb/membership-store';
import type { ProfileStore } from '../adapters/dynamodb/profile-store';
import { DETAIL_TYPES, type EventPublisher } from '../adapters/eventbridge/event-publisher';
import type { EnrichedEvent } from '../domain/events';
import type { Identifier } from '../domain/identity';
import { dueKey, nextCheckAt } from '../domain/next-change';
import { behaviourName, foldEvents, newProfile, type Profile, type Transition, type TransitionReason } from '../domain/profile';
import { evaluateMemberships, type CompiledCatalog, type ProfileChanges } from '../domain/segments';
import { VersionConflictError } from '../errors';
import type { Logger } from '../logger';

export interface ProfileWriterDeps {
  profiles: ProfileStore;
  /** Per-day entry and exit counters (segment history). */
  stats: Pick<CatalogStore, 'countTransitions' | 'countMigrations'>;
  memberships: MembershipStore;
  publisher: EventPublisher;
  logger: Logger;
  now: () => number;
}

export interface ProfileChange {
  profileId: string;
  events: readonly EnrichedEvent[];
  identifiers: readonly Identifier[];
  /** Why this write happens; recorded on the transitions it causes. */
  reason: TransitionReason;
}

export interface WriteOutcome {
  applied: number;
  duplicates: number;
  transitions: Transition[];
  written: boolean;
}

const MAX_ATTEMPTS = 8;

export class ProfileWriter {
  constructor(private readonly deps: ProfileWriterDeps) {}

  /**
   * Applies a change with optimistic locking. Safe to repeat: folded events are
   * recognised by message id, and transitions left in the outbox by a crash are
   * applied before anything else.
   */
  async apply(change: ProfileChange, catalog: CompiledCatalog, existing?: Profile): Promise<WriteOutcome> {
    let current = existing;
    for (let attempt = 1; ; attempt++) {
      current ??= await this.deps.profiles.get(change.profileId);
      if (current && current.pending.length > 0) await this.applyTransitions(current.pending);

      const now = this.deps.now();
      const base = current ?? newProfile(change.profileId, change.events[0]?.timestamp ?? new Date(now).toISOString());
      const folded = foldEvents(base, change.events, change.identifiers, now, catalog.specs);
      // A profile seen before, changed by events: only the segments those events can affect. New profiles and
      // re-evaluations without events (jobs, time passing) evaluate every segment.
      const changes = current && change.events.length > 0 ? changesOf(folded.applied) : undefined;
      const { segments: memberOf, transitions } = evaluateMemberships(folded.profile, catalog.segments, now, changes, change.reason);
      const identifiersChanged = JSON.stringify(folded.profile.identifiers) !== JSON.stringify(base.identifiers);
      const outcome = { applied: folded.applied.length, duplicates: folded.duplicates.length, transitions };
      const evaluated: Profile = { ...folded.profile, segments: memberOf };
      const checkAt = nextCheckAt(catalog, evaluated, now);
      const scheduleChanged = (base.nextCheckAt ?? Infinity) !== checkAt;
      if (folded.applied.length === 0 && transitions.length === 0 && !identifiersChanged && !scheduleChanged) {
        return { ...outcome, written: false };
      }

      const next: Profile = {
        ...evaluated,
        pending: transitions,
        version: base.version + 1,
        nextCheckAt: checkAt === Infinity ? undefined : checkAt,
        due: checkAt === Infinity ? undefined : dueKey(checkAt, base.profileId),
      };
      try {
        await this.deps.profiles.put(next, base.version);
      } catch (error) {
        if (error instanceof VersionConflictError && attempt < MAX_ATTEMPTS) {
          this.deps.logger.debug('profile version conflict, retrying', { profileId: change.profileId, attempt });
          current = undefined;
          continue;
        }
        throw error;
      }
      if (transitions.length > 0) {
        await this.applyTransitions(transitions);
        await this.deps.profiles.clearPending(next.profileId, next.version);
      }
      return { ...outcome, written: true };
    }
  }

  /** Idempotent: membership puts and deletes converge, and each event carries its transition id. */
  private async applyTransitions(transitions: readonly Transition[]): Promise<void> {
    await Promise.all(
      transitions.map((t) =>
        t.change === 'entered'
          ? this.deps.memberships.enter(t.segmentId, t.profileId, t.at)
          : this.deps.memberships.exit(t.segmentId, t.profileId),
      ),
    );
    await this.deps.stats.countTransitions(dailyChanges(transitions));
    const moves = migrationsOf(transitions);
    if (moves.length > 0) await this.deps.stats.countMigrations(moves);
    await this.deps.publisher.publish(
      transitions.map((t) => ({ detailType: DETAIL_TYPES.membershipChanged, detail: { ...t, version: 1 } })),
    );
    for (const t of transitions) {
      this.deps.logger.info('segment membership changed', { segmentId: t.segmentId, profileId: t.profileId, change: t.change });
    }
  }
}

/** Transitions grouped into per-segment, per-day counts: one counter update per group. */
export function dailyChanges(transitions: readonly Transition[]): DailyChanges[] {
  const groups = new Map<string, DailyChanges>();
  for (const t of transitions) {
    const day = t.at.slice(0, 10);
    const key = `${t.segmentId}\u0000${day}`;
    const group = groups.get(key) ?? { segmentId: t.segmentId, day, entered: 0, exited: 0 };
    group[t.change === 'entered' ? 'entered' : 'exited'] += 1;
    groups.set(key, group);
  }
  return [...groups.values()];
}

function changesOf(events: readonly EnrichedEvent[]): ProfileChanges {
  const names = new Set<string>();
  const traits = new Set<string>();
  for (const event of events) {
    const name = behaviourName(event);
    if (name !== undefined) names.add(name);
    for (const trait of Object.keys(event.traits)) traits.add(trait);
  }
  return { events: names, traits };
}

/**
 * A profile that left some segments and entered others in one change migrated from each of the
 * former to each of the latter ("cold prospect" to "warm prospect").
 */
export function migrationsOf(transitions: readonly Transition[]): Migration[] {
  const left = transitions.filter((t) => t.change === 'exited');
  const entered = transitions.filter((t) => t.change === 'entered');
  return left.flatMap((from) =>
    entered.filter((to) => to.profileId === from.profileId).map((to) => ({ day: to.at.slice(0, 10), from: from.segmentId, to: to.segmentId, profiles: 1 })),
  );
}
