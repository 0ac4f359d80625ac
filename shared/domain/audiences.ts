/**
 * Audiences (activation): a segment, the consent channel, the exported fields, a format and a
 * schedule, approved before anything leaves; the governance that holds a snapshot (minimum size, size
 * change since the approval) and the holdout group. Pure: no I/O.
 */

import { Cron } from 'croner';
import { z } from 'zod';
import { bucketOf, type Experiment, experimentSchema, type Variant, variantOf } from './experiments';
import { INDICATOR_IDS } from './indicator-settings';
import { CONSENT_CHANNELS } from './profile';

export const AUDIENCE_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export const DEFAULT_MIN_SIZE = 50;

export const DEFAULT_MAX_SIZE_CHANGE = 0.5;

/** `email_sha256` and `phone_sha256`: SHA-256 of the normalised address, for ad platforms' matching. */
/** `groups`: the ids of the person's groups (accounts), the most recently joined first, separated by `;`. */
const BUILT_IN_FIELDS = [
  'profileId',
  'userId',
  'email',
  'phone',
  'anonymousId',
  'firstSeen',
  'lastSeen',
  'email_sha256',
  'phone_sha256',
  'groups',
] as const;

/** `groups.<trait>`: a trait of the person's group, the most recently joined that has it ("groups.name": the company name). */
export const isGroupTraitField = (field: string): boolean => /^groups\.[\w.-]{1,100}$/.test(field);

const fieldSchema = z
  .string()
  .refine(
    (f) =>
      (BUILT_IN_FIELDS as readonly string[]).includes(f) ||
      /^traits\.[\w.-]{1,100}$/.test(f) ||
      isGroupTraitField(f) ||
      (f.startsWith('indicators.') && INDICATOR_IDS.includes(f.slice('indicators.'.length).split('|')[0]!)),
    {
      message: `must be one of ${BUILT_IN_FIELDS.join(', ')}, traits.<name>, groups.<trait> or indicators.<indicator> (GET /v1/indicators)`,
    },
  );

/** Email service providers with a ready-made file (see esp.ts). */
export const ESP_PRESETS = ['braze', 'sfmc', 'iterable', 'brevo'] as const;

export type EspPreset = (typeof ESP_PRESETS)[number];

export const SNAPSHOT_FORMATS = ['csv', 'jsonl', 'parquet'] as const;

export type SnapshotFormat = (typeof SNAPSHOT_FORMATS)[number];

export const audienceInputSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    segmentId: z.string().min(1).max(64),
    /** Exported columns; `profileId` always comes first, as the key ESPs and deltas rely on. */
    fields: z.array(fieldSchema).max(50).default(['userId', 'email']),
    /** gzip CSV (default), gzip JSON Lines, or Parquet. */
    format: z.enum(SNAPSHOT_FORMATS).default('csv'),
    /** Also write the file this ESP imports, in a folder of its own. */
    preset: z.enum(ESP_PRESETS).optional(),
    /** Export only people who consented on this channel and have an address for it (email, phone, push token). */
    consentChannel: z.enum(CONSENT_CHANNELS).optional(),
    /** Cron (minute hour day month weekday, UTC) at which snapshots are due; manual only when absent. */
    schedule: z
      .string()
      .refine((expr) => isValidCron(expr), { message: 'must be a 5-field cron expression, e.g. "0 6 * * *"' })
      .optional(),
    /** Privacy: a snapshot with fewer members is held, whatever the approval. */
    minSize: z.number().int().min(1).max(1_000_000).default(DEFAULT_MIN_SIZE),
    /** A snapshot whose size moves more than this share from the approved size is held until approved again. */
    maxSizeChange: z.number().gt(0).max(100).default(DEFAULT_MAX_SIZE_CHANGE),
    /** A deterministic control group of this many percent is kept out of every export, and recorded. */
    holdoutPercent: z.number().int().min(0).max(50).default(0),
    /** A/B/n: members split into named variants, each exported to files of its own; a holdout variant replaces holdoutPercent. */
    experiment: experimentSchema.optional(),
  })
  .superRefine(({ experiment, holdoutPercent }, context) => {
    if (experiment && holdoutPercent > 0)
      context.addIssue({
        code: 'custom',
        path: ['holdoutPercent'],
        message: 'must be 0 with an experiment: make the control group a holdout variant',
      });
  });

export type AudienceInput = z.infer<typeof audienceInputSchema>;

export interface Approval {
  by: string;
  at: string;
  /** Members the export had when approved (holdout excluded): the reference for size changes. */
  size: number;
  audienceRevision: number;
}

export interface Audience extends AudienceInput {
  id: string;
  revision: number;
  /** A new or changed audience is a draft: nothing is exported until someone approves it. */
  status: 'draft' | 'approved';
  approval?: Approval;
  createdAt: string;
  updatedAt: string;
}

/** The part of an audience its owner sets, for comparing a new version with it. */
export const audienceInputOf = ({
  name,
  segmentId,
  fields,
  format,
  preset,
  consentChannel,
  schedule,
  minSize,
  maxSizeChange,
  holdoutPercent,
  experiment,
}: Audience): AudienceInput => ({
  name,
  segmentId,
  fields,
  format,
  ...(preset !== undefined && { preset }),
  ...(consentChannel !== undefined && { consentChannel }),
  ...(schedule !== undefined && { schedule }),
  minSize,
  maxSizeChange,
  holdoutPercent,
  ...(experiment !== undefined && { experiment }),
});

/**
 * True when an input changes what the audience exports (so it needs approval again). Keys sorted at every
 * depth: DynamoDB gives a map's keys back in any order.
 */
export function changesExport(existing: AudienceInput, input: AudienceInput): boolean {
  const sorted = (_: string, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([x], [y]) => x.localeCompare(y)))
      : value;
  return JSON.stringify(existing, sorted) !== JSON.stringify(input, sorted);
}

/** Where a member goes: held out (the control group, or a holdout variant), and the variant when there is an experiment. */
export interface Assignment {
  heldOut: boolean;
  variant?: Variant;
}

/** A stable hash of profile and audience, so the same people stay in the same group run after run. */
export function assignmentOf(profileId: string, audience: Pick<Audience, 'id' | 'holdoutPercent' | 'experiment'>): Assignment {
  if (audience.experiment) {
    const variant = variantOf(profileId, audience.id, audience.experiment);
    return { heldOut: variant.holdout, variant };
  }
  return { heldOut: audience.holdoutPercent > 0 && bucketOf(profileId, `holdout:${audience.id}`) < audience.holdoutPercent };
}

export const isHeldOut = (profileId: string, audience: Pick<Audience, 'id' | 'holdoutPercent' | 'experiment'>): boolean =>
  assignmentOf(profileId, audience).heldOut;

export type { Experiment };

/**
 * What is under the audience's minimum size: the export, or else each variant (each is a list of its own in
 * the ESP, so each must be large enough).
 */
export function underMinimum(
  audience: Pick<Audience, 'minSize'>,
  members: number,
  variants: ReadonlyArray<{ name: string; members: number }> = [],
): string[] {
  if (members < audience.minSize) return [`${members} members is under the minimum size of ${audience.minSize}`];
  return variants
    .filter((v) => v.members < audience.minSize)
    .map((v) => `variant ${v.name} has ${v.members} members, under the minimum size of ${audience.minSize}`);
}

/** Why a snapshot of this many members must not be published, or undefined when it may. */
export function holdReason(
  audience: Audience,
  members: number,
  variants: ReadonlyArray<{ name: string; members: number }> = [],
): string | undefined {
  if (audience.status !== 'approved' || !audience.approval) return 'the audience is a draft: approve it first';
  const [small] = underMinimum(audience, members, variants);
  if (small) return `${small} (privacy)`;
  const approved = audience.approval.size;
  const change = approved === 0 ? (members === 0 ? 0 : Infinity) : Math.abs(members - approved) / approved;
  if (change > audience.maxSizeChange) {
    return `${members} members is ${approved === 0 ? 'up from 0' : `${Math.round(change * 100)} % ${members > approved ? 'more' : 'fewer'} than`} the ${approved} approved (limit ${Math.round(audience.maxSizeChange * 100)} %): approve the new size to publish`;
  }
  return undefined;
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

/** Sortable, unique enough for one audience: `20261123T195100123Z`. */
export const newRunId = (now: number): string => new Date(now).toISOString().replace(/[-:.]/g, '');
