/** A time-limited link to a run's ESP file, for ESPs that import from a URL rather than from the bucket. */

import { InvalidInputError, NotFoundError } from '../errors';
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

/** `variant`: in an experiment, each exported variant has its own file; without one, the audience's file. */
export async function espFileLink(
  audienceId: string,
  runId: string,
  { expiresIn, variant }: { expiresIn: number; variant?: string },
  deps: EspLinkDeps,
) {
  const run = await deps.catalog.getRun(runScope(audienceId), runId);
  if (!run) throw new NotFoundError(`snapshot run ${runId}`);
  const variants = run.progress?.variants as Array<{ name: string; espKey?: string; closed?: boolean }> | undefined;
  const exported = variants?.filter((v) => !v.closed) ?? [];
  if (exported.length > 0 && variant === undefined)
    throw new InvalidInputError('this run is an experiment: name the variant', [
      { path: 'variant', message: `one of ${exported.map((v) => v.name).join(', ')}` },
    ]);
  const chosen = variant === undefined ? undefined : variants?.find((v) => v.name === variant);
  if (variant !== undefined && !chosen)
    throw new NotFoundError(`variant ${variant} of run ${runId}${variants ? ` (one of ${variants.map((v) => v.name).join(', ')})` : ''}`);
  const key = chosen ? chosen.espKey : run.progress?.espKey;
  if (typeof key !== 'string')
    throw new NotFoundError(`ESP file of run ${runId} (the audience has no preset, or the run published nothing)`);
  const url = await deps.objects.presignedGetUrl(key, expiresIn);
  deps.logger.info('ESP file link issued', { audienceId, runId, variant, expiresIn });
  return { url, key, expiresAt: new Date(deps.now() + expiresIn * 1000).toISOString() };
}
