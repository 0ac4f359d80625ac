/** Reading published runs back: the audience's latest run, and the profile ids its files hold. */
import { createGunzip } from 'node:zlib';
import { type LatestPointer, latestKey, type Manifest, parquetProfileIds, profileIdsOfText } from '../domain/snapshot-files';
import type { ObjectStore } from '../ports/objects';

export async function readLatest(
  audienceId: string,
  objects: ObjectStore,
): Promise<{ latest: LatestPointer; manifest: Manifest } | undefined> {
  const latestBody = await objects.get(latestKey(audienceId));
  if (!latestBody) return undefined;
  const latest = JSON.parse(latestBody.toString()) as LatestPointer;
  const manifestBody = await objects.get(latest.manifestKey);
  if (!manifestBody) throw new Error(`latest.json of ${audienceId} points to a missing manifest ${latest.manifestKey}`);
  return { latest, manifest: JSON.parse(manifestBody.toString()) as Manifest };
}

/** Profile ids in files of a run, in order, read back part by part (CSV and JSON Lines as streams). */
export async function* idsInFiles(
  keys: readonly string[],
  format: Manifest['format'],
  objects: Pick<ObjectStore, 'get' | 'getStream'>,
): AsyncGenerator<string> {
  for (const key of keys) {
    if (format === 'parquet') {
      const body = await objects.get(key);
      if (!body) throw new Error(`run file ${key} is missing`);
      yield* await parquetProfileIds(body);
      continue;
    }
    const body = await objects.getStream(key);
    if (!body) throw new Error(`run file ${key} is missing`);
    yield* profileIdsOfText(format, body.pipe(createGunzip()));
  }
}

/** The member ids of a run's list: the audience's, or one variant's. */
export const memberIds = (manifest: Manifest | undefined, objects: ObjectStore, variant?: string): AsyncGenerator<string> =>
  idsInFiles(memberFileKeys(manifest, variant), manifest?.format ?? 'csv.gz', objects);

export const memberFileKeys = (manifest: Manifest | undefined, variant?: string): string[] =>
  manifest?.files.filter((f) => f.kind === 'members' && f.variant === variant).map((f) => f.key) ?? [];
