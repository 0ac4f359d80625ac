import { getNumberFromEnv } from '../../shared/env';
import { createLogger } from '../../shared/logger';
import { fromEnv } from '../../shared/wiring';
import { cachedSourceResolver, createIngestHandler } from './ingest';

export const handler = createIngestHandler({
  queue: fromEnv.queue(),
  sources: cachedSourceResolver(fromEnv.catalog(), getNumberFromEnv('SOURCE_CACHE_TTL_MS', 60_000)),
  logger: createLogger('ingest'),
  now: Date.now,
});
