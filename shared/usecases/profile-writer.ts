/**
 * The one path by which a profile changes: read, fold, evaluate, conditional
 * write, then apply the membership outbox. Used by the processor (events), the
 * segment evaluation job and the daily freeze (time passing).
 */

import { createHash } from 'node:crypto';
import { DETAIL_TYPES } from '../contracts/detail-types';
import { membershipChangedDetail } from '../contracts/events';
import { dueKey } from '../domain/due-index';
import type { EnrichedEvent } from '../domain/events';
import { type BackfillChange, foldBackfill, foldEvents } from '../domain/fold';
import type { FrozenValues } from '../domain/frozen';
import { type Identifier, identifierKey } from '../domain/identity';
import { type CompiledRules, changesOf, evaluateMemberships } from '../domain/memberships';
import { mergeProfiles } from '../domain/merge';
import { nextCheckAt } from '../domain/next-change';
import type { TransitionReason } from '../domain/profile';
import { type LimitReached, newProfile, type Profile } from '../domain/profile';
import { hasKey } from '../domain/records';
import { changeId, packPending, pendingTransitions, type Transition } from '../domain/transitions';
import { VersionConflictError } from '../errors';
import type { Logger } from '../logger';
import type { DailyChanges, Migration, StatsStore } from '../ports/catalog';
import type { EventPublisher } from '../ports/event-publisher';
import type { FrozenStore } from '../ports/frozen';
import type { GroupStore } from '../ports/groups';
import type { IdentityStore } from '../ports/identities';
import type { MembershipStore } from '../ports/memberships';
import type { MetricsRecorder } from '../ports/metrics';
import type { ProfileStore } from '../ports/profiles';
import { followMerges } from './follow-merges';
import { GroupTraitsReader } from './group-traits';

export interface ProfileWriterDeps {
  profiles: ProfileStore;
  /** Needed to merge profiles: the loser's identifiers are moved to the survivor. */
  identities?: Pick<IdentityStore, 'repoint'>;
  /** Per-day entry and exit counters (segment history). */
  stats: Pick<StatsStore, 'countTransitions' | 'countMigrations'>;
  /** Segment size counters, written as the memberships change. */
  sizes: Pick<StatsStore, 'addToSizes'>;
  memberships: MembershipStore;
  publisher: EventPublisher;
  logger: Logger;
  now: () => number;
  /** Read when a segment compares a frozen indicator (RFM, cluster, churn risk). */
  frozen?: Pick<FrozenStore, 'getMany'>;
  /** Read when a segment compares the traits of a profile's groups; lists a profile among a group's members when it joins one. */
  groups?: Pick<GroupStore, 'getMany' | 'addMember'>;
  /** Membership changes and merges, as they are written. */
  metrics?: MetricsRecorder;
}

export interface ProfileChange {
  profileId: string;
  events: readonly EnrichedEvent[];
  identifiers: readonly Identifier[];
  /** Why this write happens; recorded on the transitions it causes. */
  reason: TransitionReason;
  /** A profile of the same person to fold into this one (a merge). */
  absorb?: Profile;
  /** Frozen indicators just computed (by the freeze), instead of the stored ones. */
  frozen?: FrozenValues;
  /** Archived events for the aggregates a new segment needs; never creates a profile. */
  backfill?: BackfillChange;
  /** Groups' traits known to the caller (a batch, a job step), shared by the profiles it writes. */
  groups?: GroupTraitsReader;
}

export interface WriteOutcome {
  applied: number;
  duplicates: number;
  /** The change's events the profile had folded already (a redelivery, a client's retry): not archived again. */
  duplicateEvents: ReadonlySet<EnrichedEvent>;
  transitions: Transition[];
  written: boolean;
}

const MAX_ATTEMPTS = 8;

export class ProfileWriter {
  constructor(private readonly deps: ProfileWriterDeps) {}

  /**
   * Applies a change with optimistic locking. Safe to repeat: folded events are
   * recognised by message id, and transitions of the previous write that a crash
   * left unapplied are applied before anything else (see `settle`).
   */
  async apply(change: ProfileChange, rules: CompiledRules, existing?: Profile): Promise<WriteOutcome> {
    let current = existing;
    const frozen = change.frozen ?? (rules.needsFrozen ? await this.frozenValues(change.profileId) : undefined);
    for (let attempt = 1; ; attempt++) {
      current ??= await this.deps.profiles.get(change.profileId);
      if (current?.mergedInto) {
        // Merged away: finish the merge if it was interrupted, then write to the survivor.
        const survivor = await this.merge(current.mergedInto, current.profileId, rules);
        if (change.identifiers.length > 0) await this.repoint(change.identifiers, current.profileId, survivor);
        return this.apply({ ...change, profileId: survivor }, rules);
      }
      if (current) await this.settle(pendingTransitions(current), rules);
      if (!current && change.backfill) return { applied: 0, duplicates: 0, duplicateEvents: new Set(), transitions: [], written: false }; // erased, or rebuilt without it

      const now = this.deps.now();
      const fresh = current ?? newProfile(change.profileId, change.events[0]?.timestamp ?? new Date(now).toISOString());
      const mergeLimits: LimitReached[] = [];
      const base = change.absorb ? mergeProfiles(fresh, change.absorb, now, mergeLimits, rules.indicators.categoryRule) : fresh;
      const absorbed = base !== fresh;
      const folded = foldEvents(base, change.events, change.identifiers, now, rules.specs, rules.indicators.categoryRule, rules.orders);
      const backfilled = change.backfill ? foldBackfill(folded.profile, change.backfill, now, folded.limits) : false;
      const limits = [...mergeLimits, ...folded.limits];
      // A profile seen before, changed by events: only the segments those events can affect. New profiles,
      // merges and re-evaluations without events (jobs, time passing) evaluate every segment.
      const changes = current && !absorbed && change.events.length > 0 ? changesOf(folded.applied) : undefined;
      const indicators = { ...rules.indicators.valuesOf(folded.profile, now), ...frozen };
      const groupTraits = rules.needsGroups ? await this.groupsReader(change).traitsOf(folded.profile) : undefined;
      const { segments: memberOf, transitions } = evaluateMemberships(
        folded.profile,
        rules.segments,
        now,
        changes,
        change.reason,
        indicators,
        groupTraits,
      );
      const identifiersChanged = absorbed || JSON.stringify(folded.profile.identifiers) !== JSON.stringify(fresh.identifiers);
      const outcome = {
        applied: folded.applied.length,
        duplicates: folded.duplicates.length,
        duplicateEvents: new Set(folded.duplicates),
        transitions,
      };
      const evaluated: Profile = { ...folded.profile, segments: memberOf };
      const checkAt = nextCheckAt(rules, evaluated, now);
      const due = checkAt === Infinity ? undefined : dueKey(checkAt, base.profileId);
      // A key of an earlier format (by the hour) is filed anew, even when the instant is unchanged.
      const scheduleChanged = (base.nextCheckAt ?? Infinity) !== checkAt || base.due !== due;
      if (folded.applied.length === 0 && !backfilled && transitions.length === 0 && !identifiersChanged && !scheduleChanged) {
        return { ...outcome, written: false };
      }

      const next: Profile = {
        ...evaluated,
        pending: packPending(transitions, evaluated.version),
        version: fresh.version + 1,
        nextCheckAt: checkAt === Infinity ? undefined : checkAt,
        due,
      };
      // Listed among the members before the profile names the group, so a change of the group's traits always finds it.
      await this.addToGroups(next, fresh);
      try {
        await this.deps.profiles.put(next, fresh.version);
      } catch (error) {
        if (error instanceof VersionConflictError && attempt < MAX_ATTEMPTS) {
          this.deps.logger.debug('profile version conflict, retrying', { profileId: change.profileId, attempt });
          current = undefined;
          continue;
        }
        throw error;
      }
      if (limits.length > 0) {
        this.deps.logger.warn('profile limit reached: the profile stays bounded and left something out', {
          profileId: next.profileId,
          limits,
        });
      }
      // Left in the item: the next write checks them against the membership table (`settle`) and replaces
      // them, which saves clearing them here with an update billed at the whole item's size.
      if (transitions.length > 0) {
        this.deps.metrics?.add('membershipChanges', transitions.length, {});
        await this.applyTransitions(transitions);
      }
      return { ...outcome, written: true };
    }
  }

  /**
   * Merges `loserId` into `survivorId`, in steps that can each be repeated: mark the loser (from then on
   * every write follows it), fold it into the survivor (once: the survivor records what it absorbed),
   * move its identifiers, end its memberships, publish, and shrink the loser to a redirect.
   * Returns the profile that survives, which may differ if the loser was already merged elsewhere.
   */
  async merge(requestedSurvivor: string, loserId: string, rules: CompiledRules): Promise<string> {
    // Mark the loser into the final survivor, never into a profile that was itself merged away.
    let survivorId = await this.finalProfileId(requestedSurvivor);
    if (survivorId === loserId) return survivorId;
    let loser = await this.deps.profiles.get(loserId);
    for (let attempt = 1; loser && !loser.mergedInto; attempt++) {
      try {
        await this.deps.profiles.put({ ...loser, mergedInto: survivorId, version: loser.version + 1 }, loser.version);
        loser = { ...loser, mergedInto: survivorId, version: loser.version + 1 };
      } catch (error) {
        if (!(error instanceof VersionConflictError) || attempt >= MAX_ATTEMPTS) throw error;
        loser = await this.deps.profiles.get(loserId);
      }
    }
    if (!loser) {
      // Not written yet (another batch may be about to): leave a redirect in its place, so that write fails
      // its condition, re-reads, and follows the redirect to the survivor.
      try {
        const redirect: Profile = {
          ...newProfile(loserId, new Date(this.deps.now()).toISOString()),
          mergedInto: survivorId,
          mergeCompleted: true,
          version: 1,
        };
        await this.deps.profiles.put(redirect, 0);
        return survivorId;
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
        return this.merge(survivorId, loserId, rules); // it was written meanwhile: merge it properly
      }
    }
    if (loser.mergedInto !== survivorId) {
      // Merged elsewhere first: that merge wins. If it was interrupted, finish it, into wherever it now leads.
      const target = await this.finalProfileId(loser.mergedInto!);
      if (loser.mergeCompleted) return target;
      survivorId = target;
    }
    await this.settle(pendingTransitions(loser), rules);
    if (loser.mergeCompleted) return survivorId;

    await this.apply({ profileId: survivorId, events: [], identifiers: [], reason: 'merge', absorb: loser }, rules);
    const identifiers = Object.entries(loser.identifiers).flatMap(([type, values]) => (values ?? []).map((value) => ({ type, value })));
    await this.repoint(identifiers, loserId, survivorId);
    const at = new Date(this.deps.now()).toISOString();
    const exits: Transition[] = loser.segments.map((segmentId) => ({
      id: createHash('sha256').update(`${loserId}\u0000${segmentId}\u0000merged`).digest('hex').slice(0, 32),
      segmentId,
      segmentRevision: rules.segments.find((s) => s.id === segmentId)?.revision ?? 0,
      profileId: loserId,
      change: 'exited',
      at,
      reason: 'merge',
    }));
    if (exits.length > 0) await this.applyTransitions(exits);
    await this.deps.publisher.publish([
      { detailType: DETAIL_TYPES.profileMerged, detail: { version: 1, survivorId, mergedId: loserId, at } },
    ]);
    try {
      // Keep only the redirect: lookups by the loser's id still find the survivor.
      const stub: Profile = {
        ...newProfile(loserId, loser.firstSeen),
        mergedInto: survivorId,
        mergeCompleted: true,
        version: loser.version + 1,
      };
      await this.deps.profiles.put(stub, loser.version);
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error; // another worker finished it
    }
    this.deps.metrics?.add('profilesMerged', 1, {});
    this.deps.logger.info('profiles merged', { survivorId, mergedId: loserId });
    return survivorId;
  }

  private groupsReader(change: ProfileChange): GroupTraitsReader {
    if (change.groups) return change.groups;
    if (!this.deps.groups) throw new Error('ProfileWriter needs the group store: a segment compares the traits of groups');
    return new GroupTraitsReader(this.deps.groups);
  }

  /** Member items for the groups `next` lists and `stored` did not (a group call, or a merge bringing the other profile's). */
  private async addToGroups(next: Profile, stored: Profile): Promise<void> {
    const joined = Object.keys(next.groups ?? {}).filter((groupId) => !hasKey(stored.groups ?? {}, groupId));
    if (joined.length === 0) return;
    if (!this.deps.groups) throw new Error('ProfileWriter needs the group store: a profile joined a group');
    await Promise.all(joined.map((groupId) => this.deps.groups!.addMember(groupId, next.profileId)));
  }

  private async frozenValues(profileId: string): Promise<FrozenValues | undefined> {
    if (!this.deps.frozen) throw new Error('ProfileWriter needs the frozen store: a segment compares a frozen indicator');
    return (await this.deps.frozen.getMany([profileId]))[0]?.values;
  }

  private async finalProfileId(profileId: string): Promise<string> {
    return (await followMerges(this.deps.profiles, profileId)).profileId;
  }

  private async repoint(identifiers: readonly Identifier[], from: string, to: string): Promise<void> {
    if (!this.deps.identities) throw new Error('ProfileWriter needs the identity store to merge profiles');
    await Promise.all(identifiers.map((id) => this.deps.identities!.repoint(identifierKey(id), from, to)));
  }

  /**
   * The outbox of the profile's previous write: applied again if a crash left any of it out. The
   * membership table says whether: an entry is applied once its item holds the transition's time, an
   * exit once the item is gone (memberships are written after publishing, so an applied one was
   * published, and counted after all of them). Segments deleted since are left alone.
   */
  private async settle(pending: readonly Transition[], rules: CompiledRules): Promise<void> {
    if (pending.length === 0) return;
    const known = new Set(rules.segments.map((s) => s.id));
    const open = pending.filter((t) => known.has(t.segmentId));
    if (open.length === 0) return;
    const entered = await this.deps.memberships.enteredAt(
      open[0]!.profileId,
      open.map((t) => t.segmentId),
      { consistent: true },
    );
    const applied = (t: Transition) => (t.change === 'entered' ? entered.get(t.segmentId) === t.at : !entered.has(t.segmentId));
    // Published again whole, with the id the write published it under: consumers drop the repeat.
    if (!open.every(applied)) await this.applyTransitions(open, changeId(pending));
  }

  /**
   * One profile's change: publish it as one event, then write the memberships, then count. A
   * membership in the table means its event went out. Repeatable: membership puts and deletes
   * converge, and the event's id is deterministic.
   */
  private async applyTransitions(transitions: readonly Transition[], id?: string): Promise<void> {
    await this.deps.publisher.publish([{ detailType: DETAIL_TYPES.membershipChanged, detail: membershipChangedDetail(transitions, id) }]);
    // Each write says whether it changed membership: sizes count those only, so a repeat counts nothing.
    const changed = await Promise.all(
      transitions.map((t) =>
        t.change === 'entered'
          ? this.deps.memberships.enter(t.segmentId, t.profileId, t.at)
          : this.deps.memberships.exit(t.segmentId, t.profileId),
      ),
    );
    await this.deps.sizes.addToSizes(
      transitions.flatMap((t, i) => (changed[i] ? [{ segmentId: t.segmentId, delta: t.change === 'entered' ? 1 : -1 }] : [])),
    );
    await this.deps.stats.countTransitions(dailyChanges(transitions));
    const moves = migrationsOf(transitions);
    if (moves.length > 0) await this.deps.stats.countMigrations(moves);
    for (const t of transitions) {
      this.deps.logger.debug('segment membership changed', { segmentId: t.segmentId, profileId: t.profileId, change: t.change });
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

/**
 * A profile that left some segments and entered others in one change migrated from each of the
 * former to each of the latter ("cold prospect" to "warm prospect").
 */
export function migrationsOf(transitions: readonly Transition[]): Migration[] {
  const left = transitions.filter((t) => t.change === 'exited');
  const entered = transitions.filter((t) => t.change === 'entered');
  return left.flatMap((from) =>
    entered
      .filter((to) => to.profileId === from.profileId)
      .map((to) => ({ day: to.at.slice(0, 10), from: from.segmentId, to: to.segmentId, profiles: 1 })),
  );
}
