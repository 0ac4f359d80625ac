import { getNumberFromEnv } from '../../shared/env';
import { createLogger } from '../../shared/logger';
import { eventQueue, processorSettings } from '../../shared/resources';
import { CounterBuffer } from '../../shared/usecases/counter-buffer';
import { SegmentCatalog } from '../../shared/usecases/segment-catalog';
import { fromEnv, identityConfigFromEnv, newProfileId, profileWriter } from '../../shared/wiring';
import { createProcessorHandler } from './processor';

const logger = createLogger('processor');
const counters = new CounterBuffer(fromEnv.catalog());

export const handler = createProcessorHandler({
  identities: fromEnv.identities(),
  profiles: fromEnv.profiles(),
  catalog: fromEnv.catalog(),
  memberships: fromEnv.memberships(),
  frozen: fromEnv.frozen(),
  groups: fromEnv.groups(),
  publisher: fromEnv.publisher(),
  now: Date.now,
  queue: fromEnv.queue(),
  archive: fromEnv.objects(),
  writer: profileWriter(logger, { merges: true, counters }),
  counters,
  segments: new SegmentCatalog(fromEnv.catalog(), getNumberFromEnv('SEGMENT_CACHE_TTL_MS', processorSettings.segmentCacheSeconds * 1000)),
  logger,
  newProfileId: () => newProfileId(),
  concurrency: getNumberFromEnv('PROFILE_WRITE_CONCURRENCY', 16),
  identity: identityConfigFromEnv(),
  maxReceiveCount: eventQueue.maxReceiveCount,
});
