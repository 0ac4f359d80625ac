/**
 * Audiences (activation) and the snapshot files they produce in S3. Pure: no I/O.
 */
import { Cron } from 'croner';
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { parse } from 'csv-parse';
import { stringify, type Options } from 'csv-stringify/sync';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { CONSENT_CHANNELS } from './profile';
import { type IndicatorValues } from './indicators';
import { INDICATOR_IDS } from './indicator-settings';
import { primaryEmail, type Profile } from './profile';
import { groupIdsOf } from './fold';
import type { GroupTraits } from './groups';
import { own } from './records';

export const AUDIENCE_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const DEFAULT_MIN_SIZE = 50;
export const DEFAULT_MAX_SIZE_CHANGE = 0.5;
export const SNAPSHOT_SCHEMA_VERSION = 1;
export const ROWS_PER_PART = 100_000;

/** `email_sha256` and `phone_sha256`: SHA-256 of the normalised address, for ad platforms' matching. */
/** `groups`: the ids of the person's groups (accounts), the most recently joined first, separated by `;`. */
const BUILT_IN_FIELDS = ['profileId', 'userId', 'email', 'phone', 'anonymousId', 'firstSeen', 'lastSeen', 'email_sha256', 'phone_sha256', 'groups'] as const;
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
    { message: `must be one of ${BUILT_IN_FIELDS.join(', ')}, traits.<name>, groups.<trait> or indicators.<indicator> (GET /v1/indicators)` },
  );

/** Email service providers with a ready-made file (see esp.ts). */
export const ESP_PRESETS = ['braze', 'sfmc', 'iterable', 'brevo'] as const;
export type EspPreset = (typeof ESP_PRESETS)[number];

export const SNAPSHOT_FORMATS = ['csv', 'jsonl', 'parquet'] as const;
export type SnapshotFormat = (typeof SNAPSHOT_FORMATS)[number];
/** File name endings, also the manifest's `format`. */
export const FORMAT_EXTENSIONS = { csv: 'csv.gz', jsonl: 'jsonl.gz', parquet: 'parquet' } as const satisfies Record<SnapshotFormat, string>;

export const audienceInputSchema = z.strictObject({
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
export const audienceInputOf = ({ name, segmentId, fields, format, preset, consentChannel, schedule, minSize, maxSizeChange, holdoutPercent }: Audience): AudienceInput => ({
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
});

/** True when an input changes what the audience exports (so it needs approval again). */
export function changesExport(existing: AudienceInput, input: AudienceInput): boolean {
  const canonical = (a: AudienceInput) => JSON.stringify(Object.entries(a).sort(([x], [y]) => x.localeCompare(y)));
  return canonical(existing) !== canonical(input);
}

/** In the control group: a stable hash of profile and audience, so the same people stay out run after run. */
export const isHeldOut = (profileId: string, audience: Pick<Audience, 'id' | 'holdoutPercent'>): boolean =>
  audience.holdoutPercent > 0 && holdoutBucket(profileId, audience.id) < audience.holdoutPercent;

const holdoutBucket = (profileId: string, audienceId: string): number =>
  createHash('sha256').update(`${profileId}\u0000holdout:${audienceId}`).digest().readUInt32BE(0) % 100;

/** Why a snapshot of this many members must not be published, or undefined when it may. */
export function holdReason(audience: Audience, members: number): string | undefined {
  if (audience.status !== 'approved' || !audience.approval) return 'the audience is a draft: approve it first';
  if (members < audience.minSize) return `${members} members is under the minimum size of ${audience.minSize} (privacy)`;
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

const sha256Hex = (value: string | undefined) => (value === undefined ? undefined : createHash('sha256').update(value).digest('hex'));

/**
 * A column's value for a profile; `indicators` are needed for `indicators.<id>` columns, `groups` (the
 * traits of the profile's groups, the most recently joined first) for `groups.<trait>` columns.
 */
export function fieldValue(profile: Profile, field: string, indicators?: IndicatorValues, groups?: readonly GroupTraits[]): unknown {
  if (field.startsWith('indicators.')) return indicators?.[field.slice('indicators.'.length)];
  if (isGroupTraitField(field)) {
    const trait = field.slice('groups.'.length);
    for (const traits of groups ?? []) {
      const value = own(traits, trait);
      if (value !== undefined && value !== null) return value;
    }
    return undefined;
  }
  switch (field) {
    case 'profileId':
      return profile.profileId;
    case 'userId':
      return profile.identifiers.userId?.at(-1);
    case 'anonymousId':
      return profile.identifiers.anonymousId?.at(-1);
    case 'email':
      return primaryEmail(profile);
    case 'phone':
      return profile.identifiers.phone?.at(-1);
    // Emails are stored trimmed and lower-cased, phones in E.164: already the normal forms ad platforms hash.
    case 'email_sha256':
      return sha256Hex(primaryEmail(profile));
    case 'phone_sha256':
      return sha256Hex(profile.identifiers.phone?.at(-1));
    case 'firstSeen':
      return profile.firstSeen;
    case 'lastSeen':
      return profile.lastSeen;
    case 'groups':
      return groupIdsOf(profile).join(';') || undefined;
    default:
      return own(profile.traits, field.slice('traits.'.length));
  }
}

/**
 * A CSV line (RFC 4180, by csv-stringify). A cell a spreadsheet would run as a formula (OWASP CSV
 * injection: starting with `=`, `+`, `-`, `@`, tab or CR, or their full-width forms) is prefixed with `'`
 * and quoted. Numbers are constants, not formulas: a number value such as -5 and a phone number in E.164
 * (`+33612345678`, as Prisme stores phones) are written as they are; the text "-5" becomes `'-5`.
 * Key cells (`keys`: the columns an ESP matches people on) are written exactly, quoted only as RFC 4180
 * needs: an ESP given `'-ada@example.com` for `-ada@example.com` would update someone else, or nobody.
 */
export function csvRow(values: readonly unknown[], keys: ReadonlySet<number> = NO_KEYS): string {
  return csvRows([values], keys.size === 0 ? CSV_OPTIONS : keyedOptions(keys));
}

/**
 * Many lines at once, as `csvRow` writes them. Rows whose every cell needs neither quoting nor escaping
 * (most rows of most audiences) are joined here; the others go to csv-stringify, which is 25 times slower
 * per row and would make the CSV encoding most of a snapshot's time. Both give the same bytes.
 */
export function csvRows(rows: ReadonlyArray<readonly unknown[]>, options: Options = CSV_OPTIONS): string {
  let text = '';
  let special: unknown[][] = [];
  const flushSpecial = () => {
    if (special.length > 0) text += stringify(special, options);
    special = [];
  };
  for (const row of rows) {
    const line = plainLine(row);
    if (line === undefined) special.push(row as unknown[]);
    else {
      flushSpecial();
      text += line;
    }
  }
  flushSpecial();
  return text;
}

/** Cells that are written as they are by any of the options (no quote, separator, line break, formula start). */
const PLAIN_TEXT = /^(?:[^=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20",\n][^",\n\r]*)?$/;

function plainLine(row: readonly unknown[]): string | undefined {
  let line = '';
  for (let i = 0; i < row.length; i++) {
    const value = row[i];
    let cell: string;
    if (value === undefined || value === null) cell = '';
    else if (typeof value === 'string') {
      if (!PLAIN_TEXT.test(value)) return undefined;
      cell = value;
    } else if (typeof value === 'number' && Number.isFinite(value)) cell = String(value);
    else if (typeof value === 'boolean') cell = String(value);
    else return undefined;
    line += i === 0 ? cell : `,${cell}`;
  }
  return `${line}\n`;
}

/** The options `csvRows` writes a file's rows with, keys among `columns` exact. */
export const csvOptionsFor = (columns: readonly string[]): Options => {
  const keys = keyIndexes(columns);
  return keys.size === 0 ? CSV_OPTIONS : keyedOptions(keys);
};

/** The columns people are matched on, exact in every file: Prisme's ids and the identifiers ESPs key on. */
export const KEY_COLUMNS: ReadonlySet<string> = new Set(['profileId', 'userId', 'email', 'phone', 'anonymousId', 'email_sha256', 'phone_sha256']);
/** Where the key columns are among `columns`. */
export const keyIndexes = (columns: readonly string[]): ReadonlySet<number> => new Set(columns.flatMap((column, i) => (KEY_COLUMNS.has(column) ? [i] : [])));
const NO_KEYS: ReadonlySet<number> = new Set();

/** The first characters csv-stringify's `escape_formulas` prefixes with `'`. */
export const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;
const E164 = /^\+[1-9]\d{6,14}$/;

const CSV_OPTIONS: Options = {
  escape_formulas: true,
  record_delimiter: 'unix',
  // A lone CR or LF in a cell is quoted too: csv-stringify stops doing so once a record_delimiter is set.
  quote_record_delimiter: true,
  cast: {
    boolean: (value) => String(value),
    string: (value) => castText(value),
  },
};

/** A text cell: exact when a key or a phone number, escaped (and quoted) when it starts like a formula. */
const castText = (value: string, key = false) =>
  key || E164.test(value) ? { value, escape_formulas: false } : FORMULA_START.test(value) ? { value, quoted: true } : value;

function keyedOptions(keys: ReadonlySet<number>): Options {
  return {
    ...CSV_OPTIONS,
    cast: {
      ...CSV_OPTIONS.cast,
      string: (value, context) => castText(value, keys.has(context.index)),
    },
  };
}

/** Sortable, unique enough for one audience: `20261123T195100123Z`. */
export const newRunId = (now: number): string => new Date(now).toISOString().replace(/[-:.]/g, '');

export const audiencePrefix = (audienceId: string): string => `audiences/${audienceId}/`;
export const runPrefix = (audienceId: string, runId: string): string => `${audiencePrefix(audienceId)}runs/${runId}/`;
export const latestKey = (audienceId: string): string => `${audiencePrefix(audienceId)}latest.json`;
/** Control groups live apart from `audiences/`, which ESPs may read. */
export const holdoutFileKey = (audienceId: string, runId: string): string => `holdouts/${audienceId}/${runId}.csv.gz`;

export type SnapshotFileKind = 'members' | 'added' | 'removed';
export const partFileName = (kind: SnapshotFileKind, part: number, format: SnapshotFormat = 'csv'): string =>
  `${kind}-${String(part).padStart(5, '0')}.${FORMAT_EXTENSIONS[format]}`;

/**
 * The profile ids of a CSV or JSON Lines part (gunzipped), in order: the first cell of each CSV
 * record after the header (parsed, not split by lines: a quoted cell may hold a line break), the
 * `profileId` of each JSON line.
 */
export async function* profileIdsOfText(format: 'csv.gz' | 'jsonl.gz', text: Readable): AsyncGenerator<string> {
  if (format === 'csv.gz') {
    yield* firstCells(text);
    return;
  }
  for await (const line of createInterface({ input: text, crlfDelay: Infinity })) {
    if (line) yield String((JSON.parse(line) as { profileId: unknown }).profileId);
  }
}

/**
 * The first cell of each CSV record after the header. Until a quote appears, records are lines and the
 * cell ends at the first comma (csv-parse is 5 times slower, most of a delta's reading); from the first
 * quote on, only a parser knows where records end, so the rest goes to csv-parse.
 */
export async function* firstCells(text: Readable): AsyncGenerator<string> {
  text.setEncoding('utf8');
  const chunks = text[Symbol.asyncIterator]() as AsyncIterator<string>;
  let rest = '';
  let header = true;
  for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
    rest += next.value;
    if (rest.includes('"')) {
      const remaining = async function* () {
        yield rest;
        for (let more = await chunks.next(); !more.done; more = await chunks.next()) yield more.value;
      };
      for await (const [cell] of Readable.from(remaining()).pipe(parse({ from_line: header ? 2 : 1, relax_column_count: true })) as AsyncIterable<string[]>) yield cell!;
      return;
    }
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      if (header) header = false;
      else yield line.slice(0, line.includes(',') ? line.indexOf(',') : line.length);
    }
  }
  if (rest && !header) yield rest.slice(0, rest.includes(',') ? rest.indexOf(',') : rest.length);
}

/** A Buffer's bytes as the ArrayBuffer Parquet readers take. */
export const arrayBufferOf = (body: Buffer): ArrayBuffer => body.buffer.slice(body.byteOffset, body.byteOffset + body.length) as ArrayBuffer;

/** The profile ids of a Parquet part, in order. */
export async function parquetProfileIds(body: Buffer): Promise<string[]> {
  return (await parquetReadObjects({ file: arrayBufferOf(body), columns: ['profileId'] })).map((row) => String(row.profileId));
}

/** How a part's rows become bytes. */
export interface Encoding {
  contentType: string;
  /** Text formats, gzipped as they are written (unless `plain`): an optional header, then a line per row (given a batch of rows). */
  text?: { header: string; lines(rows: ReadonlyArray<readonly unknown[]>): string; plain?: boolean };
  /** Columnar formats, encoded a whole part at once. */
  binary?: (rows: readonly (readonly unknown[])[]) => Uint8Array;
}

const asText = (value: unknown): string | null =>
  value === undefined || value === null ? null : typeof value === 'object' ? JSON.stringify(value) : String(value);

export function encodingFor(format: SnapshotFormat, columns: readonly string[]): Encoding {
  switch (format) {
    case 'csv': {
      const options = csvOptionsFor(columns);
      return { contentType: 'application/gzip', text: { header: csvRow(columns), lines: (rows) => csvRows(rows, options) } };
    }
    case 'jsonl':
      return {
        contentType: 'application/gzip',
        text: { header: '', lines: (rows) => rows.map((values) => `${JSON.stringify(Object.fromEntries(columns.map((c, i) => [c, values[i] ?? null])))}\n`).join('') },
      };
    case 'parquet':
      // Every column a nullable UTF-8 string: the same values as the CSV, typed alike for every ESP.
      return {
        contentType: 'application/vnd.apache.parquet',
        binary: (rows) =>
          new Uint8Array(parquetWriteBuffer({ columnData: columns.map((name, c) => ({ name, data: rows.map((row) => asText(row[c])), type: 'STRING' as const })) })),
      };
    default:
      return assertNever(format);
  }
}

const assertNever = (value: never): never => {
  throw new Error(`unexpected ${String(value)}`);
};

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
  format: (typeof FORMAT_EXTENSIONS)[SnapshotFormat];
  columns: string[];
  counts: { members: number; added: number; removed: number };
  files: ManifestFile[];
  /** The control group kept out of this run, when the audience has one. */
  holdout?: { percent: number; members: number; key: string };
  /** The ESP file of the audience's preset; `skipped`: rows the ESP could not take (no userId for Braze). */
  esp?: { preset: EspPreset; key: string; rows: number; bytes: number; sha256: string; skipped: number };
}

export interface LatestPointer {
  schemaVersion: number;
  runId: string;
  manifestKey: string;
  asOf: string;
  counts: Manifest['counts'];
}
