/**
 * Erasure, for the snapshots already written: every run that can hold the person (taken since their
 * first profile was created) has its member, delta and control-group files and its ESP file rewritten
 * without them, and its manifest re-hashed, so `verify-snapshot` still passes. Rewritten rather than
 * removed: an audience's latest run is the base of its next deltas, and almost every erasure of a
 * member would otherwise cost the audience its whole history. Idempotent: a repeat finds nothing left.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { parquetReadObjects } from 'hyparquet';
import type { ObjectStore } from '../adapters/s3/object-store';
import { arrayBufferOf, encodingFor, latestKey, type LatestPointer, type Manifest } from '../domain/audiences';
import { sha256 } from './take-snapshot';

export interface ErasedPerson {
  /** The profile and every profile merged into it: the ids their rows were written under. */
  profileIds: readonly string[];
  /** Braze rows are keyed by userId. */
  userIds: readonly string[];
  /** When the oldest of those profiles was created: earlier runs cannot hold them. */
  since: string;
}

export interface SnapshotScrub {
  /** Runs read (taken since the person existed). */
  runs: number;
  /** Keys of the files rewritten without the person, manifests included. */
  rewritten: string[];
}

const PAGE = 1000;

export async function scrubSnapshots(person: ErasedPerson, objects: Pick<ObjectStore, 'get' | 'put' | 'list'>): Promise<SnapshotScrub> {
  const result: SnapshotScrub = { runs: 0, rewritten: [] };
  const ids = new Set(person.profileIds);
  const userIds = new Set(person.userIds);
  let after: string | undefined;
  for (let more = true; more; ) {
    const page = await objects.list('audiences/', after, PAGE);
    for (const key of page.keys.filter((k) => k.endsWith('/manifest.json'))) {
      const manifest = JSON.parse((await objects.get(key))!.toString()) as Manifest;
      if (manifest.asOf < person.since) continue;
      result.runs++;
      const changed = await scrubRun(manifest, ids, userIds, objects);
      if (changed.length === 0) continue;
      await objects.put(key, JSON.stringify(manifest, null, 2), 'application/json');
      result.rewritten.push(...changed, key);
      const latestBody = await objects.get(latestKey(manifest.audienceId));
      const latest = latestBody && (JSON.parse(latestBody.toString()) as LatestPointer);
      if (latest && latest.manifestKey === key) {
        await objects.put(latestKey(manifest.audienceId), JSON.stringify({ ...latest, counts: manifest.counts }, null, 2), 'application/json');
        result.rewritten.push(latestKey(manifest.audienceId));
      }
    }
    after = page.keys.at(-1);
    more = page.more;
  }
  return result;
}

/**
 * Rewrites the run's files that hold the person and updates `manifest` in place; the keys changed.
 * Each entry is recomputed from the file as it is now, not patched: a scrub interrupted between a
 * file and its manifest (a crash, a timeout) leaves a file the retry finds clean but hashed wrongly.
 */
async function scrubRun(manifest: Manifest, ids: ReadonlySet<string>, userIds: ReadonlySet<string>, objects: Pick<ObjectStore, 'get' | 'put'>): Promise<string[]> {
  const changed: string[] = [];
  const counts = { members: 0, added: 0, removed: 0 };
  for (const file of manifest.files) {
    const columns = file.kind === 'removed' ? ['profileId'] : manifest.columns;
    const scrubbed = await withoutRows(manifest.format, columns, (await objects.get(file.key))!, ids);
    if (scrubbed.dropped > 0) await objects.put(file.key, scrubbed.body, manifest.format === 'parquet' ? 'application/vnd.apache.parquet' : 'application/gzip');
    counts[file.kind] += scrubbed.rows;
    const hash = sha256(scrubbed.body);
    if (hash === file.sha256) continue;
    Object.assign(file, { rows: scrubbed.rows, bytes: scrubbed.body.length, sha256: hash });
    changed.push(file.key);
  }
  manifest.counts = counts;
  const holdout = manifest.holdout;
  const holdoutBody = holdout && (await objects.get(holdout.key));
  if (holdout && holdoutBody) {
    const scrubbed = await withoutRows('csv.gz', ['profileId'], holdoutBody, ids);
    if (scrubbed.dropped > 0) await objects.put(holdout.key, scrubbed.body, 'application/gzip');
    if (scrubbed.rows !== holdout.members) changed.push(holdout.key);
    holdout.members = scrubbed.rows;
  }
  const esp = manifest.esp;
  const espBody = esp && (await objects.get(esp.key));
  if (esp && espBody) {
    // Braze's rows are keyed by userId; the full-list presets' first column is the profile id.
    const records = csvRecords(espBody.toString());
    const kept = records.filter((record, i) => i === 0 || !(esp.preset === 'braze' ? userIds : ids).has(firstField(record)));
    const body = Buffer.from(kept.join(''));
    if (kept.length < records.length) await objects.put(esp.key, body, 'text/csv');
    const hash = sha256(body);
    if (hash !== esp.sha256) {
      Object.assign(esp, { rows: kept.length - 1, bytes: body.length, sha256: hash });
      changed.push(esp.key);
    }
  }
  return changed;
}

/** The file without the rows of `ids` (the same bytes when it held none), and the rows it keeps. */
async function withoutRows(
  format: Manifest['format'],
  columns: readonly string[],
  body: Buffer,
  ids: ReadonlySet<string>,
): Promise<{ body: Buffer; rows: number; dropped: number }> {
  if (format === 'parquet') {
    const rows = await parquetReadObjects({ file: arrayBufferOf(body) });
    const kept = rows.filter((row) => !ids.has(String(row.profileId)));
    if (kept.length === rows.length) return { body, rows: rows.length, dropped: 0 };
    const encoded = encodingFor('parquet', columns).binary!(kept.map((row) => columns.map((c) => row[c])));
    return { body: Buffer.from(encoded), rows: kept.length, dropped: rows.length - kept.length };
  }
  const text = gunzipSync(body).toString();
  // JSON Lines escape line breaks; a CSV field may hold one, quoted, so CSV is split by record.
  const records = format === 'jsonl.gz' ? text.split(/(?<=\n)/).filter(Boolean) : csvRecords(text).slice(1);
  const idOf = (record: string) => (format === 'jsonl.gz' ? String((JSON.parse(record) as { profileId: unknown }).profileId) : firstField(record));
  const kept = records.filter((record) => !ids.has(idOf(record)));
  if (kept.length === records.length) return { body, rows: records.length, dropped: 0 };
  const header = format === 'csv.gz' ? csvRecords(text)[0]! : '';
  return { body: gzipSync(header + kept.join('')), rows: kept.length, dropped: records.length - kept.length };
}

/** CSV text cut into records, each with its line break; a record goes on while a quote is open. */
export function csvRecords(text: string): string[] {
  const records: string[] = [];
  let current = '';
  for (const line of text.split(/(?<=\n)/)) {
    current += line;
    if ((current.match(/"/g)?.length ?? 0) % 2 === 0) {
      records.push(current);
      current = '';
    }
  }
  if (current) records.push(current);
  return records;
}

/** The first field of a CSV record, unquoted. */
export function firstField(record: string): string {
  if (!record.startsWith('"')) return record.split(/[,\r\n]/, 1)[0]!;
  let value = '';
  for (let i = 1; i < record.length; i++) {
    if (record[i] !== '"') value += record[i];
    else if (record[i + 1] === '"') value += record[++i];
    else break;
  }
  return value;
}
