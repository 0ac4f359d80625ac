import { traced } from '#shared/adapters/tracing';
import { loadConfig } from '#shared/config';
import { createLogger } from '#shared/logger';
import { identityConfigOf } from '#shared/settings';
import { adaptersOf, metricsOf } from '#shared/wiring';
import { cachedSourceResolver, createIngestHandler } from './ingest';

const config = loadConfig('ingest');
const adapters = adaptersOf(config);
const { settings } = config;

export const handler = traced(
  createIngestHandler({
    queue: adapters.queue(),
    sources: cachedSourceResolver(adapters.catalog(), settings.SOURCE_CACHE_TTL_MS),
    logger: createLogger('ingest'),
    metrics: metricsOf(config),
    now: Date.now,
    eventsPerSecondPerSource: settings.INGEST_EVENTS_PER_SECOND_PER_SOURCE || undefined,
    identity: identityConfigOf(settings),
    publicUrl: settings.PRISME_PUBLIC_URL,
    browserLibraryDir: settings.PRISME_BROWSER_LIBRARY_DIR,
  }),
  config.settings.PRISME_TRACING,
);
