/**
 * The ESP-side integrity check of a snapshot run: every file of the manifest is there, with its byte
 * count and SHA-256, decompresses, has the announced header and rows; members are sorted and unique;
 * the counts add up. Reads through a function, so it works on S3 and on a downloaded folder alike.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { parquetMetadata, parquetSchema } from 'hyparquet';
import { arrayBufferOf, type Manifest, parquetProfileIds, variantFolder } from '../domain/snapshot-files';

export interface FileCheck {
  key: string;
  ok: boolean;
  problems: string[];
}

export interface Verification {
  ok: boolean;
  runId: string;
  files: FileCheck[];
  /** Problems of the run as a whole (counts, order across parts). */
  problems: string[];
}

export async function verifySnapshot(manifest: Manifest, read: (key: string) => Promise<Buffer | undefined>): Promise<Verification> {
  const files: FileCheck[] = [];
  const rowsByKind: Record<string, number> = {};
  const problems: string[] = [];
  /** Each list (the audience's, or a variant's) is sorted on its own. */
  const lastMember = new Map<string | undefined, string>();
  for (const file of manifest.files) {
    const found: string[] = [];
    const body = await read(file.key);
    if (!body) {
      files.push({ key: file.key, ok: false, problems: ['missing'] });
      continue;
    }
    if (body.length !== file.bytes) found.push(`${body.length} bytes, the manifest says ${file.bytes}`);
    const sha256 = createHash('sha256').update(body).digest('hex');
    if (sha256 !== file.sha256) found.push(`SHA-256 ${sha256}, the manifest says ${file.sha256}`);
    if (file.variant !== undefined && !manifest.variants?.some((v) => v.name === file.variant))
      found.push(`variant ${file.variant} is not among the manifest's variants`);
    if (file.variant !== undefined && !file.key.includes(`/${variantFolder(file.variant)}`))
      found.push(`a file of variant ${file.variant} outside its folder ${variantFolder(file.variant)}`);
    const expectedColumns = file.kind === 'removed' ? ['profileId'] : manifest.columns;
    let decoded: { columns?: string[]; ids: string[] } | undefined;
    try {
      decoded = await decode(manifest.format, body);
    } catch (error) {
      found.push(`cannot be read as ${manifest.format}: ${(error as Error).message}`);
    }
    if (decoded) {
      if (decoded.columns && decoded.columns.join(',') !== expectedColumns.join(','))
        found.push(`columns "${decoded.columns.join(',')}", expected "${expectedColumns.join(',')}"`);
      if (decoded.ids.length !== file.rows) found.push(`${decoded.ids.length} rows, the manifest says ${file.rows}`);
      rowsByKind[file.kind] = (rowsByKind[file.kind] ?? 0) + decoded.ids.length;
      if (file.kind === 'members') {
        for (const id of decoded.ids) {
          const last = lastMember.get(file.variant);
          if (last !== undefined && id <= last) {
            found.push(`member ${id} out of order or repeated (after ${last})`);
            break;
          }
          lastMember.set(file.variant, id);
        }
      }
    }
    files.push({ key: file.key, ok: found.length === 0, problems: found });
  }
  for (const kind of ['members', 'added', 'removed'] as const) {
    if ((rowsByKind[kind] ?? 0) !== manifest.counts[kind])
      problems.push(`${rowsByKind[kind] ?? 0} ${kind} rows in the files, the manifest counts ${manifest.counts[kind]}`);
    for (const variant of manifest.variants ?? []) {
      const rows = manifest.files.filter((f) => f.variant === variant.name && f.kind === kind).reduce((sum, f) => sum + f.rows, 0);
      if (rows !== variant.counts[kind])
        problems.push(`variant ${variant.name}: ${rows} ${kind} rows in the files, the manifest counts ${variant.counts[kind]}`);
    }
  }
  return { ok: problems.length === 0 && files.every((f) => f.ok), runId: manifest.runId, files, problems };
}

/** The columns and the profile ids of one file, in any snapshot format. */
async function decode(format: Manifest['format'], body: Buffer): Promise<{ columns?: string[]; ids: string[] }> {
  if (format === 'parquet') {
    const columns = parquetSchema(parquetMetadata(arrayBufferOf(body))).children.map((c) => c.element.name);
    return { columns, ids: await parquetProfileIds(body) };
  }
  const text = gunzipSync(body).toString();
  if (format === 'csv.gz') {
    // Parsed, not split by lines: a quoted cell may hold a line break.
    const [header = [], ...rows] = parse(text) as string[][];
    return { columns: header, ids: rows.map(([id]) => id!) };
  }
  const objects = text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  // An empty JSON Lines file has no rows to name its columns: nothing to contradict.
  return { columns: objects[0] ? Object.keys(objects[0]) : undefined, ids: objects.map((o) => String(o.profileId)) };
}
