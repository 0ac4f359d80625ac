import { traced } from '#shared/adapters/tracing';
import { loadConfig } from '#shared/config';
import { createLogger } from '#shared/logger';
import { adaptersOf, metricsOf, profileWriter } from '#shared/wiring';
import { createSweepHandler } from './sweep';

const config = loadConfig('sweep');
const adapters = adaptersOf(config);
const metrics = metricsOf(config);
const logger = createLogger('sweep');

export const handler = traced(
  createSweepHandler({
    catalog: adapters.catalog(),
    profiles: adapters.profiles(),
    writer: profileWriter(adapters, logger, { metrics }),
    logger,
    now: Date.now,
    metrics,
  }),
  config.settings.PRISME_TRACING,
);
