import { createLogger } from '../../shared/logger';
import { fromEnv, profileWriter } from '../../shared/wiring';
import { createFreezeHandler } from './freeze';

const logger = createLogger('freeze');

export const handler = createFreezeHandler({
  catalog: fromEnv.catalog(),
  profiles: fromEnv.profiles(),
  publisher: fromEnv.publisher(),
  writer: profileWriter(logger),
  logger,
  now: Date.now,
});
