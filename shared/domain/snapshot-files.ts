/**
 * The files of a snapshot run in S3: where they live, how each format is written and read back, and
 * the manifest and latest pointer that make a run complete. Pure: no I/O.
 */

import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { assertUnreachable } from './assert-unreachable';
import type { EspPreset, SnapshotFormat } from './audiences';
import { csvOptionsFor, csvRow, csvRows } from './snapshot-rows';

export const SNAPSHOT_SCHEMA_VERSION = 1;

export const ROWS_PER_PART = 100_000;

/** File name endings, also the manifest's `format`. */
export const FORMAT_EXTENSIONS = { csv: 'csv.gz', jsonl: 'jsonl.gz', parquet: 'parquet' } as const satisfies Record<SnapshotFormat, string>;

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
      for await (const [cell] of Readable.from(remaining()).pipe(
        parse({ from_line: header ? 2 : 1, relax_column_count: true }),
      ) as AsyncIterable<string[]>)
        yield cell!;
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
export const arrayBufferOf = (body: Buffer): ArrayBuffer =>
  body.buffer.slice(body.byteOffset, body.byteOffset + body.length) as ArrayBuffer;

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
        text: {
          header: '',
          lines: (rows) =>
            rows.map((values) => `${JSON.stringify(Object.fromEntries(columns.map((c, i) => [c, values[i] ?? null])))}\n`).join(''),
        },
      };
    case 'parquet':
      // Every column a nullable UTF-8 string: the same values as the CSV, typed alike for every ESP.
      return {
        contentType: 'application/vnd.apache.parquet',
        binary: (rows) =>
          new Uint8Array(
            parquetWriteBuffer({
              columnData: columns.map((name, c) => ({ name, data: rows.map((row) => asText(row[c])), type: 'STRING' as const })),
            }),
          ),
      };
    default:
      return assertUnreachable(format);
  }
}

export interface ManifestFile {
  key: string;
  kind: SnapshotFileKind;
  /** With an experiment: the variant whose list the file belongs to. */
  variant?: string;
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
  /** The control group kept out of this run, when the audience has one (`variant`: the experiment's holdout variant). */
  holdout?: { percent: number; members: number; key: string; variant?: string };
  /** The ESP file of the audience's preset; `skipped`: rows the ESP could not take (no userId for Braze). */
  esp?: EspFile;
  /** With an experiment: each exported variant's list (its files carry its name), counts and ESP file; and closed ones. */
  variants?: ManifestVariant[];
  /** With an experiment: the variant the others are compared with (perhaps the holdout). */
  control?: string;
}

export interface EspFile {
  preset: EspPreset;
  key: string;
  rows: number;
  bytes: number;
  sha256: string;
  skipped: number;
}

export interface ManifestVariant {
  name: string;
  percent: number;
  counts: { members: number; added: number; removed: number };
  esp?: EspFile;
  /** A variant the previous run exported and this one does not: its list written empty, everyone removed. */
  closed?: boolean;
}

/** Where an exported variant's files live in its run's folder. */
export const variantFolder = (variant: string): string => `variants/${variant}/`;

export interface LatestPointer {
  schemaVersion: number;
  runId: string;
  manifestKey: string;
  asOf: string;
  counts: Manifest['counts'];
}
