/** A time-limited link to a run's ESP file, for ESPs that import from a URL rather than from the bucket. */

import { NotFoundError } from '../errors';
import type { Logger } from '../logger';
import type { RunStore } from '../ports/catalog';
import type { ObjectStore } from '../ports/objects';
import { runScope } from './take-snapshot';

export interface EspLinkDeps {
  catalog: Pick<RunStore, 'getRun'>;
  objects: Pick<ObjectStore, 'presignedGetUrl'>;
  logger: Logger;
  now: () => number;
}

export async function espFileLink(audienceId: string, runId: string, expiresIn: number, deps: EspLinkDeps) {
  const run = await deps.catalog.getRun(runScope(audienceId), runId);
  if (!run) throw new NotFoundError(`snapshot run ${runId}`);
  const key = run.progress?.espKey;
  if (typeof key !== 'string')
    throw new NotFoundError(`ESP file of run ${runId} (the audience has no preset, or the run published nothing)`);
  const url = await deps.objects.presignedGetUrl(key, expiresIn);
  deps.logger.info('ESP file link issued', { audienceId, runId, expiresIn });
  return { url, key, expiresAt: new Date(deps.now() + expiresIn * 1000).toISOString() };
}
