import { getNumberFromEnv } from '../../shared/env';
import { createLogger } from '../../shared/logger';
import { fromEnv, identityConfigFromEnv } from '../../shared/wiring';
import { cachedSourceResolver, createIngestHandler } from './ingest';

export const handler = createIngestHandler({
  queue: fromEnv.queue(),
  sources: cachedSourceResolver(fromEnv.catalog(), getNumberFromEnv('SOURCE_CACHE_TTL_MS', 60_000)),
  logger: createLogger('ingest'),
  now: Date.now,
  eventsPerSecondPerSource: getNumberFromEnv('INGEST_EVENTS_PER_SECOND_PER_SOURCE', 0) || undefined,
  identity: identityConfigFromEnv(),
  publicUrl: process.env.PRISME_PUBLIC_URL || undefined,
});
