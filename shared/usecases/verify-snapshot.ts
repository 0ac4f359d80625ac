/**
 * The ESP-side integrity check of a snapshot run: every file of the manifest is there, with its byte
 * count and SHA-256, decompresses, has the announced header and rows; members are sorted and unique;
 * the counts add up. Reads through a function, so it works on S3 and on a downloaded folder alike.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { Manifest } from '../domain/audiences';

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
  let lastMember: string | undefined;
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
    let lines: string[] = [];
    try {
      lines = gunzipSync(body).toString().split('\n');
    } catch (error) {
      found.push(`does not decompress: ${(error as Error).message}`);
    }
    if (lines.length > 0) {
      const expectedHeader = file.kind === 'removed' ? 'profileId' : manifest.columns.join(',');
      if (lines[0] !== expectedHeader) found.push(`header "${lines[0]}", expected "${expectedHeader}"`);
      const rows = lines.slice(1).filter(Boolean);
      if (rows.length !== file.rows) found.push(`${rows.length} rows, the manifest says ${file.rows}`);
      rowsByKind[file.kind] = (rowsByKind[file.kind] ?? 0) + rows.length;
      if (file.kind === 'members') {
        for (const row of rows) {
          const id = row.slice(0, row.indexOf(',') === -1 ? undefined : row.indexOf(','));
          if (lastMember !== undefined && id <= lastMember) {
            found.push(`member ${id} out of order or repeated (after ${lastMember})`);
            break;
          }
          lastMember = id;
        }
      }
    }
    files.push({ key: file.key, ok: found.length === 0, problems: found });
  }
  for (const kind of ['members', 'added', 'removed'] as const) {
    if ((rowsByKind[kind] ?? 0) !== manifest.counts[kind]) problems.push(`${rowsByKind[kind] ?? 0} ${kind} rows in the files, the manifest counts ${manifest.counts[kind]}`);
  }
  return { ok: problems.length === 0 && files.every((f) => f.ok), runId: manifest.runId, files, problems };
}
