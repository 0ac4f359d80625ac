/** Saving an audience: a new one, or one whose export changes, waits as a draft for someone to approve it. */

import { type Audience, type AudienceInput, audienceInputOf, changesExport } from '../domain/audiences';
import { InvalidInputError } from '../errors';
import type { Logger } from '../logger';
import type { DefinitionStore } from '../ports/catalog';

export interface SaveAudienceDeps {
  catalog: Pick<DefinitionStore, 'audiences' | 'segments'>;
  logger: Logger;
  now: () => number;
}

export async function saveAudience(
  id: string,
  input: AudienceInput,
  deps: SaveAudienceDeps,
): Promise<{ audience: Audience; created: boolean }> {
  if (!(await deps.catalog.segments.get(input.segmentId))) {
    throw new InvalidInputError(`segment ${input.segmentId} does not exist`, [{ path: 'segmentId', message: 'unknown segment' }]);
  }
  const existing = await deps.catalog.audiences.get(id);
  const stillApproved = existing?.status === 'approved' && !changesExport(audienceInputOf(existing), input);
  const now = new Date(deps.now()).toISOString();
  const audience: Audience = {
    ...input,
    id,
    revision: (existing?.revision ?? 0) + 1,
    status: stillApproved ? 'approved' : 'draft',
    ...(stillApproved && { approval: existing.approval }),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  await deps.catalog.audiences.put(audience);
  deps.logger.info('audience saved', { audienceId: id, revision: audience.revision, status: audience.status });
  return { audience, created: !existing };
}
