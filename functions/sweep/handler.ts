import { createLogger } from '../../shared/logger';
import { fromEnv, profileWriter } from '../../shared/wiring';
import { createSweepHandler } from './sweep';

const logger = createLogger('sweep');

export const handler = createSweepHandler({
  catalog: fromEnv.catalog(),
  profiles: fromEnv.profiles(),
  writer: profileWriter(logger),
  logger,
  now: Date.now,
});
