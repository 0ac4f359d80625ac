import { createLogger } from '../../shared/logger';
import { freezeSettings } from '../../shared/resources';
import { getNumberFromEnv } from '../../shared/env';
import { fromEnv, profileWriter } from '../../shared/wiring';
import { createFreezeHandler } from './freeze';

const logger = createLogger('freeze');

export const handler = createFreezeHandler({
  catalog: fromEnv.catalog(),
  profiles: fromEnv.profiles(),
  frozen: fromEnv.frozen(),
  segments: getNumberFromEnv('FREEZE_SEGMENTS', freezeSettings.scanSegments),
  publisher: fromEnv.publisher(),
  writer: profileWriter(logger),
  logger,
  now: Date.now,
});
