/**
 * Table-driven timeline tests of the segment engine, on a fake clock (after Dittofeed's
 * computeProperties table tests): a case is segments and a list of steps; each step submits events,
 * runs the time sweep, moves the clock, or asserts what the profile shows.
 *
 * The engine is driven as the profile writer drives it: fold the events at the clock's instant
 * (pruning and coarsening old days), evaluate the segments (on events only those the events can
 * affect, as the writer does for a known profile), and schedule the next check (`nextCheckAt`). The
 * sweep takes the profile only once it is due, as the time sweep does. So a membership that changes
 * at the right instant proves both the evaluation and the due time.
 *
 * Besides the assertions a case states, every step checks two invariants:
 * - evaluating only the segments the events can affect gives what evaluating all of them gives;
 * - while the profile is not due, nothing has changed: evaluating it afresh gives what it shows (so a
 *   due time later than the real change fails the case, wherever it is asserted).
 */
import { expect, it } from 'vitest';
import type { Channel, EnrichedEvent } from '#shared/domain/events';
import { foldEvents } from '#shared/domain/fold';
import { type CompiledRules, changesOf, compileRules, evaluateMemberships, type ProfileChanges } from '#shared/domain/memberships';
import { nextCheckAt } from '#shared/domain/next-change';
import { newProfile, type Profile } from '#shared/domain/profile';
import { type Condition, conditionSchema, type Segment } from '#shared/domain/segment-definition';
import { anEvent } from './events';

/** An event as a source sends it; received at the clock's instant, which is also its time unless `at` or `offsetMs` says otherwise. */
export interface TimelineEvent {
  type?: EnrichedEvent['type'];
  /** The track event's name (`undefined` for pages, screens and identify calls without one); 'Order Completed' when not given. */
  event?: string;
  channel?: Channel;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  /** When it happened (ISO-8601); a late event is older than the clock. */
  at?: string;
  /** When it happened, relative to the clock (negative: earlier). */
  offsetMs?: number;
}

/** Events received now: the profile is folded and evaluated, as the processor does on a batch. */
export interface SubmitEvents {
  type: 'submit';
  events: TimelineEvent[];
}

/** The time sweep passes: the profile is re-evaluated if it is due, else left as it is. */
export interface ComputeProperties {
  type: 'compute';
}

/** The clock moves on, by `ms` or to `until` (ISO-8601); it never goes back. Nothing is evaluated. */
export type Sleep = { type: 'sleep'; ms: number; until?: never } | { type: 'sleep'; until: string; ms?: never };

/** What the profile shows now. */
export interface Assert {
  type: 'assert';
  description?: string;
  /** Segments the profile is in, and segments it is not in. */
  in?: string[];
  out?: string[];
  /** Exactly the segments it is in. */
  segments?: string[];
  /** When it is next due for the sweep (ISO-8601), or null for never. */
  due?: string | null;
  /** The transitions since the previous assertion (or the start), in order: `entered vip (events)`. */
  transitions?: string[];
}

export type Step = SubmitEvents | ComputeProperties | Sleep | Assert;

export interface TableTest {
  description: string;
  /** Segment id -> condition; each condition must pass the language's schema. */
  segments: Record<string, Condition>;
  /** The clock at the start (default 2025-01-01T00:00:00.000Z). */
  start?: string;
  steps: Step[];
  only?: boolean;
  skip?: boolean;
}

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
export const MINUTE = 60_000;
export const plus = (instant: string, ms: number) => new Date(Date.parse(instant) + ms).toISOString();

const iso = (ms: number) => new Date(ms).toISOString();

/** One profile under a set of compiled rules, on a fake clock. */
export class EngineTimeline {
  private profile: Profile;
  private readonly rules: CompiledRules;
  private written = false;
  private dueAt = Infinity;
  private transitions: string[] = [];
  now: number;

  constructor(segments: Record<string, Condition>, start = '2025-01-01T00:00:00.000Z') {
    const defined: Segment[] = Object.entries(segments).map(([id, condition]) => {
      conditionSchema.parse(condition); // the conditions are the language's
      return { id, name: id, condition, revision: 1, languageVersion: 1, status: 'ready', createdAt: '', updatedAt: '' };
    });
    this.rules = compileRules(defined);
    this.now = Date.parse(start);
    this.profile = newProfile('p-timeline', start);
  }

  get members(): string[] {
    return this.profile.segments;
  }

  get due(): string | null {
    return this.dueAt === Infinity ? null : iso(this.dueAt);
  }

  private where(): string {
    return `at ${iso(this.now)}`;
  }

  private evaluate(profile: Profile, changes: ProfileChanges | undefined, reason: 'events' | 'time') {
    return evaluateMemberships(profile, this.rules.segments, this.now, changes, reason, this.rules.indicators.valuesOf(profile, this.now));
  }

  /** What a fresh evaluation of every segment says now. */
  private fresh(): string[] {
    return this.evaluate(this.profile, undefined, 'time').segments;
  }

  submit(sent: readonly TimelineEvent[]): void {
    const events = sent.map(({ at, offsetMs, ...rest }) =>
      anEvent({ userId: 'timeline', ...rest, at: at ?? iso(this.now + (offsetMs ?? 0)), receivedAt: iso(this.now) }),
    );
    const folded = foldEvents(this.profile, events, [], this.now, this.rules.specs);
    // A known profile changed by events: only the segments they can affect, as the writer does; and that must be enough.
    const changes = this.written && folded.applied.length > 0 ? changesOf(folded.applied) : undefined;
    const result = this.evaluate(folded.profile, changes, 'events');
    if (changes)
      expect(result.segments, `${this.where()}: evaluating only what the events affect misses nothing`).toEqual(
        this.evaluate(folded.profile, undefined, 'events').segments,
      );
    this.settle(folded.profile, result);
    this.written = true;
  }

  /** The time sweep: only a due profile is evaluated. */
  compute(): void {
    if (this.now < this.dueAt) return;
    this.settle(this.profile, this.evaluate(this.profile, undefined, 'time'));
  }

  private settle(profile: Profile, result: ReturnType<EngineTimeline['evaluate']>): void {
    this.profile = { ...profile, segments: result.segments };
    this.transitions.push(...result.transitions.map((t) => `${t.change} ${t.segmentId} (${t.reason})`));
    this.dueAt = nextCheckAt(this.rules, this.profile, this.now);
  }

  sleep(step: Sleep): void {
    const to = step.until !== undefined ? Date.parse(step.until) : this.now + step.ms!;
    if (!(to >= this.now)) throw new Error(`the clock goes forward only: from ${iso(this.now)} to ${step.until ?? step.ms}`);
    this.now = to;
  }

  check(step: Assert): void {
    const where = `${this.where()}${step.description ? ` (${step.description})` : ''}`;
    for (const id of step.in ?? []) expect(this.members, `${where}: in ${id}`).toContain(id);
    for (const id of step.out ?? []) expect(this.members, `${where}: out of ${id}`).not.toContain(id);
    if (step.segments) expect(this.members, `${where}: segments`).toEqual([...step.segments].sort());
    if (step.due !== undefined) expect(this.due, `${where}: due`).toBe(step.due);
    if (step.transitions) expect(this.transitions, `${where}: transitions`).toEqual(step.transitions);
    this.transitions = [];
    this.checkNotDue(where);
  }

  /** Not due yet: then nothing can have changed since the last evaluation (of a profile that exists). */
  checkNotDue(where = this.where()): void {
    if (this.written && this.now < this.dueAt)
      expect(this.members, `${where}: not due until ${this.due}, yet a fresh evaluation differs`).toEqual(this.fresh());
  }
}

/** Step builders, for tables that read as timelines. */
export const submit = (...events: TimelineEvent[]): SubmitEvents => ({ type: 'submit', events });
export const sweep: ComputeProperties = { type: 'compute' };
export const sleep = (ms: number): Sleep => ({ type: 'sleep', ms });
export const until = (at: string): Sleep => ({ type: 'sleep', until: at });
export const expectThat = (assertion: Omit<Assert, 'type'>): Assert => ({ type: 'assert', ...assertion });

/** Runs one case's steps in order. */
export function runTableTest({ segments, start, steps }: Pick<TableTest, 'segments' | 'start' | 'steps'>): EngineTimeline {
  const engine = new EngineTimeline(segments, start);
  for (const step of steps) {
    switch (step.type) {
      case 'submit':
        engine.submit(step.events);
        break;
      case 'compute':
        engine.compute();
        break;
      case 'sleep':
        engine.sleep(step);
        break;
      case 'assert':
        engine.check(step);
        break;
    }
    engine.checkNotDue();
  }
  return engine;
}

/** One `it` per case. */
export function tableTests(cases: readonly TableTest[]): void {
  for (const test of cases) {
    const register = test.only ? it.only : test.skip ? it.skip : it;
    register(test.description, () => {
      runTableTest(test);
    });
  }
}
