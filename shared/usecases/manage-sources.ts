/**
 * Sources: who may send events. A write key is shown once, when it is made; only its hash is kept.
 * A source may have several keys (a rotation): changes and revocation apply to its active ones.
 */
import { randomUUID } from 'node:crypto';
import { hashWriteKey, newWriteKey, type SourceInput, type SourceUpdate } from '../domain/sources';
import { NotFoundError } from '../errors';
import type { Logger } from '../logger';
import type { SourceRecord, SourceStore } from '../ports/catalog';

export interface SourceDeps {
  catalog: Pick<SourceStore, 'listSources' | 'putSource'>;
  logger: Logger;
  now: () => number;
}

export type VisibleSource = Omit<SourceRecord, 'keyHash'>;
const visible = ({ keyHash: _hash, ...rest }: SourceRecord): VisibleSource => rest;

export async function listSources(deps: Pick<SourceDeps, 'catalog'>): Promise<VisibleSource[]> {
  return (await deps.catalog.listSources()).map(visible).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export async function createSource(input: SourceInput, deps: SourceDeps): Promise<VisibleSource & { writeKey: string }> {
  const writeKey = newWriteKey();
  const source = {
    sourceId: `src_${randomUUID().replaceAll('-', '').slice(0, 20)}`,
    ...input,
    keyHash: hashWriteKey(writeKey),
    createdAt: new Date(deps.now()).toISOString(),
  };
  await deps.catalog.putSource(source);
  deps.logger.info('source created', { sourceId: source.sourceId });
  return { ...visible(source), writeKey };
}

async function activeKeys(sourceId: string, deps: Pick<SourceDeps, 'catalog'>): Promise<SourceRecord[]> {
  const keys = (await deps.catalog.listSources()).filter((s) => s.sourceId === sourceId && !s.revokedAt);
  if (keys.length === 0) throw new NotFoundError(`active source ${sourceId}`);
  return keys;
}

export async function updateSource(sourceId: string, changes: SourceUpdate, deps: SourceDeps): Promise<VisibleSource> {
  const keys = await activeKeys(sourceId, deps);
  for (const key of keys) await deps.catalog.putSource({ ...key, ...changes });
  deps.logger.info('source updated', { sourceId, changed: Object.keys(changes) });
  return visible({ ...keys[0]!, ...changes });
}

export async function revokeSource(sourceId: string, deps: SourceDeps): Promise<void> {
  const revokedAt = new Date(deps.now()).toISOString();
  for (const key of await activeKeys(sourceId, deps)) await deps.catalog.putSource({ ...key, revokedAt });
  deps.logger.info('source revoked', { sourceId });
}
