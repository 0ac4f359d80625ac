/** Ports of the control plane (the catalog table): definitions, runs, daily statistics, sources. */
import type { Audience } from '../domain/audiences';
import type { Channel } from '../domain/events';
import type { IndicatorDefinition } from '../domain/indicator-settings';
import type { Segment } from '../domain/segment-definition';

export interface SourceRecord {
  sourceId: string;
  name: string;
  defaultChannel: Channel;
  /** SHA-256 of the write key; the key itself is never stored. */
  keyHash: string;
  /** Browser origins allowed to send (CORS); absent on sources made before origins were kept, which allow none. */
  allowedOrigins?: string[];
  createdAt: string;
  revokedAt?: string;
}

/** `skipped`: there was nothing to do, and the run says why (`progress.reason`). */
export type RunStatus = 'requested' | 'running' | 'succeeded' | 'failed' | 'held' | 'skipped';

export interface RunRecord {
  runId: string;
  status: RunStatus;
  /** For jobs in phases (the freeze): the phase under way. */
  phase?: string;
  startedAt: string;
  finishedAt?: string;
  /** Free-form progress and results: counts, keys, durations. */
  progress?: Record<string, unknown>;
  error?: string;
}

/** Entries and exits of one segment on one UTC day. */
export interface DailyChanges {
  segmentId: string;
  day: string;
  entered: number;
  exited: number;
}

/** Profiles that left one segment and entered another in the same change, on one UTC day. */
export interface Migration {
  day: string;
  from: string;
  to: string;
  profiles: number;
}

/** A kind of revisioned document stored under one partition of the catalog table. */
export interface Collection<T extends { id: string; revision: number }> {
  get(id: string): Promise<T | undefined>;
  list(): Promise<T[]>;
  /** Stores `doc` if the stored revision is still `doc.revision - 1` (or absent for revision 1). */
  put(doc: T): Promise<void>;
  delete(id: string): Promise<boolean>;
}

/** Port: what marketers define, kept by revision: segments, audiences, indicator definitions. */
export interface DefinitionStore {
  segments: Collection<Segment>;
  audiences: Collection<Audience>;
  /** Indicator definitions changed from their defaults. */
  indicators: Collection<IndicatorDefinition>;
  markSegmentReady(id: string, revision: number): Promise<void>;
  /** Adds to the count of stored profiles the revision's first evaluation has gone through. */
  addSegmentProgress(id: string, revision: number, profiles: number): Promise<void>;
  /** Marks aggregate specs as holding every event (a backfill ended) in every segment using them. */
  clearSpecsSince(specIds: readonly string[]): Promise<void>;
}

/** Port: the runs of jobs and snapshots, and the intermediate parts of runs fanned out over workers. */
export interface RunStore {
  putRun(scope: string, run: RunRecord): Promise<void>;
  getRun(scope: string, runId: string): Promise<RunRecord | undefined>;
  /** Newest first. */
  listRuns(scope: string, limit: number): Promise<RunRecord[]>;
  /**
   * Moves a run from one phase to the next, once: true for the caller that did it, false if
   * another did first (several workers may finish their share at the same time).
   */
  advanceRun(scope: string, runId: string, from: string, to: string, changes?: Partial<RunRecord>): Promise<boolean>;
  /** Intermediate results of a run's workers (sketches, a fitted model), each at most 350 KB. */
  putRunPart(scope: string, runId: string, part: string, data: unknown): Promise<void>;
  getRunPart<T>(scope: string, runId: string, part: string): Promise<T | undefined>;
  listRunParts<T>(scope: string, runId: string, prefix: string): Promise<Array<{ part: string; data: T }>>;
  /** Removes every part of a finished run. */
  deleteRunParts(scope: string, runId: string): Promise<void>;
}

/** Port: daily counters of segment entries, exits and migrations between segments. */
export interface StatsStore {
  /** Adds to the per-day entry and exit counters of segments. */
  countTransitions(changes: readonly DailyChanges[]): Promise<void>;
  /** Days from `fromDay` (YYYY-MM-DD) on, oldest first; days without changes are absent. */
  dailyChanges(segmentId: string, fromDay: string): Promise<DailyChanges[]>;
  countMigrations(migrations: readonly Migration[]): Promise<void>;
  /** Migrations of the days from `fromDay` to `toDay` (YYYY-MM-DD, both included). */
  migrations(fromDay: string, toDay: string): Promise<Migration[]>;
  /** Adds to segments' size counters (entries +1, exits -1, as the membership writes reported). */
  addToSizes(deltas: readonly SizeDelta[]): Promise<void>;
  /** The counted sizes of these segments; absent for one whose counter was never set (counted before counters). */
  sizes(segmentIds: readonly string[]): Promise<Map<string, number>>;
  /**
   * Sets a segment's counter to `size` (a new segment: 0; a reconciliation: the members counted), unless
   * it moved from `expected` meanwhile; false then.
   */
  setSize(segmentId: string, size: number, expected?: number): Promise<boolean>;
}

export interface SizeDelta {
  segmentId: string;
  delta: number;
}

/** Port: sources, by the hash of their write keys. */
export interface SourceStore {
  findSource(keyHash: string): Promise<SourceRecord | undefined>;
  putSource(source: SourceRecord): Promise<void>;
  listSources(): Promise<SourceRecord[]>;
}

/** The control plane's table holds all four roles; most callers need one or two of them. */
export interface CatalogStore extends DefinitionStore, RunStore, StatsStore, SourceStore {}
