/**
 * Audiences (activation) and the snapshot files they produce in S3. Pure: no I/O.
 */
import { Cron } from 'croner';
import { z } from 'zod';
import { primaryEmail, type Profile } from './profile';

export const AUDIENCE_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const SNAPSHOT_SCHEMA_VERSION = 1;
export const ROWS_PER_PART = 100_000;

const BUILT_IN_FIELDS = ['profileId', 'userId', 'email', 'anonymousId', 'firstSeen', 'lastSeen'] as const;
const fieldSchema = z
  .string()
  .refine((f) => (BUILT_IN_FIELDS as readonly string[]).includes(f) || /^traits\.[\w.-]{1,100}$/.test(f), {
    message: `must be one of ${BUILT_IN_FIELDS.join(', ')} or traits.<name>`,
  });

export const audienceInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  segmentId: z.string().min(1).max(64),
  /** Exported columns; `profileId` always comes first, as the key ESPs and deltas rely on. */
  fields: z.array(fieldSchema).max(50).default(['userId', 'email']),
  format: z.literal('csv').default('csv'),
  /** Cron (minute hour day month weekday, UTC) at which snapshots are due; manual only when absent. */
  schedule: z
    .string()
    .refine((expr) => isValidCron(expr), { message: 'must be a 5-field cron expression, e.g. "0 6 * * *"' })
    .optional(),
});
export type AudienceInput = z.infer<typeof audienceInputSchema>;

export interface Audience extends AudienceInput {
  id: string;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

function isValidCron(expr: string): boolean {
  if (expr.trim().split(/\s+/).length !== 5) return false;
  try {
    new Cron(expr, { paused: true, timezone: 'UTC' });
    return true;
  } catch {
    return false;
  }
}

/** True when the audience's cron fired after its last run (or since `since` for a first run). */
export function isSnapshotDue(audience: Audience, lastRunAt: string | undefined, now: number): boolean {
  if (!audience.schedule) return false;
  const since = Date.parse(lastRunAt ?? audience.createdAt);
  const next = new Cron(audience.schedule, { paused: true, timezone: 'UTC' }).nextRun(new Date(since));
  return next !== null && next.getTime() <= now;
}

export const exportColumns = (audience: Pick<Audience, 'fields'>): string[] => [
  'profileId',
  ...audience.fields.filter((f) => f !== 'profileId'),
];

export function fieldValue(profile: Profile, field: string): unknown {
  switch (field) {
    case 'profileId':
      return profile.profileId;
    case 'userId':
      return profile.identifiers.userId?.at(-1);
    case 'anonymousId':
      return profile.identifiers.anonymousId?.at(-1);
    case 'email':
      return primaryEmail(profile);
    case 'firstSeen':
      return profile.firstSeen;
    case 'lastSeen':
      return profile.lastSeen;
    default:
      return profile.traits[field.slice('traits.'.length)];
  }
}

/** RFC 4180: quote a field holding a comma, quote, or line break; double inner quotes. */
export function csvRow(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\n`;
}

function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Sortable, unique enough for one audience: `20261123T195100123Z`. */
export const newRunId = (now: number): string => new Date(now).toISOString().replace(/[-:.]/g, '');

export const audiencePrefix = (audienceId: string): string => `audiences/${audienceId}/`;
export const runPrefix = (audienceId: string, runId: string): string => `${audiencePrefix(audienceId)}runs/${runId}/`;
export const latestKey = (audienceId: string): string => `${audiencePrefix(audienceId)}latest.json`;

export type SnapshotFileKind = 'members' | 'added' | 'removed';
export const partFileName = (kind: SnapshotFileKind, part: number): string =>
  `${kind}-${String(part).padStart(5, '0')}.csv.gz`;

export interface ManifestFile {
  key: string;
  kind: SnapshotFileKind;
  rows: number;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  schemaVersion: number;
  audienceId: string;
  audienceRevision: number;
  segmentId: string;
  segmentRevision: number;
  runId: string;
  previousRunId: string | null;
  asOf: string;
  format: 'csv.gz';
  columns: string[];
  counts: { members: number; added: number; removed: number };
  files: ManifestFile[];
}

export interface LatestPointer {
  schemaVersion: number;
  runId: string;
  manifestKey: string;
  asOf: string;
  counts: Manifest['counts'];
}

/** Ids in `next` not in `previous` and the reverse; both inputs sorted ascending. */
export function diffSortedIds(previous: readonly string[], next: readonly string[]): { added: string[]; removed: string[] } {
  const added: string[] = [];
  const removed: string[] = [];
  let i = 0;
  let j = 0;
  while (i < previous.length || j < next.length) {
    const p = previous[i];
    const n = next[j];
    if (n === undefined || (p !== undefined && p < n)) {
      removed.push(p!);
      i++;
    } else if (p === undefined || n < p) {
      added.push(n);
      j++;
    } else {
      i++;
      j++;
    }
  }
  return { added, removed };
}
