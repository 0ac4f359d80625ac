import { loadConfig } from '#shared/config';
import { createLogger } from '#shared/logger';
import { adaptersOf, profileWriter } from '#shared/wiring';
import { createSweepHandler } from './sweep';

const adapters = adaptersOf(loadConfig('sweep'));
const logger = createLogger('sweep');

export const handler = createSweepHandler({
  catalog: adapters.catalog(),
  profiles: adapters.profiles(),
  writer: profileWriter(adapters, logger),
  logger,
  now: Date.now,
});
