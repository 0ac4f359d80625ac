import { traced } from '#shared/adapters/tracing';
import { loadConfig } from '#shared/config';
import { createLogger } from '#shared/logger';
import { adaptersOf, metricsOf, profileWriter } from '#shared/wiring';
import { createFreezeHandler } from './freeze';

const config = loadConfig('freeze');
const adapters = adaptersOf(config);
const metrics = metricsOf(config);
const logger = createLogger('freeze');

export const handler = traced(
  createFreezeHandler({
    catalog: adapters.catalog(),
    profiles: adapters.profiles(),
    memberships: adapters.memberships(),
    frozen: adapters.frozen(),
    scanSegments: config.settings.FREEZE_SEGMENTS,
    publisher: adapters.publisher(),
    writer: profileWriter(adapters, logger, { metrics }),
    logger,
    now: Date.now,
    metrics,
  }),
  config.settings.PRISME_TRACING,
);
