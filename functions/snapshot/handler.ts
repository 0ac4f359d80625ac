import { traced } from '#shared/adapters/tracing';
import { loadConfig } from '#shared/config';
import { createLogger } from '#shared/logger';
import { adaptersOf, metricsOf } from '#shared/wiring';
import { createSnapshotHandler } from './snapshot';

const config = loadConfig('snapshot');
const adapters = adaptersOf(config);
const metrics = metricsOf(config);

export const handler = traced(
  createSnapshotHandler({
    catalog: adapters.catalog(),
    memberships: adapters.memberships(),
    profiles: adapters.profiles(),
    frozen: adapters.frozen(),
    groups: adapters.groups(),
    objects: adapters.objects(),
    publisher: adapters.publisher(),
    logger: createLogger('snapshot'),
    now: Date.now,
    metrics,
  }),
  config.settings.PRISME_TRACING,
);
