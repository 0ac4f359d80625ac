/**
 * Segment's browser library (@segment/analytics-next, its UMD build) served as Segment's CDN serves
 * it, so the standard snippet works with one change: its script's host. The files come from the
 * package: on AWS they are copied into the ingest function's bundle (`PRISME_BROWSER_LIBRARY_DIR`);
 * locally they are read from node_modules.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError } from '#shared/errors';
import { functions } from '#shared/functions';
import type { HttpResult } from '#shared/http/api';
import { NO_SNIFF } from '#shared/http/security-headers';

/** The package's UMD build, relative to the project: the stack copies it into the bundle (`shared/functions.ts`). */
export const LIBRARY_PACKAGE_DIR = functions.ingest.bundleFiles.from;

/** The snippet's script keeps its name across versions; bundles carry a content hash in theirs. */
const cacheControlOf = (file: string) => (file === 'standalone.js' ? 'public, max-age=3600' : 'public, max-age=31536000, immutable');

/** `dir`: the bundle's copy (PRISME_BROWSER_LIBRARY_DIR) on AWS; unset, the package in node_modules. */
export function browserLibrary(dir = join(process.cwd(), LIBRARY_PACKAGE_DIR)) {
  const files = new Map<string, Promise<string | undefined>>();
  const read = (file: string) =>
    readFile(join(dir, file), 'utf8').then(
      (text) => text,
      () => undefined,
    );
  return async (file: string): Promise<HttpResult> => {
    if (!files.has(file)) files.set(file, read(file));
    const body = await files.get(file)!;
    if (body === undefined) {
      files.delete(file); // a missing file is looked for again: it costs only the request that asks
      throw new ApiError(404, 'not_found', `no file ${file} in the browser library`);
    }
    return {
      statusCode: 200,
      headers: { ...NO_SNIFF, 'content-type': 'text/javascript; charset=utf-8', 'cache-control': cacheControlOf(file) },
      body,
    };
  };
}
